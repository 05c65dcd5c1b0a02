/**
 * The window tuner's answers to the ways a hill climber fails (cold start, flat signal, noise, shifts),
 * and the default policy's goals on a small held-out set it was not developed on.
 */
import { describe, expect, it } from 'vitest';
import { hashKey } from '../../src/cache/hash.js';
import { SAMPLE_SALT } from '../../src/cache/policies/tinylfu.js';
import { INITIAL_CHOICE, SHARES, WindowTuner } from '../../src/cache/policies/tuner.js';
import { hitRatioChecks, hitRatios } from '../../bench/cache/hitratio.js';
import { holdoutWorkloads } from '../../bench/cache/holdout.js';
import { rng } from '../../bench/cache/generators.js';

/** Feeds `keys` to a tuner for a cache of `capacity` entries; returns the choices it made, in order. */
function choices(capacity: number, length: number, key: (t: number) => number): number[] {
  const tuner = new WindowTuner(capacity);
  const made: number[] = [];
  for (let t = 0; t < length; t++) {
    const h = hashKey(key(t));
    if ((h ^ SAMPLE_SALT) >>> 0 < tuner.bound && tuner.sample(h) >= 0) made.push(tuner.choice);
  }
  return made;
}

describe('window tuner', () => {
  it('does not move while the miniatures fill (cold start: they all agree)', () => {
    // Every key new: the miniatures never hit, whatever their window.
    expect(choices(1_000, 50_000, (t) => t)).toEqual([]);
  });

  it('does not move on a flat signal (every share does the same)', () => {
    // A working set that fits: every share hits everything after the first pass.
    expect(choices(1_000, 100_000, (t) => t % 800)).toEqual([]);
  });

  it('does not chase noise (uniform random keys: no share is better)', () => {
    const random = rng(7);
    const made = choices(1_000, 300_000, () => Math.floor(random() * 3_000));
    expect(made.length).toBeLessThanOrEqual(2);
  });

  it('follows a sudden shift both ways within a few capacities', () => {
    // A loop 1.5x the cache (a small window wins), then a sliding working set where each key comes back
    // once, 800 requests later (only a big window holds it), then the loop again.
    const phase = 60_000;
    const key = (t: number): number => {
      const p = Math.floor(t / phase);
      if (p % 2 === 0) return t % 1_500;
      const u = t - p * phase;
      return 10_000_000 * p + (u % 2 === 0 ? u / 2 : (u - 1) / 2 - 400);
    };
    const tuner = new WindowTuner(1_000);
    const at: number[] = [];
    for (let t = 0; t < 3 * phase; t++) {
      const h = hashKey(key(t));
      if ((h ^ SAMPLE_SALT) >>> 0 < tuner.bound) tuner.sample(h);
      if (t === phase - 1 || t === 2 * phase - 1 || t === 3 * phase - 1) at.push(tuner.choice);
    }
    expect(at[0]).toBe(INITIAL_CHOICE); // the loop: the 1% window it started with
    expect(SHARES[at[1]!]).toBeGreaterThanOrEqual(0.32); // recency: a big window
    expect(SHARES[at[2]!]).toBeLessThanOrEqual(0.032); // the loop again: back to a small one
  });
});

describe('default policy on held-out workloads', () => {
  it('holds the LRU floor on a small held-out set, and stays near the best simple policy', async () => {
    // Families and parameters the corpus does not use, with small caches to keep this a unit test
    // (bench/cache/holdout-run.ts runs full ones). The goals (every row within 1.5 points of
    // the best simple policy, mean gap 0.5) are checked and reported by the bench: on continuously
    // drifting popularity at small sizes ARC beats W-TinyLFU by up to ~2.5 points, and on this set
    // the mean gap is about 0.6 (see README). Here the LRU floor is the goal itself; the other two
    // are guards against regressions (3 points on a row, 1 point on average).
    const workloads = holdoutWorkloads(99, 11).map((w) => ({
      ...w,
      sizes: [...new Set(w.sizes.map((s) => Math.max(16, Math.min(s, 2_000))))],
      // The first 300,000 requests: at most 2,000 entries, that is still 150 capacities.
      stream: async (size: number) => {
        const s = await w.stream(size);
        return s && { keys: s.keys.subarray(0, 300_000), universe: s.universe };
      },
    }));
    const rows = await hitRatios(workloads);
    const checks = hitRatioChecks(rows, 'held-out', { maxGap: 3, maxMeanGap: 1, maxBelowLru: 0.5 });
    const failed = checks.filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
  }, 120_000);
});
