/**
 * Seeded key-stream generators for the cache workload corpus. Every stream is a function of its
 * parameters and seed, so the corpus costs no storage and every run sees the same requests. Keys are
 * dense integers `0..universe-1`, which lets the reference simulators index typed arrays by key.
 */

/** A key stream and the number of distinct key ids it may use (every key is below it). */
export interface Stream {
  keys: Int32Array;
  universe: number;
}

/** mulberry32: a small, well-mixed 32-bit generator; returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, random: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Draws ranks 0..n-1 with P(rank r) ∝ 1/(r+1)^s, by inverse CDF (rank 0 the most popular). */
export function zipf(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / Math.pow(k + 1, s);
    cdf[k] = total;
  }
  return () => {
    const u = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** `n` keys requested in order, over and over. */
export function loop(n: number, length: number): Stream {
  const keys = new Int32Array(length);
  for (let i = 0; i < length; i++) keys[i] = i % n;
  return { keys, universe: n };
}

export interface ZipfScanOptions {
  /** Keys of the hot set, requested with Zipf(`skew`) popularity. */
  hotKeys: number;
  skew: number;
  /** Mean number of hot-set requests between two scans. */
  hotRun: number;
  /** Scan lengths to cycle through; each scan requests that many never-seen keys once each. */
  scanLengths: readonly number[];
  length: number;
  seed: number;
}

/** A Zipf hot set interleaved with one-time scans: the workload that flushes LRU's hot entries. */
export function zipfWithScans(o: ZipfScanOptions): Stream {
  const random = rng(o.seed);
  const hot = zipfSource(o.hotKeys, o.skew, random);
  const keys = new Int32Array(o.length);
  let next = o.hotKeys;
  let scan = 0;
  let i = 0;
  while (i < o.length) {
    const run = Math.round(o.hotRun * (0.5 + random()));
    for (let j = 0; j < run && i < o.length; j++) keys[i++] = hot.next();
    const len = Math.round(o.scanLengths[scan++ % o.scanLengths.length]! * (0.75 + 0.5 * random()));
    for (let j = 0; j < len && i < o.length; j++) keys[i++] = next++;
  }
  return { keys, universe: next };
}

export interface ShiftingZipfOptions {
  keys: number;
  skew: number;
  /** Requests between two changes of the popularity ranking. */
  period: number;
  /** `abrupt`: a fresh random ranking each period; `drift`: the ranking slides by one key every `period` requests. */
  mode: 'abrupt' | 'drift';
  length: number;
  seed: number;
}

/** Zipf popularity whose ranking changes: all at once each period, or a little at a time. */
export function shiftingZipf(o: ShiftingZipfOptions): Stream {
  const random = rng(o.seed);
  const rank = zipf(o.keys, o.skew, random);
  let ids = permutation(o.keys, random);
  const keys = new Int32Array(o.length);
  for (let i = 0; i < o.length; i++) {
    if (o.mode === 'abrupt') {
      if (i > 0 && i % o.period === 0) ids = permutation(o.keys, random);
      keys[i] = ids[rank()]!;
    } else {
      // Rank r maps to key (r + offset) mod keys: every key slowly climbs to the top and falls away.
      const offset = Math.floor(i / o.period);
      keys[i] = ids[(rank() + o.keys - (offset % o.keys)) % o.keys]!;
    }
  }
  return { keys, universe: o.keys };
}

export interface RecencyOptions {
  /** Requests per new key: the working set slides forward by one key every `rate` requests. */
  rate: number;
  /** Scale of how far back a request reaches, in keys (Lomax-distributed distance behind the front). */
  reach: number;
  /** Tail index of that distance: smaller means more requests far back. */
  tail: number;
  length: number;
  seed: number;
}

/**
 * Pure recency: a sliding working set where a key is most likely requested right after it first
 * appears and less and less after. Frequency carries no signal (every key gets the same expected
 * number of requests), so LRU is the right policy.
 */
export function slidingWorkingSet(o: RecencyOptions): Stream {
  const random = rng(o.seed);
  const keys = new Int32Array(o.length);
  for (let i = 0; i < o.length; i++) {
    const front = Math.floor(i / o.rate);
    const back = Math.floor(o.reach * (Math.pow(1 - random(), -1 / o.tail) - 1));
    keys[i] = Math.max(0, front - back);
  }
  return { keys, universe: Math.floor(o.length / o.rate) + 1 };
}

/** Streams one after another, each renumbered above the previous one's keys unless `shared`. */
export function concat(parts: readonly Stream[], shared = false): Stream {
  const length = parts.reduce((n, p) => n + p.keys.length, 0);
  const keys = new Int32Array(length);
  let at = 0;
  let base = 0;
  let universe = 0;
  for (const p of parts) {
    for (let i = 0; i < p.keys.length; i++) keys[at + i] = p.keys[i]! + base;
    at += p.keys.length;
    universe = Math.max(universe, base + p.universe);
    if (!shared) base += p.universe;
  }
  return { keys, universe };
}

/**
 * Alternating phases that favour recency and frequency: a Zipf hot set (the same keys every time it
 * comes back) and a sliding working set of fresh keys.
 */
export function phaseMix(o: {
  hotKeys: number;
  skew: number;
  phase: number;
  phases: number;
  recency: Omit<RecencyOptions, 'length' | 'seed'>;
  seed: number;
}): Stream {
  const hot = zipfSource(o.hotKeys, o.skew, rng(o.seed));
  const keys = new Int32Array(o.phase * o.phases);
  let fresh = o.hotKeys;
  let i = 0;
  for (let p = 0; p < o.phases; p++) {
    if (p % 2 === 0) {
      for (let j = 0; j < o.phase; j++) keys[i++] = hot.next();
    } else {
      const r = slidingWorkingSet({ ...o.recency, length: o.phase, seed: (o.seed + p) >>> 0 });
      for (let j = 0; j < o.phase; j++) keys[i++] = fresh + r.keys[j]!;
      fresh += r.universe;
    }
  }
  return { keys, universe: fresh };
}

/**
 * Requests drawn from several sources at once: source `i` is picked with probability `weights[i]`
 * (normalized) and gives its next key; each source's keys are renumbered above the previous ones.
 */
export function mixture(
  sources: readonly { next: () => number; universe: number }[],
  weights: readonly number[],
  length: number,
  seed: number,
): Stream {
  const random = rng(seed);
  const total = weights.reduce((a, b) => a + b, 0);
  const bases: number[] = [];
  let universe = 0;
  for (const s of sources) {
    bases.push(universe);
    universe += s.universe;
  }
  const keys = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    let u = random() * total;
    let s = 0;
    while (s < sources.length - 1 && u >= weights[s]!) u -= weights[s++]!;
    keys[i] = bases[s]! + sources[s]!.next();
  }
  return { keys, universe };
}

/** A key source cycling through `n` keys in order. */
export function loopSource(n: number): { next: () => number; universe: number } {
  let i = 0;
  return {
    next: () => {
      const k = i;
      i = i + 1 === n ? 0 : i + 1;
      return k;
    },
    universe: n,
  };
}

/** A key source of Zipf(`s`) popularity over `n` keys in a random order. */
export function zipfSource(
  n: number,
  s: number,
  random: () => number,
): { next: () => number; universe: number } {
  const rank = zipf(n, s, random);
  const ids = permutation(n, random);
  return { next: () => ids[rank()]!, universe: n };
}

/** A key source drawing uniformly from `n` keys. */
export function uniformSource(n: number, random: () => number): { next: () => number; universe: number } {
  return { next: () => Math.floor(random() * n), universe: n };
}

/**
 * Bursty references: keys have a long-term Zipf popularity, and every request of a key is followed,
 * with probability `burst`, by another request of it a few requests later (within `gap` requests),
 * so reuse comes in short bursts as it does for sessions and retries.
 */
export function bursty(o: {
  keys: number;
  skew: number;
  burst: number;
  gap: number;
  length: number;
  seed: number;
}): Stream {
  const random = rng(o.seed);
  const source = zipfSource(o.keys, o.skew, random);
  const keys = new Int32Array(o.length);
  // Pending re-requests, by due position (a ring of the next `gap` positions, up to 4 keys each).
  const slots = 4;
  const due = new Int32Array(o.gap * slots).fill(-1);
  for (let i = 0; i < o.length; i++) {
    const at = (i % o.gap) * slots;
    let key = -1;
    for (let j = 0; j < slots; j++) {
      if (due[at + j]! >= 0) {
        key = due[at + j]!;
        due[at + j] = -1;
        break;
      }
    }
    if (key < 0) key = source.next();
    keys[i] = key;
    if (random() < o.burst) {
      const when = ((i + 1 + Math.floor(random() * o.gap)) % o.gap) * slots;
      for (let j = 0; j < slots; j++) {
        if (due[when + j]! < 0) {
          due[when + j] = key;
          break;
        }
      }
    }
  }
  return { keys, universe: o.keys };
}

/** Zipf popularity where, every `period` requests, a share `fraction` of the ranking is reshuffled. */
export function partialShifts(o: {
  keys: number;
  skew: number;
  period: number;
  fraction: number;
  length: number;
  seed: number;
}): Stream {
  const random = rng(o.seed);
  const rank = zipf(o.keys, o.skew, random);
  const ids = permutation(o.keys, random);
  const keys = new Int32Array(o.length);
  for (let i = 0; i < o.length; i++) {
    if (i > 0 && i % o.period === 0) {
      // Swap a random share of ranks with random others: some hot keys cool down, some cold ones heat up.
      const swaps = Math.round(o.fraction * o.keys);
      for (let s = 0; s < swaps; s++) {
        const a = Math.floor(random() * Math.min(o.keys, swaps * 4));
        const b = Math.floor(random() * o.keys);
        const t = ids[a]!;
        ids[a] = ids[b]!;
        ids[b] = t;
      }
    }
    keys[i] = ids[rank()]!;
  }
  return { keys, universe: o.keys };
}
