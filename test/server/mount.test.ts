/**
 * Outside finding 8: the dashboard at a mount path asked for without its trailing slash (`/ops`) sends
 * the browser to `/ops/`, where its relative asset and API URLs resolve — with basePath, and mounted
 * in Express (which strips the mount path).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { sqliteStore } from '../../src/store/sqlite/index.js';
import { createHandler, startServer } from '../../src/server/index.js';

/** Follows the redirect as a browser does, then loads the page's script the way the page names it. */
async function check(origin: string, mount: string): Promise<void> {
  const first = await fetch(`${origin}${mount}?x=1`, { redirect: 'manual' });
  expect(first.status).toBe(308);
  const next = new URL(first.headers.get('location')!, `${origin}${mount}?x=1`);
  expect(next.pathname).toBe(`${mount}/`);
  expect(next.search).toBe('?x=1');
  const page = await fetch(next);
  expect(page.status).toBe(200);
  const script = /src="(assets\/app\.js[^"]*)"/.exec(await page.text())![1]!;
  expect((await fetch(new URL(script, next))).status).toBe(200);
  const api = await fetch(new URL('api/overview', next));
  expect(api.status).toBe(200);
}

describe('a mount path without its trailing slash', () => {
  it('basePath: /ops redirects to /ops/', async () => {
    const store = sqliteStore({ path: ':memory:' });
    await new Queue('mail', { store }).add({ n: 1 });
    await using server = await startServer({ port: 0, store, basePath: '/ops' });
    try {
      await check(server.url, '/ops');
      // Probes and the API under the mount are not redirected.
      expect((await fetch(`${server.url}/ops/livez`, { redirect: 'manual' })).status).toBe(200);
    } finally {
      await server.close();
      await store.close();
    }
  });

  it('Express: app.use("/ops", handler) redirects /ops to /ops/', async () => {
    const store = sqliteStore({ path: ':memory:' });
    await new Queue('mail', { store }).add({ n: 1 });
    const handler = createHandler({ store });
    const app = express();
    app.use('/ops', handler);
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      await check(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '/ops');
    } finally {
      handler.close();
      await new Promise((r) => server.close(r));
      await store.close();
    }
  });
});
