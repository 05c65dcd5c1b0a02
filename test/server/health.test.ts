/** The health endpoints over real HTTP: liveness, readiness (503 while draining), /healthz status codes. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Queue, ValidationError, Worker, sqliteStore } from '../../src/index.js';
import { HealthMonitor } from '../../src/observe/health.js';
import { drainOnSignal, healthHandler, startHealthServer, storeReachable } from '../../src/server/index.js';
import { waitFor } from '../helpers/wait.js';

const get = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

describe('health endpoints', () => {
  it('binds 127.0.0.1 by default; /livez always 200; unknown paths 404; other methods 405', async () => {
    await using s = await startHealthServer({ port: 0 });
    expect(s.host).toBe('127.0.0.1');
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
    expect(await get(`${s.url}/livez`)).toMatchObject({ status: 200, text: 'ok\n' });
    s.setDraining();
    expect((await get(`${s.url}/livez`)).status).toBe(200);
    expect((await get(`${s.url}/nope`)).status).toBe(404);
    expect((await get(`${s.url}/metrics`)).status).toBe(404); // no metrics configured
    expect((await get(`${s.url}/livez`, { method: 'POST' })).status).toBe(405);
    expect(await get(`${s.url}/livez?verbose=1`, { method: 'HEAD' })).toMatchObject({
      status: 200,
      text: '',
    });
  });

  it('/healthz: 200 for pass and warn, 503 for fail, as application/health+json', async () => {
    const m = new HealthMonitor();
    await using s = await startHealthServer({ port: 0, monitor: m, version: '1.2.3' });
    const healthz = async () => {
      const r = await get(`${s.url}/healthz`);
      expect(r.type).toBe('application/health+json');
      return { status: r.status, body: JSON.parse(r.text) as Record<string, unknown> };
    };
    expect(await healthz()).toMatchObject({ status: 200, body: { status: 'pass', version: '1.2.3' } });
    const p = m.processor('mail');
    for (let i = 0; i < 95; i++) p.success(5);
    for (let i = 0; i < 5; i++) p.failure(5, new Error('smtp down'));
    let r = await healthz();
    expect(r).toMatchObject({ status: 200, body: { status: 'pass' } });
    expect(r.body.checks).toMatchObject({
      'processor:mail': [
        { componentType: 'processor', status: 'pass', observedValue: 0.95, observedUnit: 'ratio' },
      ],
    });
    p.failure(5, new Error('smtp down')); // 94 of the last 100
    r = await healthz();
    expect(r).toMatchObject({ status: 200, body: { status: 'warn' } });
    expect(r.body.checks).toMatchObject({ 'processor:mail': [{ status: 'warn', output: 'smtp down' }] });
    for (let i = 0; i < 15; i++) p.failure(5, new Error('smtp down')); // 79 of the last 100
    r = await healthz();
    expect(r).toMatchObject({
      status: 503,
      body: { status: 'fail', bulwark: { status: 'UNHEALTHY', unhealthy: ['mail'] } },
    });
    expect(r.body.notes).toEqual([expect.stringContaining('processor mail is UNHEALTHY')]);
  });

  it('/readyz follows ready(): false, a throw or a hang are 503', async () => {
    let answer: () => Promise<boolean> | boolean = () => true;
    await using s = await startHealthServer({ port: 0, ready: () => answer(), readyTimeoutMs: 50 });
    expect((await get(`${s.url}/readyz`)).status).toBe(200);
    answer = () => false;
    expect(await get(`${s.url}/readyz`)).toMatchObject({
      status: 503,
      text: 'not ready: ready check failed\n',
    });
    answer = () => {
      throw new Error('store unreachable');
    };
    expect((await get(`${s.url}/readyz`)).text).toContain('store unreachable');
    answer = () => new Promise<boolean>(() => {});
    expect((await get(`${s.url}/readyz`)).text).toContain('over 50 ms');
    answer = () => true;
    s.setDraining(true);
    expect(await get(`${s.url}/readyz`)).toMatchObject({ status: 503, text: 'not ready: draining\n' });
    s.setDraining(false);
    expect((await get(`${s.url}/readyz`)).status).toBe(200);
  });

  it('storeReachable(): ready while the store answers, 503 with the reason once it does not', async () => {
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue('ingest', { store });
    await using s = await startHealthServer({ port: 0, ready: storeReachable(q) });
    expect((await get(`${s.url}/readyz`)).status).toBe(200);
    await store.close();
    const r = await get(`${s.url}/readyz`);
    expect(r.status).toBe(503);
    expect(r.text).toMatch(/^not ready: ready check failed: /);
    expect((await get(`${s.url}/livez`)).status).toBe(200);
    expect(() => storeReachable()).toThrow(ValidationError);
  });

  it('readiness is 503 while a worker shuts down, liveness stays 200', async () => {
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue('ingest', { store });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started = false;
    const w = new Worker(
      q,
      async () => {
        started = true;
        await held;
      },
      { pollIntervalMs: 20 },
    );
    await using s = await startHealthServer({
      port: 0,
      workers: [w],
      ready: storeReachable(q),
    });
    expect((await get(`${s.url}/readyz`)).status).toBe(200);
    await q.add({ doc: 1 });
    await waitFor(() => started, 'job started');
    const closing = w.close({ graceMs: 30_000 });
    // The job is still running: the worker drains, and the pod must get no new work.
    expect(await get(`${s.url}/readyz`)).toMatchObject({
      status: 503,
      text: 'not ready: a worker is stopping\n',
    });
    expect((await get(`${s.url}/livez`)).status).toBe(200);
    expect(w.busy).toBe(1);
    release();
    await closing;
    expect((await q.counts()).completed).toBe(1);
    expect((await get(`${s.url}/readyz`)).status).toBe(503);
    await store.close();
  });

  it('drainOnSignal: on the signal, readiness 503 at once, workers drain, then the server closes', async () => {
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue('ingest', { store });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started = false;
    const w = new Worker(
      q,
      async () => {
        started = true;
        await held;
      },
      { pollIntervalMs: 20 },
    );
    const s = await startHealthServer({ port: 0 });
    let drained: Error | undefined | 'not yet' = 'not yet';
    const d = drainOnSignal([w], s, { signals: ['SIGUSR2'], onDrained: (e) => (drained = e) });
    await q.add({ doc: 1 });
    await waitFor(() => started, 'job started');
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(s.draining).toBe(true);
    expect((await get(`${s.url}/readyz`)).status).toBe(503);
    expect((await get(`${s.url}/livez`)).status).toBe(200);
    expect(drained).toBe('not yet');
    release();
    await d.drain(); // the same drain, already under way
    expect(drained).toBeUndefined();
    expect(s.server.listening).toBe(false);
    expect((await q.counts()).completed).toBe(1);
    d.dispose();
    expect(process.listenerCount('SIGUSR2')).toBe(0);
    await store.close();
  });

  it('mounts into an existing server: its own paths, base path, and next() for the rest', async () => {
    const handler = healthHandler({ basePath: '/ops' });
    const server = createServer((req, res) =>
      handler(req, res, () => {
        res.statusCode = 418;
        res.end('app');
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await get(`${url}/ops/livez`)).status).toBe(200);
      expect(await get(`${url}/livez`)).toMatchObject({ status: 418, text: 'app' });
      handler.setDraining();
      expect((await get(`${url}/ops/readyz`)).status).toBe(503);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('rejects bad options with a ValidationError', async () => {
    await expect(startHealthServer({ port: -1 })).rejects.toThrow(ValidationError);
    await expect(startHealthServer({} as never)).rejects.toThrow(ValidationError);
    expect(() => healthHandler({ basePath: 'ops/' })).toThrow(ValidationError);
    expect(() => healthHandler({ monitor: {} as never })).toThrow(ValidationError);
    expect(() => drainOnSignal([{}] as never, { setDraining() {} })).toThrow(ValidationError);
    expect(() => drainOnSignal([], {} as never)).toThrow(ValidationError);
    expect(() => drainOnSignal([], { setDraining() {} }, { signals: ['TERM' as never] })).toThrow(
      ValidationError,
    );
  });
});
