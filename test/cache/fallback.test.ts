/**
 * bulwark's cache as the fallback-to-cache source of a resilience policy: every success is stored,
 * and a failed call or an open breaker is answered with the last good value.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { Cache } from '../../src/cache/cache.js';
import type { CacheLike } from '../../src/cache/types.js';
import { circuitBreaker, fallback, wrap } from '../../src/resilience/index.js';

describe('cache as a resilience fallback', () => {
  it('serves the last good value when the call fails and while the breaker is open', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number>({ maxEntries: 100, ttlMs: 60_000, clock });
    const source: CacheLike<string, number> = cache;
    const fb = fallback<number>({ cache: source, key: 'rate' });
    const sources: string[] = [];
    fb.on('fallback', (e) => sources.push(e.source));
    const breaker = circuitBreaker({ consecutiveFailures: 2, breakDurationMs: 10_000, clock });
    const policy = wrap(fb, breaker);

    let calls = 0;
    const up = (): Promise<number> => {
      calls++;
      return Promise.resolve(42);
    };
    const down = (): Promise<number> => {
      calls++;
      return Promise.reject(new Error('upstream 503'));
    };

    expect(await policy.execute(up)).toBe(42);
    expect(cache.peek('rate')).toBe(42); // the success was stored

    expect(await policy.execute(down)).toBe(42);
    expect(await policy.execute(down)).toBe(42);
    expect(breaker.state).toBe('open');
    const before = calls;
    expect(await policy.execute(up)).toBe(42); // refused by the open breaker, served from the cache
    expect(calls).toBe(before);
    expect(sources).toEqual(['cache', 'cache', 'cache']);
    expect(cache.stats().hits).toBe(3);
  });

  it('with nothing cached (or the entry expired) the failure goes through', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number>({ maxEntries: 10, ttlMs: 1_000, clock });
    const policy = fallback<number>({ cache, key: 'k' });
    await expect(policy.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await policy.execute(() => 7)).toBe(7);
    clock.advance(1_000);
    await expect(policy.execute(() => Promise.reject(new Error('down again')))).rejects.toThrow('down again');
  });
});
