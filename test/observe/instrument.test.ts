/** instrument(): one call wires health, metrics and lifecycle logs to a worker; one disposer undoes it. */
import { describe, expect, it } from 'vitest';
import { Queue, TransientError, ValidationError, Worker, sqliteStore } from '../../src/index.js';
import { HealthMonitor } from '../../src/observe/health.js';
import { instrument } from '../../src/observe/instrument.js';
import { createLogger } from '../../src/observe/log.js';
import { BulwarkMetrics } from '../../src/observe/metrics.js';
import { waitFor } from '../helpers/wait.js';

describe('instrument', () => {
  it('wires every part, and the disposer detaches them all', async () => {
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue<string>('q', { store });
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (s: string) => void lines.push(s) } });
    const monitor = new HealthMonitor();
    const metrics = new BulwarkMetrics();
    await using w = new Worker(
      q,
      (ctx) => {
        if (ctx.payload === 'bad' && ctx.attempt === 1) throw new TransientError('flaky');
      },
      { pollIntervalMs: 20, logger },
    );
    const off = instrument(w, { monitor, metrics, logger });
    await q.addBulk([
      { payload: 'ok' },
      { payload: 'bad', options: { backoff: { delayMs: 1, jitter: 'none' } } },
    ]);
    await waitFor(async () => (await q.counts()).completed === 2, 'both completed');
    expect(monitor.processor('q').health().totals).toEqual({ calls: 3, successes: 2, failures: 1 });
    expect(await metrics.metrics()).toContain('bulwark_jobs_completed_total{queue="q"} 2');
    expect(lines.filter((l) => l.includes('job failed, retrying'))).toHaveLength(1);

    off();
    off();
    await q.add('bad', { backoff: { delayMs: 1, jitter: 'none' } });
    await waitFor(async () => (await q.counts()).completed === 3, 'third completed');
    expect(monitor.processor('q').health().totals.calls).toBe(3);
    expect(await metrics.metrics()).toContain('bulwark_jobs_completed_total{queue="q"} 2');
    expect(lines.filter((l) => l.includes('job failed, retrying'))).toHaveLength(1);
    expect(() => instrument(w, null as never)).toThrow(ValidationError);
    await w.close();
    await store.close();
  });
});
