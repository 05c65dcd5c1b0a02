/**
 * The worker and the resilience registry together: a dependency's breaker decides what gets claimed.
 * Jobs that meet the open breaker are snoozed with no attempt used, the worker stops claiming until
 * the breaker may half-open, and every failure lands in error analytics with its dependency.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, TransientError, Worker, sqliteStore, type Store } from '../../src/index.js';
import { ErrorAnalytics, createRegistry, isBrokenCircuitError } from '../../src/resilience/index.js';
import { waitFor } from '../helpers/wait.js';

let store: Store;
let worker: Worker<number> | undefined;
afterEach(async () => {
  await worker?.close({ graceMs: 0 });
  await store?.close();
});

describe('worker + dependency breaker', () => {
  it('stops claiming while the breaker is open, snoozes without using attempts, and recovers', async () => {
    store = sqliteStore({ path: ':memory:' });
    const queue = new Queue<number>('calls', { store });
    const analytics = new ErrorAnalytics();
    const registry = createRegistry({ analytics });
    registry.define('api', { breaker: { consecutiveFailures: 3, breakDurationMs: 400 } });
    let healthy = false;
    let calls = 0;
    const api = async (n: number): Promise<number> => {
      calls++;
      if (!healthy) throw new TransientError('upstream 503');
      return n * 2;
    };

    await queue.addBulk(
      Array.from({ length: 20 }, (_, i) => ({ payload: i, options: { id: `j${i}`, maxAttempts: 10 } })),
    );
    const snoozedByBreaker: string[] = [];
    worker = new Worker(queue, (ctx) => ctx.dependency('api').execute(() => api(ctx.payload)), {
      concurrency: 1,
      dependencies: ['api'],
      registry,
      analytics,
      pollIntervalMs: 50,
      dependencySnoozeMs: 50,
    });
    worker.on('job:snoozed', ({ job, error }) => {
      if (isBrokenCircuitError(error)) snoozedByBreaker.push(job.id);
    });
    const blocked = await worker.next('worker:blocked');
    expect(blocked.dependency).toBe('api');
    expect(registry.get('api').state).toBe('open');
    // Three real calls opened the breaker; while open the worker claims nothing more.
    const callsWhenOpened = calls;
    expect(callsWhenOpened).toBe(3);
    // Jobs it had claimed ahead go back to the queue untouched.
    await waitFor(async () => (await queue.counts()).active === 0, 'nothing held while blocked');

    healthy = true;
    await worker.next('worker:unblocked');
    await waitFor(async () => (await queue.counts()).completed === 20, 'every job completed', 20_000);
    expect(registry.get('api').state).toBe('closed');
    // Only the three failures used attempts; jobs that met the open breaker (if any) got theirs back.
    const jobs = await queue.list({ limit: 100 });
    const attempts = jobs.reduce((a, j) => a + j.attempts, 0);
    expect(attempts).toBe(20 + 3);
    for (const id of snoozedByBreaker) expect((await queue.getJob(id))!.snoozes).toBeGreaterThan(0);

    const top = analytics.top({ dependency: 'api' });
    expect(top[0]).toMatchObject({ category: 'transient' });
    expect(top[0]!.count).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
