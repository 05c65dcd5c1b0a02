/** The shared tier against the real Redis: two instances stand for two processes. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { createSharedCache, type SharedCache, type SharedCacheOptions } from '../../src/cache/index.js';
import { REDIS_URL, serviceAvailable } from '../helpers/services.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { deletePrefix, freshPrefix } from '../helpers/redis.js';
import { cutProxy } from './helpers/proxy.js';
import { deferred } from './helpers/deferred.js';

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const address = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return typeof address === 'object' && address !== null ? address.port : 1;
}

describe('shared cache options', () => {
  it('rejects bad options and keys with a ValidationError naming the field', async () => {
    for (const [options, path] of [
      [{ name: 'a b' }, /name/],
      [{ url: 'http://x' }, /url/],
      [{ redis: {} }, /redis/],
      [{ url: REDIS_URL, redis: new Redis({ lazyConnect: true }) }, /url/],
      [{ ttlMs: 0 }, /ttlMs/],
      [{ lockMs: 1 }, /lockMs/],
      [{ l1: { ttlMs: 5 } }, /l1\.ttlMs/],
      [{ nope: 1 }, /options/],
    ] as const) {
      let err: { code?: string; path?: string; message?: string } | undefined;
      try {
        createSharedCache(options as SharedCacheOptions<unknown>);
      } catch (e) {
        err = e as typeof err;
      }
      expect(err?.code, JSON.stringify(Object.keys(options))).toBe('VALIDATION');
      expect(err!.message).toMatch(/^\[bulwark\]/);
      expect(err!.path).toMatch(path);
      const r = (options as { redis?: unknown }).redis;
      if (r instanceof Redis) r.disconnect();
    }
    const cache = createSharedCache<number>({ url: `redis://127.0.0.1:${await deadPort()}` });
    await expect(cache.get(1 as unknown as string)).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(cache.set('k', undefined as unknown as number)).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await expect(cache.set('k', 1, { ttlMs: -1 })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(cache.getOrLoad('k', 'x' as never)).rejects.toMatchObject({ code: 'VALIDATION' });
    await cache.close();
  });
});

describe('shared cache when Redis cannot be reached', () => {
  it('serves from L1, counts the errors and never throws them', async () => {
    const errors: string[] = [];
    const cache = createSharedCache<string>({
      url: `redis://127.0.0.1:${await deadPort()}`,
      redisTimeoutMs: 200,
      onError: (_e, operation) => errors.push(operation),
    });
    await cache.set('a', 'A');
    expect(await cache.get('a')).toBe('A');
    expect(await cache.get('missing')).toBeUndefined();
    let loads = 0;
    expect(await cache.getOrLoad('b', () => (loads++, 'B'))).toBe('B');
    expect(await cache.getOrLoad('b', () => (loads++, 'B2'))).toBe('B');
    expect(loads).toBe(1);
    expect(await cache.delete('a')).toBe(true);
    const s = cache.stats();
    expect(s.l2.errors).toBeGreaterThan(0);
    expect(s.l2.errors).toBe(errors.length);
    expect(s.l1.hits).toBeGreaterThan(0);
    expect(s.loads.successes).toBe(1);
    await cache.close();
  });
});

const available = await serviceAvailable('redis');

describe.skipIf(!available)('shared cache on Redis', () => {
  const prefix = freshPrefix('cache');
  const keyPrefix = `${prefix}:`;
  const open: SharedCache<unknown>[] = [];
  let raw: Redis;
  const make = <V>(options: SharedCacheOptions<V> = {}): SharedCache<V> => {
    const c = createSharedCache<V>({ ...(options.redis ? {} : { url: REDIS_URL }), keyPrefix, ...options });
    open.push(c as SharedCache<unknown>);
    return c;
  };
  /** Two caches of the same name: two processes sharing one Redis. */
  const pair = <V>(options: SharedCacheOptions<V> = {}): [SharedCache<V>, SharedCache<V>] => {
    const name = `n${Math.random().toString(36).slice(2, 8)}`;
    return [make<V>({ name, ...options }), make<V>({ name, ...options })];
  };

  beforeAll(() => {
    raw = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const c of open) await c.close();
    raw.disconnect();
    await deletePrefix(prefix);
  });

  it('shares values, and a set or delete in one process drops the L1 copy in the others', async () => {
    const [a, b] = pair<{ n: number }>();
    expect(await b.get('k')).toBeUndefined(); // opens b's subscription
    await a.set('k', { n: 1 });
    // A read under way when an invalidation of its key arrives is not kept in L1 (it may be the old
    // value); wait for this one to arrive first.
    await waitFor(() => b.stats().invalidations.received > 0, 'the first invalidation');
    expect(await b.get('k')).toEqual({ n: 1 }); // from Redis, now in b's L1
    expect(b.local.peek('k')).toEqual({ n: 1 });
    const before = b.stats().invalidations.received;
    await a.set('k', { n: 2 });
    await waitFor(() => b.stats().invalidations.received > before, 'the invalidation');
    expect(b.local.peek('k')).toBeUndefined();
    expect(await b.get('k')).toEqual({ n: 2 });
    await a.delete('k');
    await waitFor(() => b.local.peek('k') === undefined, 'the delete to reach b');
    expect(await b.get('k')).toBeUndefined();
    const s = b.stats();
    expect(s.l2.hits).toBe(2);
    expect(s.l2.misses).toBeGreaterThanOrEqual(2);
    expect(s.l2.errors).toBe(0);
    expect(a.stats().invalidations.sent).toBe(3);
  });

  it('applies the same TTL in both tiers: L1 keeps a value read from Redis for what is left of it', async () => {
    const [a, b] = pair<string>({ ttlMs: 60_000 });
    await a.set('short', 'v', { ttlMs: 5_000 });
    await a.set('default', 'v');
    expect(await raw.pttl(`${keyPrefix}${a.name}:v:short`)).toBeLessThanOrEqual(5_000);
    expect(await raw.pttl(`${keyPrefix}${a.name}:v:default`)).toBeGreaterThan(50_000);
    expect(await b.get('short')).toBe('v');
    const left = b.local.info('short')!.expiresAtMs - Date.now();
    expect(left).toBeLessThanOrEqual(5_000);
    expect(left).toBeGreaterThan(1_000);
    await a.set('forever', 'v', { ttlMs: Infinity });
    expect(await raw.pttl(`${keyPrefix}${a.name}:v:forever`)).toBe(-1);
    expect(await b.get('forever')).toBe('v');
    expect(b.local.info('forever')!.expiresAtMs).toBe(Infinity);
  });

  it('loads a key once across processes (a lock in Redis); the others wait and read the value', async () => {
    const [a, b] = pair<string>();
    const gate = deferred<string>();
    let calls = 0;
    const loader = (): Promise<string> => {
      calls++;
      return gate.promise;
    };
    const first = a.getOrLoad('k', loader);
    await waitFor(async () => (await raw.exists(`${keyPrefix}${a.name}:l:k`)) === 1, 'the lock');
    const others = [b.getOrLoad('k', loader), b.getOrLoad('k', loader), a.getOrLoad('k', loader)];
    await waitFor(() => b.stats().loads.waits > 0, 'b to wait for a');
    gate.resolve('loaded');
    expect(await Promise.all([first, ...others])).toEqual(['loaded', 'loaded', 'loaded', 'loaded']);
    expect(calls).toBe(1);
    expect(a.stats().loads.successes).toBe(1);
    expect(b.stats().loads.successes).toBe(0);
    expect(await raw.exists(`${keyPrefix}${a.name}:l:k`)).toBe(0);
    expect(b.local.peek('k')).toBe('loaded');
  });

  it('loads elsewhere when the holder fails or its lock lapses', async () => {
    const [a, b] = pair<string>({ lockMs: 300, pollMs: 20 });
    // The holder fails: the lock goes at once and the waiter loads.
    const gate = deferred<string>();
    const failing = a.getOrLoad('k', () => gate.promise);
    await waitFor(async () => (await raw.exists(`${keyPrefix}${a.name}:l:k`)) === 1, 'the lock');
    const waiting = b.getOrLoad('k', () => 'from b');
    await waitFor(() => b.stats().loads.waits > 0, 'b to wait');
    gate.reject(new Error('upstream down'));
    await expect(failing).rejects.toThrow('upstream down');
    expect(await waiting).toBe('from b');
    // A holder that died: its lock lapses after lockMs and the waiter loads.
    await raw.set(`${keyPrefix}${a.name}:l:gone`, 'dead-holder', 'PX', 300);
    expect(await b.getOrLoad('gone', () => 'after the lapse')).toBe('after the lapse');
    expect(b.stats().loads.successes).toBe(2);
  });

  it('lets a caller stop waiting (signal) while the load goes on for the others', async () => {
    const [a] = pair<string>();
    const gate = deferred<string>();
    const controller = new AbortController();
    const giveUp = a.getOrLoad('k', () => gate.promise, { signal: controller.signal });
    const stays = a.getOrLoad('k', () => gate.promise);
    controller.abort(new Error('caller gave up'));
    await expect(giveUp).rejects.toThrow('caller gave up');
    gate.resolve('v');
    expect(await stays).toBe('v');
  });

  it('clears both tiers everywhere', async () => {
    const [a, b] = pair<number>();
    await b.get('x');
    await a.set('x', 1);
    await a.set('y', 2);
    expect(await b.get('x')).toBe(1);
    const before = b.stats().invalidations.received;
    await a.clear();
    await waitFor(() => b.stats().invalidations.received > before, 'the clear');
    expect(b.local.size).toBe(0);
    expect(await b.get('x')).toBeUndefined();
    expect(await b.get('y')).toBeUndefined();
  });

  it('takes your own ioredis connection and leaves it open at close', async () => {
    const client = new Redis(REDIS_URL);
    const [a, b] = [
      make<string>({ name: 'own', redis: client }),
      make<string>({ name: 'own', redis: client }),
    ];
    await a.set('k', 'v');
    expect(await b.get('k')).toBe('v');
    await a.close();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('keeps serving L1 while Redis is away, counts the errors, and empties L1 when it comes back', async () => {
    const proxy = await cutProxy(REDIS_URL);
    const name = `cut${Math.random().toString(36).slice(2, 8)}`;
    const errors: string[] = [];
    const cache = make<string>({
      name,
      url: proxy.url,
      redisTimeoutMs: 300,
      onError: (_e, op) => errors.push(op),
    });
    const other = make<string>({ name });
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    await proxy.cut();
    expect(await cache.get('k')).toBe('v'); // L1
    expect(await cache.get('other')).toBeUndefined(); // L2 unreachable: a miss, not an error
    expect(await cache.getOrLoad('loaded', () => 'here')).toBe('here');
    await cache.set('k2', 'v2');
    expect(cache.stats().l2.errors).toBeGreaterThan(0);
    expect(errors.length).toBe(cache.stats().l2.errors);
    // Meanwhile another process changes 'k'; the broadcast cannot reach this one.
    await other.set('k', 'changed');
    await proxy.restore();
    await waitFor(() => cache.stats().invalidations.resets > 0, 'the resubscription', 15_000);
    expect(cache.local.peek('k')).toBeUndefined(); // the stale copy is gone
    await waitFor(async () => (await cache.get('k')) === 'changed', 'the new value', 15_000);
    await proxy.close();
  });
});

describe.skipIf(!available)('shared cache when Redis comes up late', () => {
  const prefix = freshPrefix('cache-late');
  afterAll(() => deletePrefix(prefix));

  it('subscribes once Redis is there, and drops what L1 kept meanwhile', async () => {
    const proxy = await cutProxy(REDIS_URL);
    await proxy.cut();
    const options = { name: 'late', keyPrefix: `${prefix}:`, redisTimeoutMs: 300 };
    const late = createSharedCache<string>({ ...options, url: proxy.url });
    const other = createSharedCache<string>({ ...options, url: REDIS_URL });
    try {
      await late.set('k', 'local only'); // Redis unreachable: only this L1 has it
      expect(await late.get('k')).toBe('local only');
      expect(late.stats().l2.errors).toBeGreaterThan(0);
      await proxy.restore();
      await waitFor(() => late.stats().invalidations.resets > 0, 'the late subscription', 15_000);
      expect(late.local.peek('k')).toBeUndefined();
      await other.set('k', 'shared');
      await waitFor(async () => (await late.get('k')) === 'shared', 'the shared value', 15_000);
      const before = late.stats().invalidations.received;
      await other.set('k', 'changed');
      await waitFor(() => late.stats().invalidations.received > before, 'an invalidation', 15_000);
      expect(await late.get('k')).toBe('changed');
    } finally {
      await late.close();
      await other.close();
      await proxy.close();
    }
  });
});

describe('module weight', () => {
  it('the cache module imports ioredis only when a shared cache connects', async () => {
    const { readFileSync, readdirSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(join(import.meta.dirname, '../../src/cache'));
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      // Static value imports of ioredis (type-only imports are erased).
      expect(text, f).not.toMatch(/^import (?!type\b)[^;]*from 'ioredis'/m);
    }
    expect(readFileSync(join(import.meta.dirname, '../../src/cache/shared/client.ts'), 'utf8')).toMatch(
      /await import\('ioredis'\)/,
    );
    await sleep(0);
  });
});
