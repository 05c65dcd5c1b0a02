import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { ValidationError } from '../../src/kernel/errors.js';
import { Cache } from '../../src/cache/cache.js';
import { memoize } from '../../src/cache/memoize.js';
import type { LoadContext } from '../../src/cache/types.js';
import { deferred, type Deferred } from './helpers/deferred.js';

/** Lets pending promise callbacks run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('getOrLoad', () => {
  it('loads once for concurrent misses (single flight) and caches the value', async () => {
    const cache = new Cache<string, string>();
    const d = deferred<string>();
    let calls = 0;
    const loader = (key: string): Promise<string> => {
      calls++;
      expect(key).toBe('k');
      return d.promise;
    };
    const waiting = Array.from({ length: 20 }, () => cache.getOrLoad('k', loader));
    expect(cache.isLoading('k')).toBe(true);
    expect(cache.get('k')).toBeUndefined();
    d.resolve('value');
    expect(await Promise.all(waiting)).toEqual(Array(20).fill('value'));
    expect(calls).toBe(1);
    expect(cache.isLoading('k')).toBe(false);
    expect(cache.get('k')).toBe('value');
    expect(await cache.getOrLoad('k', loader)).toBe('value');
    expect(calls).toBe(1);
    const s = cache.stats();
    expect(s.loadSuccesses).toBe(1);
    expect(s.loadFailures).toBe(0);
  });

  it('shares a failure, caches nothing, and loads again on the next call', async () => {
    const cache = new Cache<string, number>();
    let calls = 0;
    const failing = (): Promise<number> => {
      calls++;
      return Promise.reject(new Error('upstream down'));
    };
    const results = await Promise.allSettled([cache.getOrLoad('k', failing), cache.getOrLoad('k', failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(1);
    expect(cache.has('k')).toBe(false);
    expect(await cache.getOrLoad('k', () => 7)).toBe(7); // a sync loader is fine too
    expect(cache.stats()).toMatchObject({ loadSuccesses: 1, loadFailures: 1 });
  });

  it('measures load time with the cache clock', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number>({ clock });
    await cache.getOrLoad('k', async () => {
      clock.advance(25);
      await settle();
      return 1;
    });
    expect(cache.stats().loadTimeMs).toBe(25);
  });

  it('stores with the per-call TTL and passes the loader a signal', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, number>({ clock, ttlMs: 1_000 });
    let context: LoadContext<number> | undefined;
    await cache.getOrLoad(
      'k',
      (_k, ctx) => {
        context = ctx;
        return 1;
      },
      { ttlMs: 10 },
    );
    expect(context?.signal).toBeInstanceOf(AbortSignal);
    expect(context?.staleValue).toBeUndefined();
    expect(cache.info('k')?.expiresAtMs).toBe(10);
  });

  it('a caller whose signal aborts stops waiting; the load goes on for the others', async () => {
    const cache = new Cache<string, string>();
    const d = deferred<string>();
    let loaderSignal: AbortSignal | undefined;
    const loader = (_k: string, ctx: LoadContext<string>): Promise<string> => {
      loaderSignal = ctx.signal;
      return d.promise;
    };
    const ac = new AbortController();
    const quitter = cache.getOrLoad('k', loader, { signal: ac.signal });
    const stayer = cache.getOrLoad('k', loader);
    ac.abort(new Error('caller gave up'));
    await expect(quitter).rejects.toThrow('caller gave up');
    expect(loaderSignal?.aborted).toBe(false);
    d.resolve('v');
    expect(await stayer).toBe('v');
    expect(cache.get('k')).toBe('v');
  });

  it('when every caller aborts, the loader is aborted and its result is not stored', async () => {
    const cache = new Cache<string, string>();
    const d = deferred<string>();
    let loaderSignal: AbortSignal | undefined;
    const a = new AbortController();
    const b = new AbortController();
    const loader = (_k: string, ctx: LoadContext<string>): Promise<string> => {
      loaderSignal = ctx.signal;
      return d.promise;
    };
    const pa = cache.getOrLoad('k', loader, { signal: a.signal });
    const pb = cache.getOrLoad('k', loader, { signal: b.signal });
    a.abort(new Error('a'));
    expect(loaderSignal?.aborted).toBe(false);
    b.abort(new Error('b'));
    expect(loaderSignal?.aborted).toBe(true);
    expect(cache.isLoading('k')).toBe(false);
    await expect(pa).rejects.toThrow('a');
    await expect(pb).rejects.toThrow('b');
    d.resolve('late');
    await settle();
    expect(cache.has('k')).toBe(false);
    // an already aborted signal rejects at once without loading
    const done = new AbortController();
    done.abort(new Error('already'));
    await expect(cache.getOrLoad('k', () => 'x', { signal: done.signal })).rejects.toThrow('already');
    expect(cache.has('k')).toBe(false);
  });

  it('a set or delete during a load wins over the loaded value', async () => {
    const cache = new Cache<string, string>();
    const d = deferred<string>();
    const p = cache.getOrLoad('k', () => d.promise);
    cache.set('k', 'explicit');
    d.resolve('loaded');
    expect(await p).toBe('loaded'); // the callers get their value…
    expect(cache.get('k')).toBe('explicit'); // …but the explicit set stays
  });

  it('serves the stale value while one background load refreshes it (stale-while-revalidate)', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ clock, ttlMs: 100, staleWhileRevalidateMs: 50 });
    cache.set('k', 'v1');
    clock.advance(120); // expired, within the stale window
    expect(cache.get('k')).toBeUndefined(); // a plain get never serves stale
    const d = deferred<string>();
    let calls = 0;
    const stale: (string | undefined)[] = [];
    const loader = (_k: string, ctx: LoadContext<string>): Promise<string> => {
      calls++;
      stale.push(ctx.staleValue);
      return d.promise;
    };
    expect(await cache.getOrLoad('k', loader)).toBe('v1');
    expect(await cache.getOrLoad('k', loader)).toBe('v1');
    expect(calls).toBe(1);
    expect(stale).toEqual(['v1']);
    expect(cache.isLoading('k')).toBe(true);
    d.resolve('v2');
    await settle();
    expect(cache.get('k')).toBe('v2');
    expect(cache.info('k')?.expiresAtMs).toBe(220);
    expect(cache.stats().staleHits).toBe(2);
  });

  it('past the stale window, it waits for a fresh load', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ clock, ttlMs: 100, staleWhileRevalidateMs: 50 });
    cache.set('k', 'v1');
    clock.advance(150);
    expect(await cache.getOrLoad('k', () => 'v2')).toBe('v2');
  });

  it('a failed background refresh keeps the stale value and is counted', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ clock, ttlMs: 100, staleWhileRevalidateMs: 50 });
    cache.set('k', 'v1');
    clock.advance(110);
    expect(await cache.getOrLoad('k', () => Promise.reject(new Error('down')))).toBe('v1');
    await settle();
    expect(cache.stats().loadFailures).toBe(1);
    expect(cache.isLoading('k')).toBe(false);
    expect(await cache.getOrLoad('k', () => 'v2')).toBe('v1'); // still stale: a new refresh starts
    await settle();
    expect(cache.get('k')).toBe('v2');
  });

  it('serves the stale value when the load fails (stale-if-error), within its window only', async () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ clock, ttlMs: 100, staleIfErrorMs: 1_000 });
    cache.set('k', 'v1');
    clock.advance(500);
    const fail = (): Promise<string> => Promise.reject(new Error('down'));
    expect(await cache.getOrLoad('k', fail)).toBe('v1');
    expect(cache.getStale('k')).toBe('v1');
    expect(cache.peek('k')).toBeUndefined();
    // A successful load replaces it.
    expect(await cache.getOrLoad('k', () => 'v2')).toBe('v2');
    clock.advance(100 + 1_000);
    await expect(cache.getOrLoad('k', fail)).rejects.toThrow('down');
    expect(cache.getStale('k')).toBeUndefined();
    expect(cache.stats().loadFailures).toBe(2);
  });

  it('retains expired entries for the stale windows, then sweeps them', () => {
    const clock = new ManualClock();
    const cache = new Cache<string, string>({ clock, ttlMs: 10, staleIfErrorMs: 100 });
    cache.set('k', 'v');
    clock.advance(50);
    expect(cache.cleanupExpired()).toBe(0);
    expect(cache.info('k')).toMatchObject({ stale: true });
    clock.advance(60);
    expect(cache.cleanupExpired()).toBe(1);
    expect(cache.info('k')).toBeUndefined();
  });

  it('rejects bad input with a ValidationError', async () => {
    const cache = new Cache<string, number>();
    await expect(cache.getOrLoad('k', 'nope' as unknown as () => number)).rejects.toThrow(ValidationError);
    await expect(cache.getOrLoad('k', () => 1, { ttlMs: -1 })).rejects.toThrow(ValidationError);
    await expect(cache.getOrLoad('k', () => 1, { signal: {} as AbortSignal })).rejects.toThrow(
      ValidationError,
    );
    await expect(cache.getOrLoad('k', () => undefined as unknown as number)).rejects.toThrow(ValidationError);
    expect(cache.size).toBe(0);
  });

  it('a value too big to cache still reaches the callers', async () => {
    const cache = new Cache<string, string>({ maxBytes: 4, sizeOf: (v) => v.length });
    expect(await cache.getOrLoad('k', () => 'toolong')).toBe('toolong');
    expect(cache.has('k')).toBe(false);
  });
});

describe('memoize', () => {
  it('caches a sync function by argument, including undefined results', () => {
    let calls = 0;
    const square = memoize((n: number) => {
      calls++;
      return n * n;
    });
    expect(square(3)).toBe(9);
    expect(square(3)).toBe(9);
    expect(square(4)).toBe(16);
    expect(calls).toBe(2);
    let voidCalls = 0;
    const nothing = memoize((_s: string): undefined => {
      voidCalls++;
      return undefined;
    });
    expect(nothing('a')).toBeUndefined();
    expect(nothing('a')).toBeUndefined();
    expect(voidCalls).toBe(1);
    expect(square.cache.stats().hits).toBe(1);
  });

  it('keys several arguments by their JSON, or by a custom key function', () => {
    let calls = 0;
    const add = memoize((a: number, b: { c: number }) => {
      calls++;
      return a + b.c;
    });
    expect(add(1, { c: 2 })).toBe(3);
    expect(add(1, { c: 2 })).toBe(3);
    expect(add(2, { c: 1 })).toBe(3);
    expect(calls).toBe(2);
    let userCalls = 0;
    const load = memoize(
      (user: { id: number; name: string }) => {
        userCalls++;
        return user.name.toUpperCase();
      },
      { key: (user) => user.id },
    );
    expect(load({ id: 1, name: 'ann' })).toBe('ANN');
    expect(load({ id: 1, name: 'changed' })).toBe('ANN');
    expect(userCalls).toBe(1);
    expect(load.cache.has(1)).toBe(true);
  });

  it('expires results after ttlMs', () => {
    const clock = new ManualClock();
    let calls = 0;
    const f = memoize(
      (s: string) => {
        calls++;
        return `${s}${calls}`;
      },
      { ttlMs: 10, clock },
    );
    expect(f('a')).toBe('a1');
    clock.advance(9);
    expect(f('a')).toBe('a1');
    clock.advance(1);
    expect(f('a')).toBe('a2');
  });

  it('shares one call among concurrent async calls and does not cache rejections', async () => {
    let calls = 0;
    const gates: Deferred<string>[] = [];
    const fetchUser = memoize(async (id: number): Promise<string> => {
      calls++;
      const d = deferred<string>();
      gates.push(d);
      return d.promise.then((v) => `${v}${id}`);
    });
    const a = fetchUser(1);
    const b = fetchUser(1);
    expect(calls).toBe(1);
    gates[0]!.resolve('user');
    expect(await a).toBe('user1');
    expect(await b).toBe('user1');
    const c = fetchUser(1);
    expect(c).toBeInstanceOf(Promise); // a hit still returns a promise
    expect(await c).toBe('user1');
    expect(calls).toBe(1);
    const failing = fetchUser(2);
    gates[1]!.reject(new Error('nope'));
    await expect(failing).rejects.toThrow('nope');
    const retry = fetchUser(2);
    expect(calls).toBe(3);
    gates[2]!.resolve('ok');
    expect(await retry).toBe('ok2');
  });

  it('can share an existing cache, and validates its input', () => {
    const cache = new Cache<unknown, unknown>({ maxEntries: 5 });
    const f = memoize((x: number) => x + 1, { cache });
    f(1);
    expect(cache.get(1)).toBe(2);
    expect(f.cache).toBe(cache);
    expect(() => memoize('x' as unknown as () => 1)).toThrow(ValidationError);
    expect(() => memoize((x: number) => x, { key: 3 as unknown as () => 1 })).toThrow(ValidationError);
    expect(() => memoize((x: number) => x, { cache, maxEntries: 3 })).toThrow(ValidationError);
    expect(() => memoize((x: number) => x, { maxEntries: -3 })).toThrow(ValidationError);
  });
});
