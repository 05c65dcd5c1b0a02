/** The dashboard's JSON API and live feed over HTTP, on a real SQLite store. */
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, ValidationError, sqliteStore, type Store } from '../../src/index.js';
import { startDashboard, type RunningDashboard } from '../../src/dashboard/index.js';

let store: Store;
let running: RunningDashboard | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
  await store?.close();
});

async function setup(options: { token?: string; readOnly?: boolean } = {}) {
  store = sqliteStore({ path: ':memory:' });
  const queue = new Queue<{ n: number }>('mail', { store });
  await queue.addBulk([1, 2, 3].map((n) => ({ payload: { n }, options: { id: `m${n}` } })));
  // Dead-letter m3 by hand: claim it and fail it for good.
  const [job] = await store.claim({
    queue: 'mail',
    workerId: 't',
    limit: 1,
    leaseMs: 10_000,
    now: Date.now(),
  });
  await store.fail(
    'mail',
    [
      {
        id: job!.id,
        token: job!.fence,
        store: 'dead',
        runAt: Date.now(),
        reason: 'bad address',
        error: {
          attempt: 1,
          category: 'validation',
          action: 'dead',
          name: 'ValidationError',
          message: 'bad address',
          at: Date.now(),
        },
      },
    ],
    Date.now(),
  );
  running = await startDashboard({
    store,
    port: 0,
    intervalMs: 100,
    breakers: () => [{ name: 'smtp', state: 'open' }],
    ...options,
  });
  return { queue, url: running.url, deadId: job!.id };
}

describe('dashboard API', () => {
  it('serves the overview, lists and inspects jobs, and acts on the dead-letter queue', async () => {
    const { queue, url, deadId } = await setup();
    const overview = await (await fetch(`${url}/api/overview`)).json();
    expect(overview.queues).toEqual([
      expect.objectContaining({
        name: 'mail',
        paused: false,
        counts: expect.objectContaining({ waiting: 2, dead: 1 }),
      }),
    ]);
    expect(overview.breakers).toEqual([{ name: 'smtp', state: 'open' }]);

    const dead = await (await fetch(`${url}/api/queues/mail/jobs?state=dead`)).json();
    expect(dead.map((j: { id: string }) => j.id)).toEqual([deadId]);
    const one = await (await fetch(`${url}/api/queues/mail/jobs/${deadId}`)).json();
    expect(one).toMatchObject({ id: deadId, state: 'dead', reason: 'bad address' });

    const replay = await fetch(`${url}/api/queues/mail/jobs/${deadId}/replay`, { method: 'POST' });
    expect(await replay.json()).toEqual({ replayed: [deadId] });
    expect((await queue.getJob(deadId))!.state).toBe('waiting');

    expect((await fetch(`${url}/api/queues/mail/pause`, { method: 'POST' })).status).toBe(200);
    expect((await queue.status()).paused).toBe(true);
    await fetch(`${url}/api/queues/mail/resume`, { method: 'POST' });
    expect((await queue.status()).paused).toBe(false);
    const cancelled = await (await fetch(`${url}/api/queues/mail/jobs/m2/cancel`, { method: 'POST' })).json();
    expect(cancelled).toEqual({ cancelled: ['m2'] });
  });

  it('answers bad requests with clear errors and changes nothing', async () => {
    const { queue, url } = await setup();
    const before = await queue.counts();
    const bad = await fetch(`${url}/api/queues/mail/jobs?state=bogus`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/state/);
    expect((await fetch(`${url}/api/queues/nope/jobs`)).status).toBe(404);
    expect((await fetch(`${url}/api/queues/mail/jobs/missing`)).status).toBe(404);
    expect(await (await fetch(`${url}/api/queues/mail/jobs/m2/replay`, { method: 'POST' })).json()).toEqual({
      replayed: [],
    });
    expect((await fetch(`${url}/api/queues/mail/pause`)).status).toBe(405);
    expect((await fetch(`${url}/api/nothing`)).status).toBe(404);
    expect(await queue.counts()).toEqual(before);
    await expect(startDashboard({ store, port: -1 })).rejects.toThrow(ValidationError);
    await expect(startDashboard({ store, token: 'short' })).rejects.toThrow(ValidationError);
  });

  it('requires the token when one is set, and refuses changes when read-only', async () => {
    const { queue, url } = await setup({ token: 'secret-token-123', readOnly: true });
    expect((await fetch(`${url}/api/overview`)).status).toBe(401);
    expect((await fetch(`${url}/`)).status).toBe(401);
    const auth = { authorization: 'Bearer secret-token-123' };
    expect((await fetch(`${url}/api/overview`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/?token=secret-token-123`)).status).toBe(200);
    const pause = await fetch(`${url}/api/queues/mail/pause`, { method: 'POST', headers: auth });
    expect(pause.status).toBe(403);
    expect((await queue.status()).paused).toBe(false);
  });

  it('streams overviews as Server-Sent Events', async () => {
    const { queue, url } = await setup();
    const res = await fetch(`${url}/api/events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const nextEvent = async (): Promise<{ queues: { counts: { waiting: number } }[] }> => {
      for (;;) {
        const end = text.indexOf('\n\n');
        if (end >= 0) {
          const chunk = text.slice(0, end);
          text = text.slice(end + 2);
          const data = chunk.split('\n').find((l) => l.startsWith('data: '));
          if (chunk.startsWith('event: overview') && data) return JSON.parse(data.slice(6));
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += decoder.decode(value, { stream: true });
      }
    };
    expect((await nextEvent()).queues[0]!.counts.waiting).toBe(2);
    await queue.add({ n: 9 });
    let waiting = 0;
    while (waiting !== 3) waiting = (await nextEvent()).queues[0]!.counts.waiting;
    await reader.cancel();
  });
});
