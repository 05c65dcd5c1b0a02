/** Progress: stored under the lease like a checkpoint, emitted as an event, visible in getJob. */
import { describe, expect, it } from 'vitest';
import type { Harness } from './suite.js';

export function progressCases(h: Harness): void {
  describe('progress', () => {
    it('is stored, emitted and visible in getJob while the job runs and after', async () => {
      const q = h.queue<number>();
      const job = await q.add(3);
      let release!: () => void;
      const checked = new Promise<void>((r) => (release = r));
      let resolveReported!: () => void;
      const reported = new Promise<void>((r) => (resolveReported = r));
      const w = h.worker(q, async (ctx) => {
        await ctx.progress({ done: 1, of: ctx.payload });
        await ctx.progress(0.5);
        resolveReported();
        await checked;
        await ctx.progress(1);
        return 'ok';
      });
      const events: unknown[] = [];
      w.on('job:progress', (e) => events.push(e.progress));
      const completed = w.next('job:completed');
      await reported;
      expect((await q.getJob(job.id))!).toMatchObject({ state: 'active', progress: 0.5 });
      release();
      await completed;
      await w.close();
      expect(events).toEqual([{ done: 1, of: 3 }, 0.5, 1]);
      expect((await q.getJob(job.id))!).toMatchObject({ state: 'completed', progress: 1 });
    });

    it('a tight loop of reports ends with the newest value stored', async () => {
      const q = h.queue<number>();
      const job = await q.add(500);
      const w = h.worker(q, async (ctx) => {
        await Promise.all(Array.from({ length: ctx.payload }, (_, i) => ctx.progress(i + 1)));
      });
      const seen: unknown[] = [];
      w.on('job:progress', (e) => seen.push(e.progress));
      await w.next('job:completed');
      await w.close();
      expect((await q.getJob(job.id))!.progress).toBe(500);
      // Reports made while a write is in flight merge into one write of the newest value.
      expect(seen).toEqual([1, 500]);
    });

    it('is refused once the lease is lost, and too large a value is refused; nothing changes', async () => {
      const q = h.queue<string>();
      const job = await q.add('x');
      const errors: string[] = [];
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      let cancelled!: () => void;
      const afterCancel = new Promise<void>((r) => (cancelled = r));
      const w = h.worker(q, async (ctx) => {
        await ctx.progress('first');
        await ctx.progress('x'.repeat(70_000)).catch((e: { code: string }) => errors.push(e.code));
        started();
        await afterCancel;
        await ctx.progress('late').catch((e: { code: string }) => errors.push(e.code));
      });
      await running;
      expect((await q.getJob(job.id))!.progress).toBe('first');
      await q.cancel(job.id);
      cancelled();
      await w.next('job:stale');
      await w.close();
      expect(errors).toEqual(['VALIDATION', 'LEASE_LOST']);
      expect((await q.getJob(job.id))!).toMatchObject({ state: 'cancelled', progress: 'first' });
    });
  });
}
