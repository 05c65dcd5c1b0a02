/**
 * Hit ratios of the reference policies and of bulwark's default cache on a list of workloads: one
 * row per workload and cache size. The reference policies run in the simulators of ./reference; the
 * default policy runs in the real `Cache` (get, and set on a miss), as users would run it.
 */
import { Cache } from '../../src/cache/cache.js';
import type { Workload } from './corpus.js';
import { simulateArc } from './reference/arc.js';
import { simulateLru } from './reference/lru.js';
import { simulateOpt } from './reference/opt.js';
import { simulateS3Fifo } from './reference/s3fifo.js';
import { simulateSieve } from './reference/sieve.js';
import { simulateWTinyLfu } from './reference/wtinylfu.js';

/** The simple policies the default is held against (OPT is only the ceiling). */
export const SIMPLE = ['lru', 'arc', 's3fifo', 'sieve', 'wtinylfu'] as const;
export type Simple = (typeof SIMPLE)[number];

const SIMULATORS: Record<Simple | 'opt', (keys: Int32Array, universe: number, capacity: number) => number> = {
  opt: simulateOpt,
  lru: simulateLru,
  arc: simulateArc,
  s3fifo: simulateS3Fifo,
  sieve: simulateSieve,
  wtinylfu: (keys, universe, capacity) => simulateWTinyLfu(keys, universe, capacity, 0.01),
};

export interface HitRatioRow extends Record<Simple | 'opt' | 'default', number> {
  workload: string;
  kind: string;
  entries: number;
  requests: number;
  /** The best of the simple policies, and which. */
  best: number;
  best_policy: Simple;
  /** best − default, in points (negative when the default beats them all). */
  gap: number;
  /** default − lru, in points. */
  vs_lru: number;
}

/** Percent with two decimals, the precision of the reference figures. */
export const pct = (hits: number, requests: number): number => Math.round((hits / requests) * 10_000) / 100;

/** Hits of bulwark's default cache (no options but the size) on `keys`. */
export function defaultHits(keys: Int32Array, entries: number): number {
  const cache = new Cache<number, number>({ maxEntries: entries });
  let hits = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (cache.get(k) === undefined) cache.set(k, k);
    else hits++;
  }
  return hits;
}

/** One row per workload and size; workloads whose stream is missing (a trace not found) are skipped. */
export async function hitRatios(
  workloads: readonly Workload[],
  progress: (row: HitRatioRow) => void = () => {},
): Promise<HitRatioRow[]> {
  const rows: HitRatioRow[] = [];
  for (const w of workloads) {
    for (const entries of w.sizes) {
      const stream = await w.stream(entries);
      if (stream === undefined) continue;
      const { keys, universe } = stream;
      const n = keys.length;
      const r = {} as Record<Simple | 'opt', number>;
      for (const [name, simulate] of Object.entries(SIMULATORS)) {
        r[name as Simple | 'opt'] = pct(simulate(keys, universe, entries), n);
      }
      const ours = pct(defaultHits(keys, entries), n);
      let best: Simple = 'lru';
      for (const p of SIMPLE) if (r[p] > r[best]) best = p;
      const row: HitRatioRow = {
        workload: w.name,
        kind: w.kind,
        entries,
        requests: n,
        ...r,
        default: ours,
        best: r[best],
        best_policy: best,
        gap: Math.round((r[best] - ours) * 100) / 100,
        vs_lru: Math.round((ours - r.lru) * 100) / 100,
      };
      rows.push(row);
      progress(row);
    }
  }
  return rows;
}

export interface Goals {
  /** Largest gap to the best simple policy allowed on any row, in points. */
  maxGap: number;
  /** Largest mean gap (rows where the default wins count as 0). */
  maxMeanGap: number;
  /** Furthest below LRU allowed on any row, in points. */
  maxBelowLru: number;
}

export const GOALS: Goals = { maxGap: 1.5, maxMeanGap: 0.5, maxBelowLru: 0.5 };

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** The hit-ratio goals of the issue on `rows`, named with `label` ("corpus", "held-out"). */
export function hitRatioChecks(rows: readonly HitRatioRow[], label: string, goals: Goals = GOALS): Check[] {
  const id = (r: HitRatioRow): string => `${r.workload}@${r.entries}`;
  const overGap = rows.filter((r) => r.gap > goals.maxGap + 1e-9);
  const belowLru = rows.filter((r) => r.vs_lru < -goals.maxBelowLru - 1e-9);
  const meanGap = rows.reduce((s, r) => s + Math.max(0, r.gap), 0) / Math.max(1, rows.length);
  const signedMean = rows.reduce((s, r) => s + r.gap, 0) / Math.max(1, rows.length);
  const worst = rows.reduce((w, r) => (r.gap > w.gap ? r : w), rows[0]!);
  const worstLru = rows.reduce((w, r) => (r.vs_lru < w.vs_lru ? r : w), rows[0]!);
  return [
    {
      name: `${label}: default >= best simple policy - ${goals.maxGap} points on every row`,
      ok: overGap.length === 0,
      detail:
        overGap.length === 0
          ? `${rows.length} rows; largest gap ${worst.gap} on ${id(worst)}`
          : `${overGap.length} of ${rows.length} rows miss: ${overGap.map((r) => `${id(r)} gap ${r.gap} (${r.best_policy} ${r.best}, default ${r.default})`).join('; ')}`,
    },
    {
      name: `${label}: mean gap to the best simple policy <= ${goals.maxMeanGap} points`,
      ok: meanGap <= goals.maxMeanGap + 1e-9,
      detail: `mean gap ${meanGap.toFixed(3)} (rows where the default wins count 0; signed mean ${signedMean.toFixed(3)})`,
    },
    {
      name: `${label}: default never more than ${goals.maxBelowLru} points below LRU`,
      ok: belowLru.length === 0,
      detail:
        belowLru.length === 0
          ? `worst ${worstLru.vs_lru} on ${id(worstLru)}`
          : `${belowLru.length} rows miss: ${belowLru.map((r) => `${id(r)} ${r.vs_lru} (default ${r.default}, lru ${r.lru})`).join('; ')}`,
    },
  ];
}

/** Published / reference figures of ../shared/traces/README.md, as [trace, entries, policy, percent]. */
export const REFERENCE_FIGURES: readonly [string, number, Simple | 'opt', number][] = [
  ['oltp', 1_000, 'opt', 53.62],
  ['oltp', 1_000, 'lru', 32.83],
  ['oltp', 1_000, 'arc', 39.06],
  ['oltp', 1_000, 's3fifo', 40.84],
  ['oltp', 1_000, 'wtinylfu', 35.94],
  ['oltp', 2_000, 'opt', 60.4],
  ['oltp', 2_000, 'lru', 42.47],
  ['oltp', 2_000, 'arc', 46.17],
  ['oltp', 2_000, 's3fifo', 47.01],
  ['oltp', 2_000, 'wtinylfu', 42.42],
  ['scarab', 25_000, 'opt', 74.79],
  ['scarab', 25_000, 'lru', 60.13],
  ['scarab', 25_000, 'arc', 61.99],
  ['scarab', 25_000, 's3fifo', 62.49],
  ['scarab', 25_000, 'wtinylfu', 60.32],
  ['scarab', 100_000, 'opt', 79.25],
  ['scarab', 100_000, 'lru', 75.91],
  ['scarab', 100_000, 'arc', 76.09],
  ['scarab', 100_000, 's3fifo', 75.63],
  ['scarab', 100_000, 'wtinylfu', 72.62],
  ['glimpse', 500, 'opt', 34.33],
  ['glimpse', 500, 'lru', 0.95],
  ['glimpse', 500, 'arc', 1.38],
  ['glimpse', 500, 's3fifo', 16.13],
  ['glimpse', 500, 'wtinylfu', 33.6],
  ['glimpse', 1_000, 'opt', 53.15],
  ['glimpse', 1_000, 'lru', 11.21],
  ['glimpse', 1_000, 'arc', 21.3],
  ['glimpse', 1_000, 's3fifo', 35.05],
  ['glimpse', 1_000, 'wtinylfu', 50.72],
];

/**
 * The simulators against the reference figures: LRU, ARC and OPT must reproduce them exactly (they
 * are the same algorithms); S3-FIFO and W-TinyLFU have details the table does not state (sketch
 * layout, move-to-main threshold) and must come within a point.
 */
export function referenceChecks(rows: readonly HitRatioRow[]): Check[] {
  const checks: Check[] = [];
  for (const exact of [true, false]) {
    const figures = REFERENCE_FIGURES.filter(
      ([, , p]) => (p === 'lru' || p === 'arc' || p === 'opt') === exact,
    );
    const tolerance = exact ? 0.005 : 1;
    const found: string[] = [];
    let missing = 0;
    let ok = true;
    for (const [trace, entries, policy, expected] of figures) {
      const row = rows.find((r) => r.workload === trace && r.entries === entries);
      if (row === undefined) {
        missing++;
        continue;
      }
      const got = row[policy];
      const diff = Math.round((got - expected) * 100) / 100;
      if (Math.abs(diff) > tolerance) ok = false;
      if (!exact || Math.abs(diff) > tolerance)
        found.push(`${policy} ${trace}@${entries} ${got} vs ${expected}`);
    }
    checks.push({
      name: exact
        ? 'reference simulators: LRU, ARC and OPT reproduce traces/README.md exactly'
        : 'reference simulators: S3-FIFO and W-TinyLFU(1%) within 1 point of traces/README.md',
      ok: ok && missing < figures.length,
      detail:
        missing === figures.length
          ? 'traces not found'
          : `${figures.length - missing} figures${missing ? `, ${missing} not measured (trace missing)` : ''}${found.length ? `: ${found.join('; ')}` : ', all equal'}`,
    });
  }
  return checks;
}
