/**
 * Byte and entry accounting stays exact through any sequence of set / replace / delete / evict /
 * expire / clear, for every policy: checked against a model with fast-check.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { Cache } from '../../src/cache/cache.js';
import { CacheEntryTooLargeError } from '../../src/cache/errors.js';
import type { PolicyName } from '../../src/cache/policies/index.js';

const MAX_BYTES = 100;
const MAX_ENTRIES = 8;

type Op =
  | { op: 'set'; key: number; size: number; ttlMs: number | undefined }
  | { op: 'get'; key: number }
  | { op: 'delete'; key: number }
  | { op: 'advance'; ms: number }
  | { op: 'sweep' }
  | { op: 'clear' };

const key = fc.integer({ min: 0, max: 15 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      key,
      size: fc.integer({ min: 0, max: 120 }),
      ttlMs: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 30 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sweep' as const) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

/** A value is a string of `size` characters tagged with a serial, so replacements are distinct values. */
let serial = 0;
const valueOf = (size: number): string => `${serial++}|`.padEnd(Math.max(size, 0), '.').slice(0, size) || '';

function check(policy: PolicyName, ops: Op[]): void {
  const clock = new ManualClock();
  // The model: what the cache must hold, rebuilt only from the cache's own hook and return values.
  const model = new Map<number, string>();
  const removed: Record<string, number> = { evict: 0, expire: 0, delete: 0, set: 0, clear: 0 };
  const cache = new Cache<number, string>({
    policy,
    maxBytes: MAX_BYTES,
    maxEntries: MAX_ENTRIES,
    sizeOf: (v) => v.length,
    clock,
    onEvict: (value, k, reason) => {
      removed[reason]!++;
      if (reason !== 'set') {
        expect(model.get(k)).toBe(value);
        model.delete(k);
      }
    },
  });
  for (const o of ops) {
    switch (o.op) {
      case 'set': {
        const value = valueOf(o.size);
        const before = [cache.size, cache.bytes];
        try {
          cache.set(o.key, value, o.ttlMs === undefined ? undefined : { ttlMs: o.ttlMs });
          model.set(o.key, value);
        } catch (error) {
          expect(error).toBeInstanceOf(CacheEntryTooLargeError);
          expect(value.length).toBeGreaterThan(MAX_BYTES);
          expect([cache.size, cache.bytes]).toEqual(before); // refused: nothing changed
        }
        break;
      }
      case 'get': {
        const got = cache.get(o.key);
        if (got !== undefined) expect(got).toBe(model.get(o.key));
        break;
      }
      case 'delete':
        cache.delete(o.key);
        expect(model.has(o.key)).toBe(false);
        break;
      case 'advance':
        clock.advance(o.ms);
        break;
      case 'sweep':
        cache.cleanupExpired();
        break;
      case 'clear':
        cache.clear();
        expect(model.size).toBe(0);
        break;
    }
    let bytes = 0;
    for (const v of model.values()) bytes += v.length;
    expect(cache.size).toBe(model.size);
    expect(cache.bytes).toBe(bytes);
    expect(cache.bytes).toBeLessThanOrEqual(MAX_BYTES);
    expect(cache.size).toBeLessThanOrEqual(MAX_ENTRIES);
    const stats = cache.stats();
    expect(stats.bytes).toBe(bytes);
    expect(stats.evictions).toEqual(removed);
  }
  // Every fresh entry the cache reports is one the model holds with the same value.
  for (const [k, v] of cache.entries()) expect(model.get(k)).toBe(v);
}

describe('byte accounting (property)', () => {
  for (const policy of ['lru', 'lfu', 'fifo', 'adaptive'] as const) {
    it(`stays exact through set/replace/delete/evict/expire/clear with ${policy}`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => check(policy, ops)),
        { numRuns: 300 },
      );
    });
  }

  it('lru evicts exactly what a reference LRU model predicts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key, size: fc.integer({ min: 1, max: 40 }), read: fc.boolean() }), {
          maxLength: 200,
        }),
        (steps) => {
          const cache = new Cache<number, string>({
            policy: 'lru',
            maxBytes: MAX_BYTES,
            sizeOf: (v) => v.length,
          });
          const order: number[] = []; // least recent first
          const sizes = new Map<number, number>();
          const touch = (k: number): void => {
            const i = order.indexOf(k);
            if (i >= 0) order.splice(i, 1);
            order.push(k);
          };
          for (const s of steps) {
            if (s.read) {
              if (cache.get(s.key) !== undefined) touch(s.key);
              expect(sizes.has(s.key)).toBe(cache.has(s.key));
              continue;
            }
            cache.set(s.key, 'x'.repeat(s.size));
            sizes.set(s.key, s.size);
            touch(s.key);
            let total = [...sizes.values()].reduce((a, b) => a + b, 0);
            while (total > MAX_BYTES) {
              const victim = order.shift()!;
              total -= sizes.get(victim)!;
              sizes.delete(victim);
            }
            expect(new Set(cache.keys())).toEqual(new Set(sizes.keys()));
            expect(cache.bytes).toBe(total);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
