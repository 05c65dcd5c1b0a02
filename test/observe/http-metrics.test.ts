/** HTTP request metrics with real node:http, Express and Fastify servers on 127.0.0.1. */
import express from 'express';
import fastify from 'fastify';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/kernel/errors.js';
import { httpMetrics, UNMATCHED_ROUTE, type HttpMetrics } from '../../src/observe/http-metrics.js';
import { BulwarkMetrics } from '../../src/observe/metrics.js';
import { waitFor } from '../helpers/wait.js';

type Series = Record<string, number>;

/** `{ 'GET /users/:id 200': count }` from the request counter, and the histogram's counts the same way. */
async function read(m: HttpMetrics, prefix = '') {
  const json = await m.registry.getMetricsAsJSON();
  const counter = json.find((x) => x.name === `${prefix}http_requests_total`)!;
  const histogram = json.find((x) => x.name === `${prefix}http_request_duration_seconds`)!;
  const key = (l: Record<string, unknown>) => `${String(l.method)} ${String(l.route)} ${String(l.status)}`;
  const requests: Series = {};
  for (const v of counter.values) requests[key(v.labels)] = v.value;
  const observed: Series = {};
  const seconds: Series = {};
  for (const v of histogram.values as {
    metricName?: string;
    labels: Record<string, unknown>;
    value: number;
  }[]) {
    if (v.metricName?.endsWith('_count')) observed[key(v.labels)] = v.value;
    if (v.metricName?.endsWith('_sum')) seconds[key(v.labels)] = v.value;
  }
  return { requests, observed, seconds };
}

const servers: { close(): unknown }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({ close: () => new Promise((r) => server.close(r)) });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function hit(base: string, path: string, method = 'GET'): Promise<number> {
  const res = await fetch(base + path, { method });
  await res.arrayBuffer();
  return res.status;
}

describe('http metrics: node:http', () => {
  it('counts and times requests by method, route template and status; unknown paths are unmatched', async () => {
    const m = httpMetrics({ routes: ['/users/:id', '/files/*', '/'] });
    const base = await listen(
      createServer(
        m.node((req, res) => {
          const found = req.url === '/' || req.url!.startsWith('/users/') || req.url!.startsWith('/files/');
          res.statusCode = !found ? 404 : req.method === 'POST' ? 201 : 200;
          setTimeout(() => res.end('ok'), 5);
        }),
      ),
    );
    expect(await hit(base, '/users/1')).toBe(200);
    await hit(base, '/users/2?expand=true');
    await hit(base, '/users/3', 'POST');
    await hit(base, '/files/a/b.txt');
    await hit(base, '/');
    expect(await hit(base, '/nope/42')).toBe(404);
    // A path no template knows is unmatched, whatever its status.
    expect(await hit(base, '/users/1/extra')).toBe(200);
    const { requests, observed, seconds } = await read(m);
    expect(requests).toEqual({
      'GET /users/:id 200': 2,
      'POST /users/:id 201': 1,
      'GET /files/* 200': 1,
      'GET / 200': 1,
      [`GET ${UNMATCHED_ROUTE} 404`]: 1,
      [`GET ${UNMATCHED_ROUTE} 200`]: 1,
    });
    expect(observed).toEqual(requests);
    // Each request took at least the handler's 5 ms.
    expect(seconds['GET /users/:id 200']!).toBeGreaterThanOrEqual(0.009);
  });

  it('bounds label values: routes past maxRoutes and unknown methods become "other"', async () => {
    // A matcher that (wrongly) returns raw paths: the cap still holds.
    const m = httpMetrics({ routes: (req) => req.url, maxRoutes: 2 });
    const base = await listen(createServer(m.node((_req, res) => res.end())));
    for (const p of ['/a', '/b', '/c', '/d', '/a']) await hit(base, p);
    await new Promise<void>((resolve, reject) => {
      const { port } = new URL(base);
      request({ host: '127.0.0.1', port, path: '/a', method: 'PROPFIND' }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    expect((await read(m)).requests).toEqual({
      'GET /a 200': 2,
      'GET /b 200': 1,
      'GET other 200': 2,
      'other /a 200': 1,
    });
  });

  it('a matcher that throws counts the request as unmatched; the request is still served', async () => {
    const m = httpMetrics({
      routes: () => {
        throw new Error('bug in the matcher');
      },
    });
    const base = await listen(createServer(m.node((_req, res) => res.end('fine'))));
    expect(await hit(base, '/x')).toBe(200);
    expect((await read(m)).requests).toEqual({ 'GET unmatched 200': 1 });
  });

  it('counts a request the client abandoned before the response as aborted', async () => {
    const m = httpMetrics({ routes: ['/slow'] });
    let arrived!: () => void;
    const gotIt = new Promise<void>((r) => (arrived = r));
    const base = await listen(
      createServer(
        m.node((_req, res) => {
          arrived();
          setTimeout(() => res.end('late'), 200);
        }),
      ),
    );
    const { port } = new URL(base);
    const req = request({ host: '127.0.0.1', port, path: '/slow' });
    req.on('error', () => {});
    req.end();
    await gotIt;
    req.destroy();
    await waitFor(async () => (await read(m)).requests['GET /slow aborted'] === 1, 'aborted request counted');
  });
});

describe('http metrics: Express', () => {
  it("labels with the matched route's template, mount path included; no route is unmatched", async () => {
    const m = httpMetrics();
    const app = express();
    app.use(m.express);
    const api = express.Router();
    api.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    api.get('/', (_req, res) => {
      res.send('api root');
    });
    api.post('/fail', () => {
      throw new Error('boom');
    });
    app.use('/api', api);
    app.get('/health', (_req, res) => {
      res.send('ok');
    });
    const base = await listen(createServer(app));
    await hit(base, '/api/users/1');
    await hit(base, '/api/users/2');
    await hit(base, '/api');
    await hit(base, '/health');
    expect(await hit(base, '/api/fail', 'POST')).toBe(500);
    expect(await hit(base, '/missing/7')).toBe(404);
    expect((await read(m)).requests).toEqual({
      'GET /api/users/:id 200': 2,
      'GET /api 200': 1,
      'GET /health 200': 1,
      'POST /api/fail 500': 1,
      'GET unmatched 404': 1,
    });
  });
});

describe('http metrics: Fastify', () => {
  it("labels with the route's url, prefixes of encapsulated plugins included; 404s are unmatched", async () => {
    const m = httpMetrics({ prefix: 'web_' });
    const app = fastify();
    await app.register(m.fastify);
    app.get('/items/:id', async (req) => ({ id: (req.params as { id: string }).id }));
    await app.register(
      async (v1) => {
        v1.post('/things/:id', async (_req, reply) => reply.code(202).send({ ok: true }));
      },
      { prefix: '/v1' },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    servers.push({ close: () => app.close() });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await hit(base, '/items/1');
    await hit(base, '/items/2');
    expect(await hit(base, '/v1/things/9', 'POST')).toBe(202);
    expect(await hit(base, '/nowhere')).toBe(404);
    expect((await read(m, 'web_')).requests).toEqual({
      'GET /items/:id 200': 2,
      'POST /v1/things/:id 202': 1,
      'GET unmatched 404': 1,
    });
  });
});

describe('http metrics: Fastify, abandoned requests', () => {
  it('counts a request the client abandoned as aborted, once', async () => {
    const m = httpMetrics();
    const app = fastify();
    await app.register(m.fastify);
    let arrived!: () => void;
    const gotIt = new Promise<void>((r) => (arrived = r));
    let finished!: () => void;
    const handlerDone = new Promise<void>((r) => (finished = r));
    app.get('/slow/:id', async () => {
      arrived();
      await new Promise((r) => setTimeout(r, 100));
      finished();
      return 'late';
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    servers.push({ close: () => app.close() });
    const port = (app.server.address() as AddressInfo).port;
    const req = request({ host: '127.0.0.1', port, path: '/slow/1' });
    req.on('error', () => {});
    req.end();
    await gotIt;
    req.destroy();
    await handlerDone;
    await new Promise((r) => setTimeout(r, 50));
    expect((await read(m)).requests).toEqual({ 'GET /slow/:id aborted': 1 });
  });
});

describe('http metrics: options and registry', () => {
  it('goes on bulwark metrics’ registry and leaves it on close()', async () => {
    const metrics = new BulwarkMetrics();
    const m = httpMetrics({ registry: metrics });
    m.observe({ method: 'GET', route: '/x', status: 200 }, 0.01);
    expect(await metrics.metrics()).toContain('http_requests_total{method="GET",route="/x",status="200"} 1');
    expect(await metrics.metrics()).toContain(
      'http_request_duration_seconds_bucket{le="0.01",method="GET",route="/x",status="200"} 1',
    );
    m.close();
    expect(await metrics.metrics()).not.toContain('http_requests_total');
    expect(await metrics.metrics()).toContain('bulwark_build_info');
    metrics.close();
  });

  it.each([
    [{ routes: ['users/:id'] }],
    [{ routes: ['/a/*/b'] }],
    [{ routes: ['/a/:'] }],
    [{ routes: '/a' }],
    [{ maxRoutes: 0 }],
    [{ prefix: '1x' }],
    [{ registry: {} }],
    [{ durationBuckets: [] }],
    [{ nope: true }],
  ])('rejects %j with a ValidationError and registers nothing', (options) => {
    const registry = new Registry();
    expect(() => httpMetrics({ registry, ...(options as object) } as never)).toThrow(ValidationError);
    expect(registry.getMetricsAsArray()).toHaveLength(0);
  });

  it('rejects bad input to observe() and node()', () => {
    const m = httpMetrics();
    expect(() => m.observe({ method: 'GET', route: '/', status: 200 }, Number.NaN)).toThrow(ValidationError);
    expect(() => m.node('nope' as never)).toThrow(ValidationError);
  });

  it('never imports a framework at run time', () => {
    for (const file of ['http-metrics.ts', 'http-routes.ts']) {
      const src = readFileSync(new URL(`../../src/observe/${file}`, import.meta.url), 'utf8');
      expect(src).not.toMatch(/from ['"](express|fastify)/);
      expect(src).not.toMatch(/import\(['"](express|fastify)/);
    }
  });
});
