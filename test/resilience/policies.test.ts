import { describe, expect, expectTypeOf, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { RateLimitError, ValidationError, isRateLimitError } from '../../src/kernel/errors.js';
import { circuitBreaker } from '../../src/resilience/breaker.js';
import { bulkhead } from '../../src/resilience/bulkhead.js';
import { BulkheadRejectedError, isBulkheadRejectedError } from '../../src/resilience/errors.js';
import { fallback } from '../../src/resilience/fallback.js';
import { rateLimit } from '../../src/resilience/rate-limit.js';
import { retry } from '../../src/resilience/retry.js';
import { wrap } from '../../src/resilience/wrap.js';
import { flush } from './fake-time.js';

function gate(): { promise: Promise<string>; open: (v?: string) => void } {
  let open!: (v?: string) => void;
  const promise = new Promise<string>((resolve) => {
    open = (v = 'done') => resolve(v);
  });
  return { promise, open };
}

describe('bulkhead', () => {
  it('runs at most maxConcurrent, queues up to maxQueue in order, rejects the rest', async () => {
    const b = bulkhead({ maxConcurrent: 2, maxQueue: 1, name: 'pdf' });
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      b.execute(() => {
        started.push(i);
        return g.promise;
      }),
    );
    expect(started).toEqual([0, 1]);
    expect([b.active, b.queued, b.available]).toEqual([2, 1, 0]);
    const rejected = await b.execute(() => 'never').catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(BulkheadRejectedError);
    expect(isBulkheadRejectedError(rejected)).toBe(true);
    expect(rejected).toMatchObject({ dependency: 'pdf', category: 'resource' });
    gates[0]!.open('a');
    await runs[0];
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.open();
    gates[2]!.open();
    await Promise.all(runs);
    expect([b.active, b.queued]).toEqual([0, 0]);
  });

  it('frees the slot when the function throws synchronously or rejects', async () => {
    const b = bulkhead(1);
    await expect(
      b.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(b.execute(async () => Promise.reject(new Error('async')))).rejects.toThrow('async');
    expect(b.active).toBe(0);
    await expect(b.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('a queued call leaves the line when its signal aborts', async () => {
    const b = bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const g = gate();
    const first = b.execute(() => g.promise);
    const ac = new AbortController();
    let ran = false;
    const waiting = b.execute(() => {
      ran = true;
    }, ac.signal);
    expect(b.queued).toBe(1);
    ac.abort(new Error('no longer needed'));
    await expect(waiting).rejects.toThrow('no longer needed');
    expect(b.queued).toBe(0);
    const next = b.execute(() => 'next');
    g.open();
    await first;
    await expect(next).resolves.toBe('next');
    expect(ran).toBe(false);
    expect(b.active).toBe(0);
  });
});

describe('rate limiter', () => {
  it('is a token bucket: burst, refill over time, retryAfterMs when empty', () => {
    const clock = new ManualClock(0);
    const r = rateLimit({ limit: 10, intervalMs: 1000, burst: 3, clock });
    expect([r.tryAcquire(), r.tryAcquire(), r.tryAcquire()].every((x) => x.ok)).toBe(true);
    expect(r.tryAcquire()).toEqual({ ok: false, retryAfterMs: 100 });
    clock.advance(40);
    expect(r.tryAcquire()).toEqual({ ok: false, retryAfterMs: 60 });
    expect(r.availableInMs()).toBe(60);
    clock.advance(60);
    expect(r.tryAcquire().ok).toBe(true);
    clock.advance(10_000);
    expect(r.available).toBe(3);
    expect(() => r.tryAcquire(4)).toThrow(ValidationError);
    expect(() => rateLimit({ limit: 0.5, intervalMs: 1000 })).toThrow(ValidationError);
    expect(rateLimit({ limit: 0.5, intervalMs: 1000, burst: 1, clock }).tryAcquire()).toEqual({
      ok: true,
      retryAfterMs: 0,
    });
    expect(() => rateLimit({ limit: 0 })).toThrow(ValidationError);
  });

  it('as a policy rejects with a RateLimitError carrying retryAfterMs, and a retry honours it', async () => {
    const clock = new ManualClock(0);
    const r = rateLimit({ limit: 1, intervalMs: 60_000, clock, name: 'smtp' });
    await r.execute(() => 'first');
    const err = await r.execute(() => 'second').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(isRateLimitError(err)).toBe(true);
    expect(err).toMatchObject({ retryAfterMs: 60_000, local: true, dependency: 'smtp' });
  });
});

describe('fallback', () => {
  it('answers with a value, a function of the error, or the last cached success', async () => {
    const down = (): never => {
      throw new Error('down');
    };
    await expect(fallback({ value: 'default' }).execute(down)).resolves.toBe('default');
    await expect(fallback({ fn: (e) => `from ${(e as Error).message}` }).execute(down)).resolves.toBe(
      'from down',
    );

    const cache = new Map<string, number>();
    let key = 'a';
    const f = fallback({ cache, key: () => key, value: -1 });
    await expect(f.execute(async () => 41)).resolves.toBe(41);
    expect(cache.get('a')).toBe(41);
    await expect(f.execute(down)).resolves.toBe(41);
    key = 'b';
    await expect(f.execute(down)).resolves.toBe(-1);

    const strict = fallback({ cache: new Map<string, number>(), key: 'k' });
    await expect(strict.execute(down)).rejects.toThrow('down');
  });

  it('serves the cache when a breaker is open, and honours `when`', async () => {
    const cache = new Map<string, string>();
    const b = circuitBreaker({ consecutiveFailures: 1 });
    const p = wrap(fallback({ cache, key: 'profile' }), b);
    await p.execute(() => 'fresh');
    await p.execute(() => {
      throw new Error('down');
    });
    expect(b.state).toBe('open');
    let called = false;
    await expect(
      p.execute(() => {
        called = true;
        return 'x';
      }),
    ).resolves.toBe('fresh');
    expect(called).toBe(false);
    const picky = fallback({ value: 0, when: (e) => (e as Error).message !== 'fatal' });
    await expect(picky.execute(() => Promise.reject(new Error('fatal')))).rejects.toThrow('fatal');
  });

  it('needs something to fall back on', () => {
    expect(() => fallback({})).toThrow(ValidationError);
    expect(() => fallback({ cache: new Map() })).toThrow(ValidationError);
  });
});

describe('wrap', () => {
  it('runs outermost first and types the result as the union with fallback values', async () => {
    const order: string[] = [];
    const r = retry({ maxAttempts: 2, backoff: { delayMs: 0 } });
    r.on('retry', () => order.push('retry'));
    const b = circuitBreaker({ consecutiveFailures: 1 });
    b.on('open', () => order.push('open'));
    const p = wrap(fallback({ value: null }), r, b);
    const v = await p.execute(() => {
      order.push('call');
      throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    });
    // The breaker opens on the first failure; the retry then meets the open breaker and gives up
    // (dependency errors are not retried); the fallback answers.
    expect(order).toEqual(['call', 'open', 'retry']);
    expect(v).toBeNull();
    expectTypeOf(v).toEqualTypeOf<null>();
    const w = await wrap(fallback({ value: 0 }), retry()).execute(async () => 'text');
    expectTypeOf(w).toEqualTypeOf<string | number>();
    const plain = await wrap(retry(), b)
      .execute(() => 1 as const)
      .catch(() => 1 as const);
    expectTypeOf(plain).toEqualTypeOf<1>();
  });

  it('composes any number of policies, nested wraps included, and wrap() of nothing just runs', async () => {
    const inner = wrap(retry({ maxAttempts: 3, backoff: { delayMs: 0 } }), bulkhead(5));
    const outer = wrap(fallback({ value: 'fb' }), inner, circuitBreaker({ consecutiveFailures: 10 }));
    expect(outer.chain).toHaveLength(4);
    let n = 0;
    await expect(
      outer.execute(({ attempt }) => {
        n++;
        if (attempt < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        return attempt;
      }),
    ).resolves.toBe(3);
    expect(n).toBe(3);
    await expect(wrap().execute(({ attempt }) => attempt)).resolves.toBe(1);
  });

  it('passes foreign thenables through as promises', async () => {
    const thenable = { then: (resolve: (v: string) => void) => resolve('thenable') } as PromiseLike<string>;
    await expect(wrap(retry(), circuitBreaker()).execute(() => thenable)).resolves.toBe('thenable');
  });
});
