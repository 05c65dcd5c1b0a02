/**
 * bulwark's cache as the fallback source of a resilience policy: every success is stored, and when
 * the call fails or the breaker is open the last good value is served instead of the error.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, TransientError } from '../../src/index.js';
import { Cache } from '../../src/cache/index.js';
import { circuitBreaker, fallback, isBrokenCircuitError, wrap } from '../../src/resilience/index.js';

describe('cache as a fallback source', () => {
  it('serves the last good value when the call fails and while the breaker is open', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, { price: number }>({ maxEntries: 100, clock });
    const breaker = circuitBreaker({ consecutiveFailures: 2, breakDurationMs: 10_000, clock });
    const policy = wrap(fallback({ cache, key: 'price:widget' }), breaker);
    let up = true;
    let calls = 0;
    const fetchPrice = async (): Promise<{ price: number }> => {
      calls++;
      if (!up) throw new TransientError('pricing service 503');
      return { price: 42 };
    };

    expect(await policy.execute(fetchPrice)).toEqual({ price: 42 });
    expect(cache.peek('price:widget')).toEqual({ price: 42 });

    up = false;
    // Failing calls are answered from the cache; two of them open the breaker.
    expect(await policy.execute(fetchPrice)).toEqual({ price: 42 });
    expect(await policy.execute(fetchPrice)).toEqual({ price: 42 });
    expect(breaker.state).toBe('open');
    const before = calls;
    // Open: the function is not called at all, the cached value still answers.
    expect(await policy.execute(fetchPrice)).toEqual({ price: 42 });
    expect(calls).toBe(before);
    expect(cache.stats().hits).toBeGreaterThanOrEqual(3);

    // Recovery: after the break a probe goes through, succeeds, and refreshes the cache.
    up = true;
    clock.advance(10_000);
    const fresh = async (): Promise<{ price: number }> => ({ price: 43 });
    expect(await policy.execute(fresh)).toEqual({ price: 43 });
    expect(breaker.state).toBe('closed');
    expect(cache.peek('price:widget')).toEqual({ price: 43 });
  });

  it('rejects with the real error when nothing was cached yet', async () => {
    const cache = new Cache<string, number>({ maxEntries: 10 });
    const breaker = circuitBreaker({ consecutiveFailures: 1, breakDurationMs: 60_000 });
    const policy = wrap(fallback({ cache, key: 'k' }), breaker);
    await expect(policy.execute(() => Promise.reject(new TransientError('down')))).rejects.toThrow('down');
    await expect(policy.execute(() => 1)).rejects.toSatisfy(isBrokenCircuitError);
  });
});
