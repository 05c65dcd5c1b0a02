/**
 * Outside findings 4, 6 and 11 over real HTTP:
 * - the dead-letter rate comes from the store, so a fresh process (a new server, `bulwark health`'s
 *   dashboard) gives the same verdict as the one that ran the jobs, on every store;
 * - the overview and /healthz follow changes made by another process within `intervalMs`;
 * - with the store down (a private redis-server stopped), no request hangs: the API answers 503 with
 *   the store's error, /api/health and /healthz say UNHEALTHY, the live feed says hello.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, ValidationError, Worker, type Store } from '../../src/index.js';
import { redisStore } from '../../src/store/redis/index.js';
import { sqliteStore } from '../../src/store/sqlite/index.js';
import { createDashboard } from '../../src/dashboard/index.js';
import { startServer } from '../../src/server/index.js';
import { hasRedisServer, ownRedis, type OwnRedis } from '../helpers/redis-server.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { sseReader, storeCases } from './stores.js';

const cases = await storeCases('dash-verdict');
const groupCases = await storeCases('dash-groups');

interface Healthz {
  status: string;
  bulwark: { status: string; reasons: string[]; queues: { name: string; status: string }[] };
}

describe.each(cases)('verdict and freshness from the store on $name', (c) => {
  let store: Store;
  beforeAll(async () => {
    if (!c.available) return;
    store = c.create();
    // 100 jobs, half of them dead-lettered by a ValidationError, in "another process" (this store).
    const q = new Queue<{ n: number }>('deadrate', { store });
    await q.addBulk(Array.from({ length: 100 }, (_, n) => ({ payload: { n }, options: { id: `d${n}` } })));
    const w = new Worker(
      q,
      async (ctx) => {
        if (ctx.payload.n % 2 === 0) throw new ValidationError('bad input');
        return 'ok';
      },
      { concurrency: 8, pollIntervalMs: 20 },
    );
    await waitFor(async () => {
      const counts = await q.counts();
      return counts.completed + counts.dead === 100;
    }, 'the jobs to finish');
    await w.close();
    const calm = new Queue('calm', { store });
    await calm.add({ n: 1 }, { id: 'c1' });
  }, 60_000);
  afterAll(async () => {
    if (!c.available) return;
    await store?.close();
    await c.cleanup();
  });

  it.skipIf(!c.available)(
    'a fresh process: /healthz, /api/health and the CLI health dashboard say UNHEALTHY for 50% dead',
    async () => {
      const fresh = c.create();
      await using server = await startServer({ port: 0, store: fresh, intervalMs: 200 });
      try {
        const r = await fetch(`${server.url}/healthz`);
        expect(r.status).toBe(503);
        const body = (await r.json()) as Healthz;
        expect(body.status).toBe('fail');
        expect(body.bulwark.queues.find((q) => q.name === 'deadrate')!.status).toBe('UNHEALTHY');
        expect(body.bulwark.reasons).toContain(
          'queue deadrate: 50 of the last 100 finished jobs were dead-lettered',
        );
        const api = (await (await fetch(`${server.url}/api/health`)).json()) as {
          verdict: Healthz['bulwark'];
        };
        expect(api.verdict.status).toBe('UNHEALTHY');
        // What `bulwark health` builds: a dashboard over a store opened just now.
        const other = c.create();
        const d = createDashboard({ store: other });
        try {
          const v = await d.health();
          expect(v.status).toBe('UNHEALTHY');
          expect(v.queues.find((q) => q.name === 'deadrate')!.status).toBe('UNHEALTHY');
          expect(v.queues.find((q) => q.name === 'calm')!.status).toBe('UNKNOWN');
        } finally {
          d.close();
          await other.close();
        }
      } finally {
        await server.close();
        await fresh.close();
      }
    },
  );

  it.skipIf(!c.available)(
    'changes by another process show within intervalMs: counts, a pause and its lifting',
    async () => {
      const mine = c.create();
      await using server = await startServer({ port: 0, store: mine, intervalMs: 200 });
      try {
        type O = { at: number; stale: boolean; queues: { name: string; counts: { waiting: number } }[] };
        const overview = async () => (await (await fetch(`${server.url}/api/overview`)).json()) as O;
        const healthz = async () => (await (await fetch(`${server.url}/healthz`)).json()) as Healthz;
        const before = await overview();
        const waiting = before.queues.find((q) => q.name === 'calm')!.counts.waiting;
        const calm = new Queue('calm', { store }); // the other process
        await calm.add({ n: 2 }, { id: 'c2' });
        await calm.pause('cli: maintenance');
        await sleep(300); // idle for longer than intervalMs
        const after = await overview();
        expect(after.at).toBeGreaterThan(before.at);
        expect(after.stale).toBe(false);
        expect(after.queues.find((q) => q.name === 'calm')!.counts.waiting).toBe(waiting + 1);
        expect((await healthz()).bulwark.reasons).toContain(
          'queue calm: paused by an operator, from the CLI: maintenance',
        );
        await calm.resume();
        await sleep(300);
        expect((await healthz()).bulwark.reasons.join('\n')).not.toMatch(/queue calm: paused/);
      } finally {
        await server.close();
        await mine.close();
      }
    },
  );
});

describe.each(groupCases)('paused groups on $name (finding 5)', (c) => {
  afterAll(async () => {
    if (c.available) await c.cleanup();
  });
  it.skipIf(!c.available)(
    'a group paused by an auth failure shows in the overview, the verdict and the live feed',
    async () => {
      const store = c.create();
      await using server = await startServer({ port: 0, store, intervalMs: 200 });
      try {
        const tenants = new Queue('tenants', { store, groups: { concurrency: 2 } });
        await tenants.add({ n: 1 }, { id: 't1', group: 'acme' });
        await tenants.add({ n: 2 }, { id: 't2', group: 'globex' });
        const events = await fetch(`${server.url}/api/events?queue=tenants`);
        const sse = sseReader(events);
        await sse.next('hello');
        await tenants.pauseGroup('acme', 'auth: 401 token expired');
        type Q = { name: string; pausedGroups: { name: string; reason: string | null; by: string }[] };
        const changed = await sse.next<Q>('queue', (q) => q.name === 'tenants' && q.pausedGroups.length > 0);
        expect(changed.pausedGroups).toEqual([
          { name: 'acme', reason: 'auth: 401 token expired', by: 'a worker, after an auth failure' },
        ]);
        await sse.close();
        const overview = (await (await fetch(`${server.url}/api/overview`)).json()) as { queues: Q[] };
        expect(overview.queues.find((q) => q.name === 'tenants')!.pausedGroups).toHaveLength(1);
        const healthz = (await (await fetch(`${server.url}/healthz`)).json()) as Healthz;
        expect(healthz.bulwark.queues.find((q) => q.name === 'tenants')!.status).toBe('DEGRADED');
        expect(healthz.bulwark.reasons).toContain(
          'queue tenants: group acme paused by a worker, after an auth failure: 401 token expired',
        );
        await tenants.resumeGroup('acme');
        await sleep(300);
        const after = (await (await fetch(`${server.url}/api/overview`)).json()) as { queues: Q[] };
        expect(after.queues.find((q) => q.name === 'tenants')!.pausedGroups).toEqual([]);
        // A group throttled by a rate limit shows too, with its end (issue 15: paused and throttled groups).
        const until = Date.now() + 3_600_000;
        await tenants.throttleGroup('globex', until);
        await sleep(300);
        type T = { name: string; throttledGroups: { name: string; until: number }[] };
        const throttled = (await (await fetch(`${server.url}/api/overview`)).json()) as { queues: T[] };
        expect(throttled.queues.find((q) => q.name === 'tenants')!.throttledGroups).toEqual([
          { name: 'globex', until },
        ]);
      } finally {
        await server.close();
        await store.close();
      }
    },
  );
});

describe.skipIf(!hasRedisServer())('a store that does not answer (a stopped redis-server)', () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await ownRedis();
  }, 20_000);
  afterAll(async () => {
    await redis?.destroy();
  });

  it('no request hangs: 503 with the store error, UNHEALTHY health, a hello on the feed', async () => {
    const store = redisStore({ url: redis.url, prefix: 'down' });
    await new Queue('rq', { store }).add({ n: 1 }, { id: 'j1' });
    await using server = await startServer({ port: 0, store, intervalMs: 200, storeTimeoutMs: 500 });
    try {
      expect((await fetch(`${server.url}/api/queues/rq/jobs`)).status).toBe(200);
      await redis.stop('SIGKILL');
      await sleep(250); // older than intervalMs: every read below goes to the store
      for (const path of ['/api/queues/rq/jobs', '/api/queues/rq/jobs/j1']) {
        const r = await fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(10_000) });
        expect(r.status).toBe(503);
        const body = (await r.json()) as { error: string; code: string };
        expect(body.code).toBe('STORE');
        expect(body.error).toMatch(/the store is unavailable: .*redis/);
      }
      const health = (await (
        await fetch(`${server.url}/api/health`, { signal: AbortSignal.timeout(10_000) })
      ).json()) as { verdict: { status: string; reasons: string[] } };
      expect(health.verdict.status).toBe('UNHEALTHY');
      expect(health.verdict.reasons[0]).toMatch(/store .* is unreachable/);
      const healthz = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
      expect(healthz.status).toBe(503);
      const overview = (await (
        await fetch(`${server.url}/api/overview`, { signal: AbortSignal.timeout(10_000) })
      ).json()) as { stale: boolean; store: { error: string | null } };
      expect(overview).toMatchObject({ stale: true, store: { error: expect.any(String) } });
      const events = await fetch(`${server.url}/api/events?`, { signal: AbortSignal.timeout(10_000) });
      const sse = sseReader(events);
      const hello = await sse.next<{ overview: { store: { error: string | null } } }>(
        'hello',
        () => true,
        10_000,
      );
      expect(hello.overview.store.error).not.toBeNull();
      await sse.close();
    } finally {
      await server.close();
      await store.close().catch(() => undefined);
    }
  }, 60_000);

  it('a closed store: 503 with its error, not a 500', async () => {
    const store = sqliteStore({ path: ':memory:' });
    await new Queue('mail', { store }).add({ n: 1 }, { id: 'm1' });
    await using server = await startServer({ port: 0, store, intervalMs: 100 });
    expect((await fetch(`${server.url}/api/queues/mail/jobs/m1`)).status).toBe(200);
    await store.close();
    const r = await fetch(`${server.url}/api/queues/mail/jobs/m1`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: string }).error).toMatch(/the store is unavailable: .*closed/);
  });
});
