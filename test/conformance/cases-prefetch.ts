/**
 * Prefetch: a worker may claim jobs ahead of a free slot. Buffered jobs are leased and heartbeated like
 * running ones, go back untouched when they wait too long or the worker closes, and cannot hold up a
 * job of higher priority for longer than the bound.
 */
import { describe, expect, it } from 'vitest';
import type { Job } from '../../src/index.js';
import { sleep, waitFor } from '../helpers/wait.js';
import type { Harness } from './suite.js';

export function prefetchCases(h: Harness): void {
  describe('prefetch', () => {
    const all = async (q: { list(f: object): Promise<Job[]> }): Promise<Job[]> => q.list({ limit: 1000 });

    it('buffered jobs are leased and heartbeated: a slow first job does not get the others reaped', async () => {
      const q = h.queue<number>();
      await q.addBulk(Array.from({ length: 6 }, (_, i) => ({ payload: i, options: { id: `b${i}` } })));
      await using w = h.worker(
        q,
        async (ctx) => {
          if (ctx.payload === 0) await sleep(700);
        },
        { concurrency: 1, prefetch: 5, leaseMs: 300, heartbeatMs: 50, prefetchMaxWaitMs: 140 },
      );
      await waitFor(() => w.buffered > 0, 'jobs buffered');
      const reaped: string[] = [];
      w.on('job:stalled', (e) => reaped.push(...e.requeued));
      await waitFor(async () => (await q.counts()).completed === 6, 'all completed');
      expect(reaped).toEqual([]);
      for (const j of await all(q)) {
        expect(j.attempts, j.id).toBe(1);
        expect(j.errors, j.id).toEqual([]);
      }
    });

    it('a job that waits in the buffer longer than the bound goes back, its attempt untouched', async () => {
      const q = h.queue<number>();
      await q.addBulk(Array.from({ length: 4 }, (_, i) => ({ payload: i, options: { id: `w${i}` } })));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      await using w = h.worker(
        q,
        async (ctx) => {
          if (ctx.payload === 0) await gate;
        },
        { concurrency: 1, prefetch: 3, prefetchMaxWaitMs: 60 },
      );
      await waitFor(async () => {
        const waiting = await q.list({ states: ['waiting'] });
        return waiting.length === 3 && waiting.every((j) => j.attempts === 0);
      }, 'the buffered jobs back in the queue');
      expect(w.buffered).toBeLessThanOrEqual(3);
      release();
      await waitFor(async () => (await q.counts()).completed === 4, 'all completed');
      for (const j of await all(q)) expect([j.id, j.attempts, j.errors.length]).toEqual([j.id, 1, 0]);
    });

    it('close() hands every buffered job back at once, attempts untouched', async () => {
      const q = h.queue<number>();
      await q.addBulk(Array.from({ length: 8 }, (_, i) => ({ payload: i, options: { id: `c${i}` } })));
      const w = h.worker(
        q,
        async (ctx) => {
          if (ctx.payload === 0) await sleep(100);
        },
        { concurrency: 1, prefetch: 7, prefetchMaxWaitMs: 5000 },
      );
      await waitFor(() => w.buffered === 7, 'seven jobs buffered');
      await w.close({ graceMs: 1000 });
      const jobs = await all(q);
      expect(jobs.find((j) => j.id === 'c0')).toMatchObject({ state: 'completed', attempts: 1 });
      const back = jobs.filter((j) => j.id !== 'c0');
      expect(back.map((j) => [j.state, j.attempts, j.snoozes, j.errors.length])).toEqual(
        back.map(() => ['waiting', 0, 0, 0]),
      );
    });

    it('a job of higher priority added while the buffer is full is held up no longer than the bound', async () => {
      const q = h.queue<string>();
      await q.addBulk(
        Array.from({ length: 20 }, (_, i) => ({ payload: `low${i}`, options: { id: `low${i}` } })),
      );
      const order: string[] = [];
      await using w = h.worker(
        q,
        async (ctx) => {
          order.push(ctx.payload);
          await sleep(40);
        },
        { concurrency: 1, prefetch: 10, prefetchMaxWaitMs: 120, pollIntervalMs: 20 },
      );
      await waitFor(() => w.buffered >= 9, 'the buffer full');
      const before = order.length;
      await q.add('urgent', { id: 'urgent', priority: 100 });
      await waitFor(async () => (await q.counts()).completed === 21, 'all completed');
      // Without the bound it would wait for the ten buffered low jobs (400 ms); with it, about 120 ms.
      expect(order.indexOf('urgent') - before).toBeLessThan(8);
    });
  });
}
