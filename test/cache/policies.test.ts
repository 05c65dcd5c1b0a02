import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache/cache.js';
import { createAdaptivePolicy } from '../../src/cache/policies/adaptive.js';
import type { PolicyName } from '../../src/cache/policies/index.js';
import { FrequencySketch } from '../../src/cache/sketch.js';
import { hashKey } from '../../src/cache/hash.js';

function evictions(
  policy: PolicyName,
  maxEntries: number,
): { cache: Cache<string, number>; evicted: string[] } {
  const evicted: string[] = [];
  const cache = new Cache<string, number>({
    maxEntries,
    policy,
    onEvict: (_v, k, r) => {
      if (r === 'evict') evicted.push(k);
    },
  });
  return { cache, evicted };
}

describe('eviction order', () => {
  it('lru evicts the least recently used; a get or a replace refreshes', () => {
    const { cache, evicted } = evictions('lru', 3);
    cache.set('a', 1).set('b', 2).set('c', 3);
    cache.get('a');
    cache.set('d', 4);
    expect(evicted).toEqual(['b']);
    cache.set('c', 30);
    cache.set('e', 5);
    expect(evicted).toEqual(['b', 'a']);
    cache.peek('d'); // not an access
    cache.set('f', 6);
    expect(evicted).toEqual(['b', 'a', 'd']);
    expect([...cache.keys()].sort()).toEqual(['c', 'e', 'f']);
  });

  it('fifo evicts the oldest insert whatever was read', () => {
    const { cache, evicted } = evictions('fifo', 3);
    cache.set('a', 1).set('b', 2).set('c', 3);
    cache.get('a');
    cache.get('a');
    cache.set('d', 4);
    cache.set('e', 5);
    expect(evicted).toEqual(['a', 'b']);
  });

  it('lfu evicts the least frequently used, ties by least recent', () => {
    const { cache, evicted } = evictions('lfu', 3);
    cache.set('a', 1).set('b', 2).set('c', 3);
    cache.get('a');
    cache.get('a');
    cache.get('c');
    cache.set('d', 4); // b has the fewest hits
    expect(evicted).toEqual(['b']);
    cache.set('e', 5); // d and e... d is the only entry at the lowest count
    expect(evicted).toEqual(['b', 'd']);
    cache.get('e');
    cache.set('f', 6); // c (2 uses, older) vs e (2 uses, newer): c goes
    expect(evicted).toEqual(['b', 'd', 'c']);
    expect(cache.has('a')).toBe(true);
  });

  it('lfu recovers when a deleted entry was the least frequent', () => {
    const { cache, evicted } = evictions('lfu', 2);
    cache.set('a', 1).set('b', 2);
    cache.get('b');
    cache.delete('a');
    cache.set('c', 3);
    cache.set('d', 4);
    expect(evicted).toEqual(['c']);
  });

  it('adaptive keeps a frequently used working set through a scan of one-time keys', () => {
    for (const policy of ['adaptive', 'lru'] as const) {
      const cache = new Cache<string, number>({ maxEntries: 100, policy });
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 50; i++) if (cache.get(`hot${i}`) === undefined) cache.set(`hot${i}`, i);
      }
      for (let i = 0; i < 1_000; i++) if (cache.get(`scan${i}`) === undefined) cache.set(`scan${i}`, i);
      let kept = 0;
      for (let i = 0; i < 50; i++) if (cache.has(`hot${i}`)) kept++;
      if (policy === 'adaptive') expect(kept).toBeGreaterThanOrEqual(45);
      else expect(kept).toBe(0);
    }
  });

  it('adaptive keeps its scan resistance under a byte limit (capacity learned from what fits)', () => {
    const cache = new Cache<string, string>({ maxBytes: 1_000, sizeOf: (v) => v.length });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 50; i++)
        if (cache.get(`hot${i}`) === undefined) cache.set(`hot${i}`, 'x'.repeat(10));
    }
    for (let i = 0; i < 1_000; i++)
      if (cache.get(`scan${i}`) === undefined) cache.set(`scan${i}`, 'y'.repeat(10));
    expect(cache.bytes).toBeLessThanOrEqual(1_000);
    let kept = 0;
    for (let i = 0; i < 50; i++) if (cache.has(`hot${i}`)) kept++;
    expect(kept).toBeGreaterThanOrEqual(45);
  });

  it('adaptive admits a newcomer to main only when it is requested more often than the victim', () => {
    const { cache, evicted } = evictions('adaptive', 20);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) if (cache.get(`k${i}`) === undefined) cache.set(`k${i}`, i);
    }
    for (let i = 0; i < 30; i++) if (cache.get(`once${i}`) === undefined) cache.set(`once${i}`, i);
    // One-time keys pass through the window and are refused by main: at most the window's few remain.
    let onceKept = 0;
    for (let i = 0; i < 30; i++) if (cache.has(`once${i}`)) onceKept++;
    expect(onceKept).toBeLessThanOrEqual(4);
    let kept = 0;
    for (let i = 0; i < 20; i++) if (cache.has(`k${i}`)) kept++;
    expect(kept).toBeGreaterThanOrEqual(16);
    // A newcomer asked for again and again earns its place in main and stays through more one-timers.
    for (let i = 0; i < 40; i++) {
      if (cache.get('popular') === undefined) cache.set('popular', 1);
      if (cache.get(`later${i}`) === undefined) cache.set(`later${i}`, i);
    }
    expect(cache.has('popular')).toBe(true);
    expect(evicted.filter((k) => k === 'popular').length).toBeLessThanOrEqual(3);
  });

  it('adaptive behaves like LRU when recency is all there is (a sliding window of keys)', () => {
    // Each key is used for a short while and never again: frequency carries no signal here.
    const hitRatio = (policy: PolicyName): number => {
      const cache = new Cache<number, number>({ maxEntries: 200, policy });
      let hits = 0;
      let n = 0;
      for (let t = 0; t < 20_000; t++) {
        const key = t + ((t * 7919) % 150);
        n++;
        if (cache.get(key) === undefined) cache.set(key, key);
        else hits++;
      }
      return hits / n;
    };
    expect(hitRatio('adaptive')).toBeGreaterThanOrEqual(hitRatio('lru') - 0.02);
  });
});

describe('adaptive window', () => {
  it('grows the window on a recency-heavy workload and shrinks it on a loop', () => {
    const share = (keys: (t: number) => number): number => {
      const policy = createAdaptivePolicy(1_001, 1_000);
      // Drive a bare policy through the cache's contract, as the cache does, to read its window share.
      const slotOf = new Map<number, number>();
      const keyOf = new Int32Array(1_001).fill(-1);
      const free: number[] = [];
      let next = 0;
      for (let t = 0; t < 200_000; t++) {
        const key = keys(t);
        const slot = slotOf.get(key);
        if (slot !== undefined) {
          policy.access(slot);
          continue;
        }
        const h = hashKey(key);
        policy.recordMiss(h);
        const s = free.pop() ?? next++;
        slotOf.set(key, s);
        keyOf[s] = key;
        policy.insert(s, h);
        if (slotOf.size > 1_000) {
          const v = policy.victim(slotOf.size);
          policy.remove(v);
          slotOf.delete(keyOf[v]!);
          free.push(v);
        }
      }
      return policy.windowShare();
    };
    // Recency: every key comes back exactly once, about 800 requests later, and never again. LRU (a
    // big window) hits every return; frequency-based admission would have refused the key meanwhile.
    const recency = share((t) => (t % 2 === 0 ? t / 2 : (t - 1) / 2 - 400));
    // A loop over 1,500 keys: LRU gets nothing; only a small window with frequency admission helps.
    const loop = share((t) => t % 1_500);
    expect(recency).toBeGreaterThan(0.5);
    expect(loop).toBeLessThan(0.05);
  });
});

describe('frequency sketch', () => {
  it('estimates counts, saturates and ages', () => {
    const sketch = new FrequencySketch(1_000);
    const h = hashKey('hot');
    expect(sketch.frequency(h)).toBe(0);
    sketch.increment(h);
    expect(sketch.frequency(h)).toBe(1);
    for (let i = 0; i < 5; i++) sketch.increment(h);
    expect(sketch.frequency(h)).toBe(6);
    for (let i = 0; i < 100; i++) sketch.increment(h);
    expect(sketch.frequency(h)).toBe(15); // saturated
    // Fill the sample with other keys: counts halve.
    for (let i = 0; i < 10_000; i++) sketch.increment(hashKey(`other${i}`));
    expect(sketch.frequency(h)).toBeLessThanOrEqual(8);
    expect(sketch.frequency(h)).toBeGreaterThanOrEqual(3);
    expect(sketch.frequency(hashKey('never'))).toBeLessThanOrEqual(2);
  });
});
