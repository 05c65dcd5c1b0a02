import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { isValidationError, ValidationError } from '../../src/kernel/errors.js';
import { Cache, createCache } from '../../src/cache/cache.js';
import { CacheEntryTooLargeError, isCacheEntryTooLargeError } from '../../src/cache/errors.js';
import { estimateSize } from '../../src/cache/sizing.js';
import type { CacheLike, CacheOptions, EvictionReason } from '../../src/cache/types.js';

type Event = [value: unknown, key: unknown, reason: EvictionReason];

function recording<K, V>(options: CacheOptions<K, V> = {}): { cache: Cache<K, V>; events: Event[] } {
  const events: Event[] = [];
  const cache = new Cache<K, V>({ ...options, onEvict: (v, k, r) => events.push([v, k, r]) });
  return { cache, events };
}

describe('Cache basics', () => {
  it('stores, reads, peeks and deletes', () => {
    const cache = createCache<string, number>({ maxEntries: 10 });
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', 1).set('b', 2);
    expect(cache.get('a')).toBe(1);
    expect(cache.peek('b')).toBe(2);
    expect(cache.has('b')).toBe(true);
    expect(cache.size).toBe(2);
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    expect(cache.get('a')).toBeUndefined();
    expect([...cache.entries()]).toEqual([['b', 2]]);
    expect([...cache.keys()]).toEqual(['b']);
  });

  it('defaults to the adaptive policy with 10,000 entries', () => {
    const cache = new Cache();
    expect(cache.policy).toBe('adaptive');
    expect(cache.maxEntries).toBe(10_000);
  });

  it('counts accesses per entry; peek, has and info are not accesses', () => {
    const clock = new ManualClock(1_000);
    const cache = new Cache<string, string>({ clock, trackAccessTime: true });
    cache.set('k', 'v');
    expect(cache.info('k')).toMatchObject({ accessCount: 0, lastAccessMs: 1_000, expiresAtMs: Infinity });
    clock.advance(5);
    cache.get('k');
    clock.advance(5);
    cache.get('k');
    clock.advance(5);
    cache.peek('k');
    cache.has('k');
    expect(cache.info('k')).toMatchObject({ accessCount: 2, lastAccessMs: 1_010, stale: false });
    expect(cache.stats().hits).toBe(2);
    expect(cache.info('missing')).toBeUndefined();
  });

  it('without trackAccessTime it never reads the clock for entries without a TTL', () => {
    let reads = 0;
    const cache = new Cache<string, number>({
      clock: {
        now: () => {
          reads++;
          return 0;
        },
      },
    });
    cache.set('a', 1);
    cache.get('a');
    cache.get('b');
    cache.peek('a');
    cache.delete('a');
    expect(reads).toBe(0);
    expect(cache.info('a')).toBeUndefined();
  });

  it('satisfies the structural CacheLike interface a fallback needs', () => {
    const like: CacheLike<string, number> = new Cache<string, number>({ maxEntries: 2 });
    like.set('x', 1);
    expect(like.get('x')).toBe(1);
    expect(like.get('y')).toBeUndefined();
  });

  it('prewarms many entries, each with its own TTL', () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number>({ clock });
    expect(
      cache.prewarm([
        ['a', 1],
        ['b', 2, { ttlMs: 10 }],
      ]),
    ).toBe(2);
    expect(cache.peek('a')).toBe(1);
    expect(cache.info('b')?.expiresAtMs).toBe(10);
    clock.advance(10);
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.peek('a')).toBe(1);
    // prewarm is not an access
    expect(cache.stats().hits + cache.stats().misses).toBe(0);
  });
});

describe('TTL and expiry', () => {
  it('expires an entry at its TTL, lazily on read, reason expire', () => {
    const clock = new ManualClock(100);
    const { cache, events } = recording<string, string>({ clock, ttlMs: 50 });
    cache.set('a', 'A');
    cache.set('b', 'B', { ttlMs: 200 });
    cache.set('c', 'C', { ttlMs: Infinity });
    clock.advance(49);
    expect(cache.get('a')).toBe('A');
    clock.advance(1);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.has('a')).toBe(false);
    expect(cache.get('a')).toBeUndefined();
    expect(events).toEqual([['A', 'a', 'expire']]);
    expect(cache.size).toBe(2);
    clock.advance(1_000);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBe('C');
    const s = cache.stats();
    expect(s.evictions.expire).toBe(2);
    expect(s.hits).toBe(2);
    expect(s.misses).toBe(2);
  });

  it('a replace restarts the TTL', () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number>({ clock, ttlMs: 10 });
    cache.set('a', 1);
    clock.advance(8);
    cache.set('a', 2);
    clock.advance(8);
    expect(cache.get('a')).toBe(2);
    cache.set('a', 3, { ttlMs: Infinity });
    clock.advance(1_000_000);
    expect(cache.get('a')).toBe(3);
  });

  it('sweeps expired entries a few per insert, without any timer', () => {
    const clock = new ManualClock();
    const { cache, events } = recording<string, number>({ clock, policy: 'lru' });
    for (let i = 0; i < 8; i++) cache.set(`t${i}`, i, { ttlMs: 10 });
    clock.advance(10);
    expect(cache.size).toBe(8); // nothing happens until the cache is used
    // Each insert examines 4 slots from a rotating cursor: three inserts cover all 11 slots.
    cache.set('x', 100);
    cache.set('y', 101);
    cache.set('z', 102);
    expect(cache.size).toBe(3);
    expect(events.map((e) => e[2])).toEqual(Array(8).fill('expire'));
    expect(events.map((e) => e[1]).sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7']);
  });

  it('cleanupExpired removes every expired entry at once', () => {
    const clock = new ManualClock();
    const { cache, events } = recording<number, number>({ clock });
    for (let i = 0; i < 100; i++) cache.set(i, i, { ttlMs: i < 60 ? 5 : 50 });
    clock.advance(5);
    expect(cache.cleanupExpired()).toBe(60);
    expect(cache.size).toBe(40);
    expect(events).toHaveLength(60);
    expect(cache.cleanupExpired()).toBe(0);
    clock.advance(45);
    expect(cache.cleanupExpired()).toBe(40);
    expect(cache.size).toBe(0);
    expect(cache.stats().evictions.expire).toBe(100);
  });

  it('rejects a bad per-entry TTL and changes nothing', () => {
    const cache = new Cache<string, number>();
    cache.set('a', 1);
    for (const ttlMs of [0, -5, NaN, '10' as unknown as number]) {
      expect(() => cache.set('a', 2, { ttlMs })).toThrow(ValidationError);
    }
    expect(cache.get('a')).toBe(1);
    expect(cache.stats().evictions.set).toBe(0);
  });
});

describe('limits', () => {
  it('never holds more than maxEntries', () => {
    for (const policy of ['lru', 'lfu', 'fifo', 'adaptive'] as const) {
      const cache = new Cache<number, number>({ maxEntries: 50, policy });
      for (let i = 0; i < 1_000; i++) {
        cache.set(i % 173, i);
        cache.get((i * 7) % 211);
        expect(cache.size).toBeLessThanOrEqual(50);
      }
      expect(cache.size).toBe(50);
    }
  });

  it('refuses an entry larger than maxBytes with a typed error, changing nothing', () => {
    const { cache, events } = recording<string, string>({ maxBytes: 10, sizeOf: (v) => v.length });
    cache.set('a', 'aaaa');
    let caught: unknown;
    try {
      cache.set('a', 'x'.repeat(11));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CacheEntryTooLargeError);
    expect(isValidationError(caught)).toBe(true);
    expect(isCacheEntryTooLargeError(caught)).toBe(true);
    expect(caught).toMatchObject({ sizeBytes: 11, maxBytes: 10 });
    expect(() => cache.set('b', 'y'.repeat(11))).toThrow(CacheEntryTooLargeError);
    expect(cache.get('a')).toBe('aaaa');
    expect(cache.has('b')).toBe(false);
    expect(cache.bytes).toBe(4);
    expect(events).toEqual([]);
  });

  it('evicts by bytes and reports usage', () => {
    const cache = new Cache<string, string>({ maxBytes: 10, sizeOf: (v) => v.length, policy: 'lru' });
    cache.set('a', 'aaaa');
    cache.set('b', 'bbbb');
    expect(cache.stats().usagePercent).toBe(80);
    cache.set('c', 'cccc');
    expect(cache.has('a')).toBe(false);
    expect(cache.bytes).toBe(8);
    cache.set('b', 'bbbbbbbbbb');
    expect([...cache.keys()]).toEqual(['b']);
    expect(cache.bytes).toBe(10);
    expect(cache.stats().evictions.evict).toBe(2);
  });

  it('rejects a sizeOf result that is not a finite number >= 0', () => {
    const cache = new Cache<string, number>({ sizeOf: (v) => v });
    expect(() => cache.set('a', -1)).toThrow(ValidationError);
    expect(() => cache.set('a', NaN)).toThrow(ValidationError);
    expect(() => cache.set('a', Infinity)).toThrow(ValidationError);
    expect(cache.size).toBe(0);
    cache.set('a', 2.5);
    expect(cache.bytes).toBe(3); // whole bytes keep the running total exact
  });
});

describe('estimateSize', () => {
  it('weighs strings, binary data and JSON-like values', () => {
    expect(estimateSize('abcd')).toBe(8);
    expect(estimateSize(Buffer.alloc(1_000))).toBe(1_000);
    expect(estimateSize(new Uint32Array(10))).toBe(40);
    expect(estimateSize(new ArrayBuffer(64))).toBe(64);
    expect(estimateSize(42)).toBe(8);
    expect(estimateSize(null)).toBe(8);
    const small = estimateSize({ id: 1 });
    const big = estimateSize({ id: 1, text: 'x'.repeat(1_000) });
    expect(big - small).toBeGreaterThanOrEqual(2_000);
    expect(estimateSize([1, 2, 3])).toBeGreaterThan(estimateSize([1]));
    expect(estimateSize(new Map([['a', 'bb']]))).toBeGreaterThan(estimateSize(new Map()));
  });

  it('terminates on cycles and counts shared values once', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(Number.isFinite(estimateSize(a))).toBe(true);
    const shared = 'y'.repeat(500);
    const blob = { s: Buffer.alloc(100) };
    expect(estimateSize([blob, blob])).toBeLessThan(2 * estimateSize([blob]));
    expect(estimateSize([shared])).toBeGreaterThanOrEqual(1_000);
  });

  it('is the default sizeOf when maxBytes is set', () => {
    const cache = new Cache<string, unknown>({ maxBytes: 1_000_000 });
    cache.set('s', 'abc');
    cache.set('b', Buffer.alloc(10));
    expect(cache.bytes).toBe(16);
    expect(cache.info('b')?.sizeBytes).toBe(10);
  });
});

describe('onEvict reasons', () => {
  it('reports set, delete, evict, expire and clear, after the cache is updated', () => {
    const clock = new ManualClock();
    const seen: [unknown, unknown, EvictionReason, number][] = [];
    const cache: Cache<string, number> = new Cache<string, number>({
      maxEntries: 2,
      policy: 'lru',
      clock,
      onEvict: (v, k, r) => seen.push([v, k, r, cache.size]),
    });
    cache.set('a', 1);
    cache.set('a', 1); // same value: nothing replaced
    cache.set('a', 2);
    cache.set('b', 3);
    cache.set('c', 4);
    cache.delete('b');
    cache.set('d', 5, { ttlMs: 1 });
    clock.advance(1);
    cache.get('d');
    cache.set('e', 6);
    cache.clear();
    expect(seen).toEqual([
      [1, 'a', 'set', 1],
      [2, 'a', 'evict', 2],
      [3, 'b', 'delete', 1],
      [5, 'd', 'expire', 1],
      [4, 'c', 'clear', 0],
      [6, 'e', 'clear', 0],
    ]);
    expect(cache.stats().evictions).toEqual({ evict: 1, expire: 1, delete: 1, set: 1, clear: 2 });
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it('a throwing hook does not break the cache', () => {
    const cache = new Cache<string, number>({
      maxEntries: 1,
      onEvict: () => {
        throw new Error('hook failed');
      },
    });
    cache.set('a', 1);
    expect(() => cache.set('b', 2)).not.toThrow();
    expect(cache.size).toBe(1);
  });

  it('the cache is usable again after clear', () => {
    const cache = new Cache<number, number>({ maxEntries: 3, policy: 'adaptive' });
    for (let i = 0; i < 10; i++) cache.set(i, i);
    cache.clear();
    for (let i = 0; i < 10; i++) cache.set(i, i * 2);
    expect(cache.size).toBe(3);
    for (const [k, v] of cache.entries()) expect(v).toBe(k * 2);
  });
});

describe('statistics', () => {
  it('counts hits, misses, hit rate, usage; resets counters but not state; exports metrics', () => {
    const cache = new Cache<string, string>({ maxEntries: 4, name: 'users' });
    cache.set('a', 'x');
    cache.get('a');
    cache.get('a');
    cache.get('a');
    cache.get('nope');
    let s = cache.stats();
    expect(s).toMatchObject({
      hits: 3,
      misses: 1,
      hitRate: 0.75,
      entries: 1,
      usagePercent: 25,
      maxEntries: 4,
    });
    const metrics = cache.metrics();
    expect(metrics.find((m) => m.name === 'bulwark_cache_hits_total')).toMatchObject({
      type: 'counter',
      value: 3,
      labels: { cache: 'users' },
    });
    expect(metrics.find((m) => m.name === 'bulwark_cache_entries')).toMatchObject({
      type: 'gauge',
      value: 1,
    });
    expect(JSON.parse(JSON.stringify(metrics))).toEqual(metrics); // plain data
    // It plugs straight into the metrics module's cache source shape: { name, stats() }.
    const source: {
      readonly name: string;
      stats(): { hits: number; misses: number; evictions: Record<string, number> };
    } = cache;
    expect(source.name).toBe('users');
    cache.resetStats();
    s = cache.stats();
    expect(s).toMatchObject({ hits: 0, misses: 0, hitRate: 0, entries: 1 });
  });
});

describe('options validation', () => {
  const bad: [string, unknown][] = [
    ['maxEntries 0', { maxEntries: 0 }],
    ['maxEntries negative', { maxEntries: -1 }],
    ['maxEntries fractional', { maxEntries: 1.5 }],
    ['maxEntries string', { maxEntries: '10' }],
    ['maxBytes 0', { maxBytes: 0 }],
    ['both unlimited', { maxEntries: Infinity }],
    ['unknown policy', { policy: 'arc' }],
    ['ttlMs 0', { ttlMs: 0 }],
    ['ttlMs NaN', { ttlMs: NaN }],
    ['negative stale window', { staleWhileRevalidateMs: -1 }],
    ['sizeOf not a function', { sizeOf: 3 }],
    ['onEvict not a function', { onEvict: 'x' }],
    ['clock without now', { clock: {} }],
    ['misspelled option', { ttl: 1_000 }],
    ['not an object', 42],
  ];
  it.each(bad)('%s → ValidationError', (_name, options) => {
    expect(() => new Cache(options as CacheOptions<unknown, unknown>)).toThrow(ValidationError);
  });

  it('accepts a byte-only limit', () => {
    const cache = new Cache<string, string>({ maxEntries: Infinity, maxBytes: 100 });
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, 'abcde');
    expect(cache.bytes).toBeLessThanOrEqual(100);
    expect(cache.size).toBe(10);
  });

  it('refuses undefined values', () => {
    const cache = new Cache<string, number | undefined>();
    expect(() => cache.set('a', undefined)).toThrow(ValidationError);
    expect(cache.size).toBe(0);
  });
});
