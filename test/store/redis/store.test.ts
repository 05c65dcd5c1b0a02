/** Redis-specific behaviour beyond the conformance suite: options, keys, wake-ups, warnings, close. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../../src/index.js';
import { redisStore, type RedisStore } from '../../../src/store/redis/index.js';
import { REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import { deletePrefix, freshPrefix } from '../../helpers/redis.js';
import { hasRedisServer, ownRedis, type OwnRedis } from '../../helpers/redis-server.js';

describe('redis store options', () => {
  it('rejects bad options with a ValidationError naming the field', () => {
    const client = new Redis({ lazyConnect: true });
    try {
      for (const [options, path] of [
        [{ prefix: '{x}' }, /prefix/],
        [{ prefix: '' }, /prefix/],
        [{ url: 'http://127.0.0.1:6379' }, /url/],
        [{ url: 'redis://127.0.0.1:6379/abc' }, /url/],
        [{ url: 'redis://127.0.0.1:6379/1/2' }, /url/],
        [{ commandTimeoutMs: 0 }, /commandTimeoutMs/],
        [{ maxPayloadBytes: 0 }, /maxPayloadBytes/],
        [{ client: {} }, /client/],
        [{ url: REDIS_URL, client }, /options/],
        [{ nope: 1 }, /options/],
      ] as const) {
        let err: { code?: string; path?: string; message?: string } | undefined;
        try {
          redisStore(options as never);
        } catch (e) {
          err = e as typeof err;
        }
        expect(err?.code, JSON.stringify(Object.keys(options))).toBe('VALIDATION');
        expect(err!.message).toMatch(/^\[bulwark\]/);
        expect(err!.path).toMatch(path);
      }
    } finally {
      client.disconnect();
    }
  });
});

const shared = await serviceAvailable('redis');

describe.skipIf(!shared)('redis store on the shared server', () => {
  const prefix = freshPrefix('store');
  let a: RedisStore;
  let b: RedisStore;

  beforeAll(async () => {
    a = redisStore({ url: REDIS_URL, prefix });
    b = redisStore({ url: REDIS_URL, prefix });
    await Promise.all([a.init(), b.init()]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await deletePrefix(prefix);
  });

  it('keeps every key of a queue under one hash tag (one cluster slot), besides the queue registry', async () => {
    const q = new Queue<number>('tagged', { store: a });
    await q.addBulk([1, 2, 3].map((payload) => ({ payload })));
    await q.add(4, { delayMs: 60_000 });
    const [j1, j2] = await a.claim({
      queue: 'tagged',
      workerId: 'w',
      limit: 2,
      leaseMs: 1000,
      now: Date.now(),
    });
    await a.complete('tagged', [{ id: j1!.id, token: j1!.fence, result: null }], Date.now());
    const err = {
      attempt: 1,
      category: 'permanent' as const,
      action: 'dead' as const,
      name: 'E',
      message: 'm',
      at: 0,
    };
    await a.fail(
      'tagged',
      [{ id: j2!.id, token: j2!.fence, store: 'dead', runAt: 0, error: err }],
      Date.now(),
    );
    await q.pause('x');
    await q.cancel((await q.peek(1))[0]!.id);
    const r = new Redis(REDIS_URL);
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await r.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      expect(keys.length).toBeGreaterThan(8);
      for (const k of keys) {
        if (k === `${prefix}:queues`) continue;
        expect(k.startsWith(`{${prefix}:tagged}:`), k).toBe(true);
      }
    } finally {
      r.disconnect();
    }
  });

  it('wakes a subscriber in another connection at once when a job becomes ready', async () => {
    let woken = 0;
    const stop = a.subscribe('wake', () => woken++);
    try {
      // The blocking connection reports itself ready once: start from after that.
      await waitFor(() => woken > 0 || null, 'subscription connected', 5000).catch(() => null);
      const before = woken;
      await new Queue('wake', { store: b }).add('x');
      await waitFor(() => woken > before, 'wake-up from the marker list');
      // A delayed job that is now the earliest wakes sleepers too (their timer was set for later).
      const mid = woken;
      await new Queue('wake', { store: b }).add('later', { delayMs: 60_000 });
      await waitFor(() => woken > mid, 'wake-up for a new earliest delayed job');
    } finally {
      stop();
    }
  });

  it('refuses a payload over the store limit and writes nothing', async () => {
    const small = redisStore({ url: REDIS_URL, prefix, maxPayloadBytes: 1024 });
    try {
      const q = new Queue<string>('limited', { store: small });
      expect(q.maxPayloadBytes).toBe(1024);
      await expect(q.add('x'.repeat(2000))).rejects.toMatchObject({ code: 'VALIDATION' });
      expect(await q.size()).toBe(0);
    } finally {
      await small.close();
    }
  });

  it('works on a connection you own, and leaves it open on close', async () => {
    const client = new Redis(REDIS_URL);
    const mine = redisStore({ client, prefix });
    const q = new Queue<number>('owned', { store: mine });
    await mine.init();
    await q.add(1, { id: 'one' });
    expect((await q.getJob('one'))!.payload).toBe(1);
    await mine.close();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});

describe.skipIf(!hasRedisServer())('redis store against its own server', () => {
  let server: OwnRedis;
  beforeAll(async () => {
    server = await ownRedis();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('a database the server does not have is an error at init, not a silent database 0', async () => {
    const store = redisStore({ url: `${server.url}/99`, prefix: 'dbcheck' });
    try {
      await expect(store.init()).rejects.toMatchObject({
        code: 'STORE',
        message: expect.stringMatching(/select database 99.*DB index is out of range/),
      });
      const admin = new Redis(server.url);
      expect(await admin.keys('dbcheck*')).toEqual([]);
      admin.disconnect();
    } finally {
      await store.close();
    }
    const five = redisStore({ url: `${server.url}/5`, prefix: 'db5' });
    await new Queue('q', { store: five }).add({ n: 1 }, { id: 'j' });
    const admin = new Redis(`${server.url}/5`);
    expect((await admin.keys('db5*')).length).toBeGreaterThan(0);
    admin.disconnect();
    await five.close();
  });

  it('a command while the server is down fails with a StoreError instead of waiting for it', async () => {
    const down = await ownRedis();
    const store = redisStore({ url: down.url, prefix: 'down' });
    try {
      const queue = new Queue('q', { store });
      await queue.add({ n: 1 }, { id: 'a' });
      await down.stop('SIGKILL');
      await expect(queue.counts()).rejects.toMatchObject({ code: 'STORE' });
      await expect(queue.add({ n: 2 }, { id: 'b' })).rejects.toMatchObject({ code: 'STORE' });
      await down.start();
      await waitFor(
        async () => (await queue.counts().catch(() => null)) !== null,
        'the store to answer again',
      );
    } finally {
      await store.close();
      await down.destroy();
    }
  });

  it('warns at startup when maxmemory-policy may evict jobs', async () => {
    const admin = new Redis(server.url);
    try {
      const check = async (): Promise<string[]> => {
        const warnings: string[] = [];
        const store = redisStore({
          url: server.url,
          logger: { warn: (_o, msg) => warnings.push(msg ?? '') },
        });
        await store.init();
        await store.close();
        return warnings;
      };
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const warned = await check();
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(/maxmemory-policy is "allkeys-lru".*noeviction/);
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      expect(await check()).toEqual([]);
    } finally {
      admin.disconnect();
    }
  });

  it('starts without a warning when CONFIG is refused', async () => {
    const locked = await ownRedis(undefined, ['--rename-command', 'CONFIG', '']);
    try {
      const warnings: string[] = [];
      const store = redisStore({ url: locked.url, logger: { warn: (_o, msg) => warnings.push(msg ?? '') } });
      await store.init();
      expect(await store.queues()).toEqual([]);
      await store.close();
      expect(warnings).toEqual([]);
    } finally {
      await locked.destroy();
    }
  });

  it('a worker closes within its grace and settle bounds when Redis goes down mid-run', async () => {
    const store = redisStore({ url: server.url, prefix: 'down', closeTimeoutMs: 100 });
    const queue = new Queue<number>('down', { store });
    await queue.addBulk(Array.from({ length: 20 }, (_, i) => ({ payload: i })));
    let started = 0;
    const worker = new Worker(
      queue,
      async () => {
        started++;
        await new Promise((r) => setTimeout(r, 100));
      },
      { concurrency: 5, settleTimeoutMs: 300, pollIntervalMs: 50 },
    );
    await waitFor(() => started >= 5, 'jobs running');
    await server.stop('SIGKILL');
    const t0 = Date.now();
    const result = await worker.close({ graceMs: 200 });
    const tookMs = Date.now() - t0;
    await store.close();
    await server.start();
    // Before, close() took about 37 s whatever graceMs said: ioredis held the writes while reconnecting.
    expect(tookMs).toBeLessThan(10_000);
    expect(result.unwritten).toBeGreaterThan(0);
  });

  it('close() resolves when Redis is unreachable, and fails what was waiting', async () => {
    const nobody = redisStore({ url: 'redis://127.0.0.1:1', closeTimeoutMs: 100 });
    await expect(nobody.init()).rejects.toMatchObject({ code: 'STORE' });
    await nobody.close();

    const store = redisStore({ url: server.url, prefix: 'gone', closeTimeoutMs: 100 });
    await store.init();
    const stop = store.subscribe('q', () => {});
    await server.stop('SIGKILL');
    const pending = store.getJob('q', 'x');
    pending.catch(() => {});
    await store.close();
    await expect(pending).rejects.toMatchObject({ code: 'STORE' });
    stop();
    await expect(store.getJob('q', 'x')).rejects.toMatchObject({ code: 'STORE' });
    await server.start();
  });
});
