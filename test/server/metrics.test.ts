/**
 * Outside finding 7: the server over a store with no workers (`bulwark dashboard`) serves /metrics:
 * bulwark's metrics with the jobs by state of every queue the store knows, found again at each scrape.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { sqliteStore } from '../../src/store/sqlite/index.js';
import { startServer, storeMetrics } from '../../src/server/index.js';
import { buildCli, killAll, serve } from '../cli/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-metrics-'));
afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('/metrics over a store', () => {
  it('storeMetrics: jobs by state of every queue, a queue created later from the next scrape', async () => {
    const store = sqliteStore({ path: ':memory:' });
    await new Queue('mail', { store }).add({ n: 1 }, { id: 'm1' });
    const metrics = storeMetrics(store);
    await using server = await startServer({ port: 0, store, metrics });
    try {
      let r = await fetch(`${server.url}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/text\/plain/);
      let text = await r.text();
      expect(text).toContain('bulwark_jobs{queue="mail",state="waiting"} 1');
      await new Queue('later', { store }).add({ n: 2 }, { id: 'l1' });
      r = await fetch(`${server.url}/metrics`);
      text = await r.text();
      expect(text).toContain('bulwark_jobs{queue="later",state="waiting"} 1');
    } finally {
      await server.close();
      metrics.close();
      await store.close();
    }
  });

  it('`bulwark dashboard` serves /metrics', async () => {
    await buildCli();
    const file = join(dir, 'dash.db');
    const store = sqliteStore({ path: file });
    await new Queue('mail', { store }).add({ n: 1 }, { id: 'm1' });
    await store.close();
    const s = await serve(
      ['dashboard', '--port', '0', '--store', `sqlite:${file}`],
      /listening on (http:\S+)\//,
    );
    const url = /listening on (http:\S+)\//.exec(s.output())![1]!;
    const r = await fetch(`${url}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('bulwark_jobs{queue="mail",state="waiting"} 1');
    s.child.kill('SIGTERM');
    expect(await s.exited()).toBe(0);
  }, 60_000);
});
