/**
 * Outcome writes that fail are retried until they land: while the store is down, the retries must stay
 * frequent enough that the first completion after the store is back lands within the chaos suite's
 * bound (2 s). The backoff grew to 5 s, so a completion written during a 3 s Postgres restart landed
 * about 3 s after the server was back (found by the chaos suite's server_restart). Fake time: the
 * test measures the gaps between tries on the timers' own clock, not the machine's speed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Queue, Worker, sqliteStore } from '../../../src/index.js';
import { faultyStore } from '../../helpers/faulty-store.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('settle retries while the store is down', () => {
  it('retry at least once a second, however long the outage, and land once it is over', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { store, faults } = faultyStore(sqliteStore({ path: ':memory:' }));
    const queue = new Queue<number>('down', { store });
    await queue.add(1, { id: 'a' });
    faults.inject('complete', 'fail');
    faults.inject('completeAndClaim', 'fail');
    const tries: number[] = [];
    const worker = new Worker(queue, () => 'done', {
      schedules: false,
      leaseMs: 60_000,
      pollIntervalMs: 1000,
      retention: false,
    });
    worker.on('worker:error', ({ during }) => {
      if (during === 'settle') tries.push(Date.now());
    });
    // A 30 s outage.
    for (let i = 0; i < 300; i++) await vi.advanceTimersByTimeAsync(100);
    expect(tries.length).toBeGreaterThan(10);
    const gaps = tries.slice(1).map((t, i) => t - tries[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1000);
    // The store is back: the completion lands at the next try.
    faults.heal();
    const healedAt = Date.now();
    let landedAt: number | undefined;
    worker.on('job:completed', () => (landedAt ??= Date.now()));
    for (let i = 0; i < 30 && landedAt === undefined; i++) await vi.advanceTimersByTimeAsync(100);
    expect(landedAt).toBeDefined();
    expect(landedAt! - healedAt).toBeLessThanOrEqual(1000);
    expect((await queue.getJob('a'))!.state).toBe('completed');
    vi.useRealTimers();
    await worker.close();
    await store.close();
  });
});
