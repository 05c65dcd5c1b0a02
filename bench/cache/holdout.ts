/**
 * Held-out workloads: drawn at random (by seed) from families and parameter ranges that the corpus
 * does not use, to check that the default policy holds its goals on workloads nobody tuned it on.
 * The corpus (corpus.ts) is what the policy was developed against; these are not. Any seed gives a
 * new set: `node --import tsx bench/cache/holdout-run.ts --seed 7`.
 */
import {
  bursty,
  concat,
  loop,
  loopSource,
  mixture,
  partialShifts,
  rng,
  shiftingZipf,
  slidingWorkingSet,
  uniformSource,
  zipfSource,
  zipfWithScans,
  type Stream,
} from './generators.js';
import type { Workload } from './corpus.js';

/** The seed the bench uses when none is given. */
export const DEFAULT_HOLDOUT_SEED = 20261126;
const LENGTH = 1_000_000;

interface Draw {
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Log-uniform in [lo, hi). */
  log(lo: number, hi: number): number;
  int(lo: number, hi: number): number;
  seed(): number;
}

function draws(seed: number): Draw {
  const random = rng(seed);
  const uniform = (lo: number, hi: number): number => lo + (hi - lo) * random();
  return {
    uniform,
    log: (lo, hi) => Math.exp(uniform(Math.log(lo), Math.log(hi))),
    int: (lo, hi) => Math.floor(uniform(lo, hi)),
    seed: () => Math.floor(random() * 0x7fffffff),
  };
}

type Family = (d: Draw, base: number) => { label: string; make: () => Stream };

const r2 = (x: number): string => x.toFixed(2);

/** The families, each a different shape of workload; parameters scale with the base cache size. */
const FAMILIES: Family[] = [
  (d, b) => {
    const n = Math.round(b * d.uniform(1.1, 3));
    const hot = Math.round(b * d.log(0.05, 2));
    const q = d.uniform(0.05, 0.5);
    const s = d.uniform(0.6, 1.2);
    const seed = d.seed();
    return {
      label: `noisy_loop(n=${n},hot=${hot},q=${r2(q)},s=${r2(s)})`,
      make: () => mixture([loopSource(n), zipfSource(hot, s, rng(seed))], [1 - q, q], LENGTH, seed + 1),
    };
  },
  (d, b) => {
    const skew = d.uniform(0.5, 1.3);
    const hotKeys = Math.round(b * d.log(5, 60));
    const hotRun = Math.round(b * d.log(0.5, 30));
    const scans = [d.log(0.1, 30), d.log(0.1, 30)].map((x) => Math.round(b * x));
    const seed = d.seed();
    return {
      label: `zipf_scans(s=${r2(skew)},keys=${hotKeys},run=${hotRun},scans=${scans.join('/')})`,
      make: () => zipfWithScans({ hotKeys, skew, hotRun, scanLengths: scans, length: LENGTH, seed }),
    };
  },
  (d, b) => {
    const keys = Math.round(b * d.log(5, 60));
    const skew = d.uniform(0.6, 1.2);
    const period = Math.round(b * d.log(0.5, 100));
    const fraction = d.uniform(0.05, 1);
    const seed = d.seed();
    return {
      label: `partial_shifts(keys=${keys},s=${r2(skew)},period=${period},f=${r2(fraction)})`,
      make: () => partialShifts({ keys, skew, period, fraction, length: LENGTH, seed }),
    };
  },
  (d, b) => {
    const keys = Math.round(b * d.log(5, 60));
    const skew = d.uniform(0.6, 1.2);
    const period = Math.round(d.log(1, 200));
    const seed = d.seed();
    return {
      label: `drift(keys=${keys},s=${r2(skew)},every=${period})`,
      make: () => shiftingZipf({ keys, skew, period, mode: 'drift', length: LENGTH, seed }),
    };
  },
  (d, b) => {
    const rate = d.uniform(1, 8);
    const reach = b * d.log(0.05, 2);
    const tail = d.uniform(0.8, 3);
    const seed = d.seed();
    return {
      label: `recency(rate=${r2(rate)},reach=${Math.round(reach)},tail=${r2(tail)})`,
      make: () => slidingWorkingSet({ rate, reach, tail, length: LENGTH, seed }),
    };
  },
  (d, b) => {
    const keys = Math.round(b * d.log(2, 60));
    const skew = d.uniform(0.5, 1.2);
    const burst = d.uniform(0.1, 0.7);
    const gap = Math.max(2, Math.round(b * d.log(0.01, 0.5)));
    const seed = d.seed();
    return {
      label: `bursty(keys=${keys},s=${r2(skew)},burst=${r2(burst)},gap=${gap})`,
      make: () => bursty({ keys, skew, burst, gap, length: LENGTH, seed }),
    };
  },
  (d, b) => {
    const hot = Math.round(b * d.log(0.02, 0.5));
    const warm = Math.round(b * d.log(5, 100));
    const p = d.uniform(0.2, 0.9);
    const s1 = d.uniform(0.8, 1.4);
    const s2 = d.uniform(0.3, 0.8);
    const seed = d.seed();
    return {
      label: `two_tier(hot=${hot},warm=${warm},p=${r2(p)},s=${r2(s1)}/${r2(s2)})`,
      make: () => {
        const random = rng(seed);
        return mixture(
          [zipfSource(hot, s1, random), zipfSource(warm, s2, random)],
          [p, 1 - p],
          LENGTH,
          seed + 1,
        );
      },
    };
  },
  (d, b) => {
    const lengths = [d.log(0.2, 3), d.log(0.2, 3), d.log(0.2, 3)].map((x) => Math.round(b * x));
    const weights = [d.uniform(0.1, 1), d.uniform(0.1, 1), d.uniform(0.1, 1)];
    const seed = d.seed();
    return {
      label: `interleaved_loops(${lengths.join('/')})`,
      make: () => mixture(lengths.map(loopSource), weights, LENGTH, seed),
    };
  },
  (d, b) => {
    const keys = Math.round(b * d.log(1.2, 10));
    const seed = d.seed();
    return {
      label: `uniform(keys=${keys})`,
      make: () => mixture([uniformSource(keys, rng(seed))], [1], LENGTH, seed),
    };
  },
  (d, b) => {
    const hot = Math.round(b * d.log(1, 10));
    const s = d.uniform(0.6, 1.2);
    const n = Math.round(b * d.uniform(1.1, 4));
    const q = d.uniform(0.1, 0.7);
    const seed = d.seed();
    return {
      label: `zipf_loop(hot=${hot},s=${r2(s)},loop=${n},q=${r2(q)})`,
      make: () => mixture([zipfSource(hot, s, rng(seed)), loopSource(n)], [1 - q, q], LENGTH, seed + 1),
    };
  },
  (d, b) => {
    // Phases of different shapes, each long enough or not for the policy to notice.
    const phases = d.int(4, 12);
    const parts: { kind: number; len: number; seed: number; scale: number }[] = [];
    for (let i = 0; i < phases; i++) {
      parts.push({
        kind: d.int(0, 4),
        len: Math.round(LENGTH / phases),
        seed: d.seed(),
        scale: d.log(0.5, 10),
      });
    }
    return {
      label: `phase_mix(${parts.map((p) => ['zipf', 'loop', 'recency', 'uniform'][p.kind]).join(',')})`,
      make: () =>
        concat(
          parts.map((p) => {
            const n = Math.max(2, Math.round(b * p.scale));
            if (p.kind === 0) return mixture([zipfSource(n * 5, 0.9, rng(p.seed))], [1], p.len, p.seed);
            if (p.kind === 1) return loop(n, p.len);
            if (p.kind === 2)
              return slidingWorkingSet({ rate: 2, reach: n / 4, tail: 1.5, length: p.len, seed: p.seed });
            return mixture([uniformSource(n, rng(p.seed))], [1], p.len, p.seed);
          }),
        ),
    };
  },
];

/**
 * `count` held-out workloads for `seed`, cycling through the families so each is represented; each
 * draws a base cache size log-uniformly from 300 to 30,000 and is measured at a third of it, at it
 * and at three times it.
 */
export function holdoutWorkloads(seed = DEFAULT_HOLDOUT_SEED, count = FAMILIES.length * 2): Workload[] {
  const d = draws(seed);
  const out: Workload[] = [];
  for (let i = 0; i < count; i++) {
    const base = Math.round(d.log(300, 30_000));
    const { label, make } = FAMILIES[i % FAMILIES.length]!(d, base);
    let made: Stream | undefined;
    out.push({
      name: `h${i}_${label}`,
      kind: 'mixed',
      sizes: [Math.max(16, Math.round(base / 3)), base, 3 * base],
      stream: () => (made ??= make()),
    });
  }
  return out;
}
