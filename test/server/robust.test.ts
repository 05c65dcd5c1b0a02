/**
 * Every request ends in a response and the server stays up (issue 11, point 12): malformed request
 * lines over raw sockets, bad percent-encoding, and a property test of arbitrary request lines,
 * paths, queries, bodies and headers — against startServer, and the handler mounted in plain
 * node:http, Express and Fastify.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, sqliteStore, type Store } from '../../src/index.js';
import {
  createHandler,
  startServer,
  type BulwarkHandler,
  type RunningServer,
} from '../../src/server/index.js';

const TOKEN = 'robust-token-0123456789';
let store: Store;
let standalone: RunningServer;
let guarded: RunningServer;
const mounts: { name: string; port: number; prefix: string; close(): Promise<void> }[] = [];
const handlers: BulwarkHandler[] = [];

const listen = (server: Server): Promise<number> =>
  new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));

beforeAll(async () => {
  store = sqliteStore({ path: ':memory:' });
  await new Queue('mail', { store }).add({ to: 'a' }, { id: 'm1' });
  standalone = await startServer({ port: 0, store, intervalMs: 500 });
  guarded = await startServer({ port: 0, store, token: TOKEN });
  mounts.push({ name: 'startServer', port: standalone.port, prefix: '', close: async () => {} });
  mounts.push({ name: 'startServer with a token', port: guarded.port, prefix: '', close: async () => {} });

  const plainHandler = createHandler({ store });
  handlers.push(plainHandler);
  const plain = createServer((req, res) => plainHandler(req, res));
  mounts.push({
    name: 'node:http',
    port: await listen(plain),
    prefix: '',
    close: () => new Promise((r) => plain.close(() => r())),
  });

  const expressHandler = createHandler({ store });
  handlers.push(expressHandler);
  const app = express();
  app.use('/ops', expressHandler);
  app.use((_req, res) => void res.status(418).send('app'));
  const viaExpress = createServer(app);
  mounts.push({
    name: 'express',
    port: await listen(viaExpress),
    prefix: '/ops',
    close: () => new Promise((r) => viaExpress.close(() => r())),
  });

  const fastifyHandler = createHandler({ store, basePath: '/ops' });
  handlers.push(fastifyHandler);
  const fastify = Fastify();
  fastify.all('/ops/*', (request, reply) => {
    reply.hijack();
    fastifyHandler(request.raw, reply.raw);
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  mounts.push({
    name: 'fastify',
    port: (fastify.server.address() as AddressInfo).port,
    prefix: '/ops',
    close: () => fastify.close(),
  });
});

afterAll(async () => {
  for (const h of handlers) h.close();
  for (const m of mounts) await m.close();
  await standalone.close();
  await guarded.close();
  await store.close();
});

/** Sends raw bytes; resolves with the status line of the answer (or throws when none comes). */
function raw(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(String(bytes).slice(0, 200))}`));
    }, timeoutMs);
    const done = (): void => {
      const line = out.split('\r\n')[0] ?? '';
      if (/^HTTP\/1\.[01] \d{3}/.test(line)) {
        clearTimeout(timer);
        s.destroy();
        resolve(line);
      }
    };
    s.on('data', (d) => {
      out += d.toString('latin1');
      done();
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      if (/^HTTP\/1\.[01] \d{3}/.test(out)) resolve(out.split('\r\n')[0]!);
      else reject(new Error(`closed without an answer to ${JSON.stringify(String(bytes).slice(0, 200))}`));
    });
    s.write(bytes);
  });
}

const status = (line: string): number => Number(line.split(' ')[1]);

describe('every request gets a response', () => {
  it.each([
    ['GET //[ HTTP/1.1', 404],
    ['GET //[ HTTP/1.1 (a token set)', 401],
  ])('%s', async (line, expected) => {
    const port = line.includes('token') ? guarded.port : standalone.port;
    const r = await raw(port, `GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(status(r)).toBe(expected);
  });

  it('malformed request lines and targets over raw sockets, on every mount', async () => {
    const lines = [
      'GET //[ HTTP/1.1',
      'GET http://[::1/ HTTP/1.1',
      'GET * HTTP/1.1',
      'GET %zz HTTP/1.1',
      'GET /%E0%A4%A HTTP/1.1',
      'GET /api/queues/%E0%A4%A/jobs HTTP/1.1',
      'GET /api/overview?%ZZ=1 HTTP/1.1',
      'GET /api/queues/mail/jobs?state=%FF HTTP/1.1',
      'GET /api/queues/mail/jobs/%00 HTTP/1.1',
      'GET /../../etc/passwd HTTP/1.1',
      'GET /api/events?queue=%ZZ HTTP/1.1',
      'POST /api/queues/mail/pause HTTP/1.1',
      'GARBAGE',
      'GET / HTTP/9.9',
      'GET /\u0000 HTTP/1.1',
      `GET /${'a'.repeat(20_000)} HTTP/1.1`,
    ];
    for (const m of mounts) {
      for (const line of lines) {
        const target = m.prefix && line.includes(' /') ? line.replace(' /', ` ${m.prefix}/`) : line;
        const r = await raw(
          m.port,
          `${target}\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        );
        expect(status(r), `${m.name}: ${target.slice(0, 60)}`).toBeGreaterThanOrEqual(200);
        expect(status(r), `${m.name}: ${target.slice(0, 60)}`).toBeLessThan(500);
      }
      expect(
        status(await raw(m.port, `GET ${m.prefix}/livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)),
      ).toBe(200);
    }
  });

  it('malformed percent-encoding is a 400, not a 500', async () => {
    for (const path of ['/api/queues/%E0%A4%A/jobs', '/api/queues/mail/jobs/%C3', '/api/overview?x=%']) {
      const r = await fetch(`${standalone.url}${path}`);
      expect(r.status, path).toBe(400);
      expect(((await r.json()) as { code: string }).code).toBe('BAD_ENCODING');
    }
  });

  it('property: arbitrary request lines, paths, queries, bodies and headers all get an answer; the server stays up', async () => {
    const methods = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'X', 'get');
    const chunk = fc.string({
      unit: fc.constantFrom(..."abc/%?&=#[]:@!$'()*+,;~ .-_09AZ\u00e9\u0000\u007f".split('')),
      maxLength: 40,
    });
    const known = fc.constantFrom(
      '',
      '/',
      '/api',
      '/api/overview',
      '/api/health',
      '/api/queues/mail',
      '/api/queues/mail/jobs',
      '/api/queues/mail/jobs/m1',
      '/api/queues/mail/pause',
      '/api/queues/mail/dlq/replay',
      '/api/events',
      '/login',
      '/logout',
      '/healthz',
      '/metrics',
      '/assets/app.js',
      '/api/config',
    );
    const request = fc.record({
      method: methods,
      path: fc.tuple(known, chunk).map(([a, b]) => `${a}${b}`),
      query: fc.option(
        fc
          .array(fc.tuple(chunk, chunk), { maxLength: 4 })
          .map((kv) => kv.map(([k, v]) => `${k}=${v}`).join('&')),
      ),
      headers: fc.array(
        fc.tuple(
          fc.constantFrom(
            'Authorization',
            'Cookie',
            'Origin',
            'Content-Type',
            'Accept',
            'Sec-Fetch-Site',
            'X-Any',
            'Accept-Encoding',
            'If-None-Match',
          ),
          chunk,
        ),
        { maxLength: 5 },
      ),
      body: fc.oneof(fc.constant(''), chunk, fc.json({ maxDepth: 2 })),
      mount: fc.nat({ max: mounts.length - 1 }),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const m = mounts[r.mount]!;
        const target =
          `${m.prefix}${r.path.startsWith('/') ? '' : '/'}${r.path}${r.query === null ? '' : `?${r.query}`}`.replace(
            /[\r\n]/g,
            '',
          );
        const body = Buffer.from(r.body);
        const head = [
          `${r.method} ${target} HTTP/1.1`,
          'Host: 127.0.0.1',
          ...r.headers.map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, '')}`),
          `Content-Length: ${body.length}`,
          'Connection: close',
          '',
          '',
        ].join('\r\n');
        const line = await raw(m.port, Buffer.concat([Buffer.from(head, 'latin1'), body]));
        const code = status(line);
        // A stream is a 200 that stays open: the status line is the answer.
        expect(code).toBeGreaterThanOrEqual(200);
        expect(code).toBeLessThan(500);
      }),
      { numRuns: 400, seed: 1114 },
    );
    for (const m of mounts) {
      expect(
        status(await raw(m.port, `GET ${m.prefix}/livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)),
        m.name,
      ).toBe(200);
    }
  }, 120_000);
});
