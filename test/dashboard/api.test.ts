/** The dashboard's JSON API and live feed over real HTTP, on SQLite, Postgres and Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { seed, type Seeded } from './seed.js';
import { sseReader, storeCases } from './stores.js';

const cases = await storeCases('dash-api');

describe.each(cases)('dashboard API on $name', (c) => {
  let store: Store;
  let server: RunningServer;
  let seeded: Seeded;
  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const r = await fetch(`${server.url}${path}`);
    return { status: r.status, body: (await r.json()) as T };
  };
  const post = async <T>(path: string, body: unknown = {}): Promise<{ status: number; body: T }> => {
    const r = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as T };
  };

  beforeAll(async () => {
    if (!c.available) return;
    store = c.create();
    seeded = await seed(store);
    server = await startServer({ port: 0, store, intervalMs: 150, storeLabel: `${c.name} test` });
  }, 60_000);
  afterAll(async () => {
    if (!c.available) return;
    await server?.close();
    await seeded?.close();
    await store?.close();
    await c.cleanup();
  });

  it.skipIf(!c.available)('overview: every queue with counts, and why it is not running', async () => {
    const { body } = await get<{
      queues: {
        name: string;
        state: string;
        pausedBy: string | null;
        why: string | null;
        counts: Record<string, number>;
      }[];
    }>('/api/overview');
    const byName = new Map(body.queues.map((q) => [q.name, q]));
    expect([...byName.keys()].sort()).toEqual(['crm-sync', 'emails', 'exports', 'reports', 'webhooks']);
    expect(byName.get('emails')!.counts).toMatchObject({
      completed: 48,
      dead: 12,
      delayed: 1,
      cancelled: 1,
      waiting: 1,
    });
    expect(byName.get('crm-sync')).toMatchObject({
      state: 'paused',
      pausedBy: 'a worker, after an auth failure',
    });
    expect(byName.get('exports')).toMatchObject({
      state: 'paused',
      pausedBy: 'an operator, from the dashboard',
    });
    expect(byName.get('webhooks')!.state).toBe('throttled');
    expect(byName.get('webhooks')!.why).toMatch(/throttled by a rate limit until/);
    expect(byName.get('reports')).toMatchObject({
      state: 'running',
      why: null,
      counts: expect.objectContaining({ active: 1 }),
    });
  });

  it.skipIf(!c.available)('health: the verdict with reasons per queue and dependency', async () => {
    const { body } = await get<{
      verdict: {
        status: string;
        reasons: string[];
        dependencies: { kind: string; name: string; status: string }[];
        queues: { name: string; status: string }[];
      };
      errors: { pattern: string; count: number; trend: string }[];
    }>('/api/health');
    expect(body.verdict.status).toBe('UNHEALTHY');
    expect(body.verdict.reasons[0]).toMatch(/queue crm-sync: paused by a worker, after an auth failure: 401/);
    expect(body.verdict.dependencies).toContainEqual(
      expect.objectContaining({ kind: 'store', name: `${c.name} test`, status: 'HEALTHY' }),
    );
    expect(body.verdict.queues.find((q) => q.name === 'exports')!.status).toBe('DEGRADED');
    // Top errors from the dead-letter queue, grouped by pattern, with a trend.
    expect(body.errors.map((e) => e.pattern).sort()).toEqual([
      'SMTP <n> try again later (<n>)',
      'mailbox user<n> does not exist',
    ]);
    expect(body.errors[0]).toMatchObject({ count: 6, trend: 'rising' });
  });

  it.skipIf(!c.available)('job list: pages, totals, filters by state, name, time and search', async () => {
    type Page = {
      jobs: { id: string; state: string; name: string | null; lastError: { category: string } | null }[];
      total: number | null;
      hasMore: boolean;
      offset: number;
    };
    const first = await get<Page>('/api/queues/emails/jobs?limit=20');
    expect(first.body).toMatchObject({ total: 63, hasMore: true, offset: 0 });
    expect(first.body.jobs).toHaveLength(20);
    const all: string[] = [];
    for (let offset = 0; ; offset += 20) {
      const p = await get<Page>(`/api/queues/emails/jobs?limit=20&offset=${offset}`);
      all.push(...p.body.jobs.map((j) => j.id));
      if (!p.body.hasMore) break;
    }
    expect(new Set(all).size).toBe(63);
    const dead = await get<Page>('/api/queues/emails/jobs?state=dead&limit=50');
    expect(dead.body.total).toBe(12);
    expect(dead.body.jobs.every((j) => j.state === 'dead' && j.lastError !== null)).toBe(true);
    const named = await get<Page>('/api/queues/emails/jobs?name=digest&limit=100');
    expect(named.body.jobs).toHaveLength(30);
    expect(named.body.jobs.every((j) => j.name === 'digest')).toBe(true);
    const future = await get<Page>(`/api/queues/emails/jobs?from=${Date.now() + 60_000}`);
    expect(future.body.jobs).toEqual([]);
    const window = await get<Page>(
      `/api/queues/emails/jobs?from=${Date.now() - 600_000}&to=${Date.now() + 1000}&limit=200`,
    );
    expect(window.body.jobs).toHaveLength(63);
    const search = await get<Page>('/api/queues/emails/jobs?search=user17%40example.com');
    expect(search.body.jobs.map((j) => j.id)).toEqual(['e017']);
    // An empty filter is no filter, as a plain form sends it.
    expect((await get<Page>('/api/queues/emails/jobs?state=&search=&limit=5')).body.jobs).toHaveLength(5);
  });

  it.skipIf(!c.available)(
    'one job: attempts with category, message and stack; progress; large values previewed',
    async () => {
      const { body: dead } = await get<{
        state: string;
        errors: { category: string; message: string; stack?: string; attempt: number }[];
      }>('/api/queues/emails/jobs/e017');
      expect(dead.state).toBe('dead');
      expect(dead.errors).toHaveLength(2);
      expect(dead.errors[1]).toMatchObject({
        attempt: 2,
        category: 'transient',
        message: 'SMTP 421 try again later (17)',
      });
      expect(dead.errors[1]!.stack).toMatch(/^Error: SMTP 421[^\n]*\n\s+at /);
      const { body: active } = await get<{ state: string; progress: unknown }>('/api/queues/reports/jobs/r1');
      expect(active).toMatchObject({ state: 'active', progress: { done: 12, total: 40 } });
      const { body: done } = await get<{ result: unknown; checkpoint: unknown }>(
        '/api/queues/emails/jobs/e000',
      );
      expect(done).toMatchObject({ result: { messageId: '<0@mail>' }, checkpoint: { sent: true } });
    },
  );

  it.skipIf(!c.available)(
    'actions: pause with a reason, resume, replay and purge one or many, cancel',
    async () => {
      expect((await post('/api/queues/emails/pause', { reason: 'smtp migration' })).status).toBe(200);
      const paused = (await get<{ pausedBy: string; pauseReason: string }>('/api/queues/emails')).body;
      expect(paused).toMatchObject({
        pausedBy: 'an operator, from the dashboard',
        pauseReason: 'dashboard: smtp migration',
      });
      expect((await post('/api/queues/emails/resume')).status).toBe(200);
      const resumed = (await get<{ pausedBy: string | null }>('/api/queues/emails')).body;
      expect(resumed.pausedBy).toBeNull();
      expect((await post<{ replayed: string[] }>('/api/queues/emails/jobs/e003/replay')).body).toEqual({
        replayed: ['e003'],
      });
      expect(
        (
          await post<{ replayed: string[] }>('/api/queues/emails/dlq/replay', { ids: ['e013', 'e023'] })
        ).body.replayed.sort(),
      ).toEqual(['e013', 'e023']);
      expect((await post<{ purged: number }>('/api/queues/emails/jobs/e033/purge')).body).toEqual({
        purged: 1,
      });
      expect(
        (await post<{ purged: number }>('/api/queues/emails/dlq/purge', { ids: ['e043', 'e000'] })).body,
      ).toEqual({ purged: 1 });
      expect((await post<{ cancelled: string[] }>('/api/queues/emails/jobs/later/cancel')).body).toEqual({
        cancelled: ['later'],
      });
      expect((await get<{ state: string }>('/api/queues/emails/jobs/e003')).body.state).toBe('waiting');
      expect((await get('/api/queues/emails/jobs/e033')).status).toBe(404);
      const bulk = await post<{ replayed: string[] }>('/api/queues/emails/dlq/replay');
      expect(bulk.body.replayed).toHaveLength(7);
      expect((await seeded.emails.counts()).dead).toBe(0);
    },
  );

  it.skipIf(!c.available)(
    'live feed: hello, then discrete events for counts, pauses, jobs and a watched job',
    async () => {
      const res = await fetch(`${server.url}/api/events?queue=webhooks&job=w1`);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const sse = sseReader(res);
      const hello = await sse.next<{ overview: { queues: unknown[] }; health: { status: string } }>('hello');
      expect(hello.overview.queues).toHaveLength(5);
      const webhooks = new (await import('../../src/index.js')).Queue('webhooks', { store });
      await webhooks.add({ url: 'https://example.com/2' }, { id: 'w2' });
      await sse.next<{ name: string; counts: { waiting: number } }>(
        'queue',
        (q) => q.name === 'webhooks' && q.counts.waiting === 2,
      );
      await post('/api/queues/webhooks/pause', { reason: 'vendor outage' });
      expect(await sse.next<{ name: string; by: string }>('queue:paused')).toMatchObject({
        name: 'webhooks',
        by: 'an operator, from the dashboard',
      });
      await post('/api/queues/webhooks/jobs/w2/cancel');
      expect(await sse.next<{ id: string; state: string }>('job', (j) => j.id === 'w2')).toMatchObject({
        state: 'cancelled',
      });
      // The watched job changes in the store (as another process would do it): the stream says so.
      await webhooks.cancel('w1', 'not needed');
      expect(await sse.next<{ id: string; state: string }>('job', (j) => j.id === 'w1')).toMatchObject({
        queue: 'webhooks',
        state: 'cancelled',
      });
      await post('/api/queues/webhooks/resume');
      await sse.next('queue:resumed');
      await sse.close();
    },
  );

  it.skipIf(!c.available)(
    'bad requests get clear 4xx answers, change nothing and make no queue entries',
    async () => {
      const before = await seeded.emails.counts();
      const tracked = server.handler.dashboard!.trackedQueues;
      const bad = await get<{ error: string; code: string }>('/api/queues/emails/jobs?state=bogus');
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatch(/state/);
      expect((await get('/api/queues/emails/jobs?limit=0')).status).toBe(400);
      expect((await get('/api/queues/emails/jobs?unknown=1')).status).toBe(400);
      expect((await get('/api/queues/emails/jobs/missing')).status).toBe(404);
      expect((await get('/api/queues/emails/jobs/%E0%A4%A')).status).toBe(400);
      expect((await fetch(`${server.url}/api/queues/emails/pause`)).status).toBe(405);
      expect((await post('/api/queues/emails/dlq/replay', { ids: 'e1' })).status).toBe(400);
      const notJson = await fetch(`${server.url}/api/queues/emails/pause`, { method: 'POST', body: '{nope' });
      expect(notJson.status).toBe(400);
      // Unknown keys in an action's body are refused, as the library refuses them (finding 22).
      const extra = await post<{ error: string; code: string }>('/api/queues/emails/pause', {
        reason: 'x',
        extra: 1,
      });
      expect(extra.status).toBe(400);
      expect(extra.body.error).toMatch(/extra/);
      expect((await seeded.emails.status()).paused).toBe(false);
      expect((await post('/api/queues/emails/pause', { reason: 7 })).status).toBe(400);
      expect((await post('/api/queues/emails/dlq/replay', { ids: ['e003'], all: true })).status).toBe(400);
      expect((await post('/api/queues/emails/jobs/e003/replay', { force: true })).status).toBe(400);
      expect((await post('/api/queues/emails/resume', { now: 1 })).status).toBe(400);
      for (let i = 0; i < 300; i++) {
        const r = await fetch(`${server.url}/api/queues/nope-${i}/jobs`);
        expect(r.status).toBe(404);
        await r.arrayBuffer();
      }
      expect(server.handler.dashboard!.trackedQueues).toBeLessThanOrEqual(Math.max(tracked, 5));
      expect(await seeded.emails.counts()).toEqual(before);
    },
  );
});
