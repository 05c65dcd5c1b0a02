/**
 * The live feed when the store fails while a stream opens: the status line is already sent, so the
 * stream says why and ends (the browser reconnects), instead of staying open with no hello.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { sqliteStore } from '../../src/store/sqlite/index.js';
import { faultyStore } from '../helpers/faulty-store.js';

describe('live feed: a store failure while a stream opens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-feed-'));
  const { store, faults } = faultyStore(sqliteStore({ path: join(dir, 'store.db') }));
  let server: RunningServer;

  beforeAll(async () => {
    await new Queue('mail', { store }).add({ to: 'a@example.com' }, { id: 'j1' });
    server = await startServer({ port: 0, store, intervalMs: 100 });
  });
  afterAll(async () => {
    await server?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the stream gets a store event and ends; once the store answers, the next one gets its hello', async () => {
    faults.inject('getJob', 'fail', { times: 1 });
    const failed = await fetch(`${server.url}/api/events?queue=mail&job=j1`);
    expect(failed.status).toBe(200);
    const text = await failed.text(); // resolves only because the stream ends
    expect(text).toMatch(/event: store\ndata: \{"error":"injected fail in getJob"\}/);
    expect(text).not.toMatch(/event: hello/);
    expect(faults.hits.getJob).toBe(1);

    const ctl = new AbortController();
    const ok = await fetch(`${server.url}/api/events?queue=mail&job=j1`, { signal: ctl.signal });
    const reader = ok.body!.getReader();
    let seen = '';
    while (!seen.includes('event: hello')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    ctl.abort();
    expect(seen).toMatch(/event: hello/);
  });
});
