/**
 * Loud by default (issue 14): a worker whose store is unreachable, with no `worker:error` listener
 * and no logger, says so on stderr — once per 10 s, naming the server's host:port — instead of
 * failing in silence. A listener or a logger takes the reports over.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Queue, Worker } from '../../../src/index.js';
import { postgresStore } from '../../../src/store/postgres/index.js';
import { redisStore } from '../../../src/store/redis/index.js';
import { waitFor } from '../../helpers/wait.js';

afterEach(() => vi.restoreAllMocks());

const unreachable = {
  postgres: () =>
    postgresStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      connectTimeoutMs: 200,
      listen: false,
    }),
  redis: () => redisStore({ url: 'redis://127.0.0.1:1', closeTimeoutMs: 100 }),
};

describe.each(Object.entries(unreachable))('a worker on an unreachable %s store', (name, make) => {
  it('reports on stderr with host:port, rate-limited, when nobody listens', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation(
      (...a: unknown[]) => void lines.push(a.map(String).join(' ')),
    );
    const store = make();
    const worker = new Worker(new Queue('q', { store }), () => undefined, { pollIntervalMs: 20 });
    await waitFor(() => lines.some((l) => l.includes('worker')), 'a report', 20_000);
    // Many claims failed meanwhile; one line says so, with where the store is.
    await new Promise((r) => setTimeout(r, 500));
    const reports = lines.filter((l) => l.includes(`queue q`));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(
      new RegExp(`\\[bulwark\\] worker \\S+ of queue q: \\w+ failed: \\[${name} 127\\.0\\.0\\.1:1\\]`),
    );
    await worker.close({ graceMs: 0 });
    await store.close();
  }, 30_000);

  it('stays quiet on stderr when a listener hears the errors', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const store = make();
    const worker = new Worker(new Queue('q', { store }), () => undefined, {
      pollIntervalMs: 20,
      autostart: false,
    });
    const heard: string[] = [];
    worker.on('worker:error', (e) => heard.push(e.error.message));
    worker.start();
    await waitFor(() => heard.length > 0, 'an error event', 20_000);
    expect(heard[0]).toContain('127.0.0.1:1');
    expect(spy.mock.calls.filter((c) => String(c[0]).includes('of queue q'))).toEqual([]);
    await worker.close({ graceMs: 0 });
    await store.close();
  }, 30_000);
});
