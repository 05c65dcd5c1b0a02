/** Cron schedules: one job per tick whoever fires it, catch-up of missed ticks, bad input refused. */
import { describe, expect, it } from 'vitest';
import type { Harness } from './suite.js';
import { Queue, type ScheduleOptions } from '../../src/index.js';

/** A minute boundary, so that per-minute crons tick at known times. */
const minute = (t: number): number => Math.ceil(t / 60_000) * 60_000;

export function scheduleCases(h: Harness): void {
  describe('schedules', () => {
    it('adds one job per tick, however many queue objects fire it', async () => {
      const { queue, clock } = h.manualQueue<{ report: string }>();
      clock.set(minute(clock.now()));
      const info = await queue.schedule('reports', {
        cron: '* * * * * *',
        payload: { report: 'daily' },
        options: { priority: 5, metadata: { team: 'ops' } },
      });
      expect(info).toMatchObject({ key: 'reports', cron: '* * * * * *', tz: 'UTC', catchUp: 'none' });
      expect(info.lastTickAt).toBe(clock.now());
      expect(info.nextTickAt).toBe(clock.now() + 1000);
      const twin = new Queue<{ report: string }>(queue.name, { store: h.store(), clock });
      clock.advance(3000);
      const fired = await Promise.all([queue.fireSchedules(), twin.fireSchedules(), queue.fireSchedules()]);
      expect(fired[0].nextTickAt).toBe(clock.now() + 1000);
      const jobs = await queue.list({ order: 'asc' });
      expect(jobs).toHaveLength(3);
      expect(jobs.map((j) => j.metadata.tickAt)).toEqual([1, 2, 3].map((s) => clock.now() - 3000 + s * 1000));
      expect(jobs[0]).toMatchObject({
        name: 'reports',
        priority: 5,
        payload: { report: 'daily' },
        metadata: { team: 'ops', schedule: 'reports' },
      });
      expect(jobs[0]!.id).toMatch(/^schedule:reports:/);
      // Nothing is due again until the next tick.
      expect((await queue.fireSchedules()).jobs).toEqual([]);
      clock.advance(1000);
      expect((await twin.fireSchedules()).jobs).toHaveLength(1);
      expect(await queue.size()).toBe(4);
    });

    it('fires from another store object on the same data once per tick', async () => {
      if (!h.capabilities.multiProcess) return;
      const { queue, clock } = h.manualQueue();
      clock.set(minute(clock.now()));
      await queue.schedule('beat', { cron: '*/2 * * * * *' });
      const other = await h.open();
      try {
        const twin = new Queue(queue.name, { store: other, clock });
        clock.advance(10_000);
        await Promise.all([queue.fireSchedules(), twin.fireSchedules()]);
        expect(await queue.size()).toBe(5);
        expect((await twin.schedules())[0]!.lastTickAt).toBe(clock.now());
      } finally {
        await other.close();
      }
    });

    it('follows catchUp for ticks missed while nothing ran', async () => {
      const { queue, clock } = h.manualQueue();
      const start = minute(clock.now());
      clock.set(start);
      await queue.schedule('none', { cron: '* * * * *' });
      await queue.schedule('latest', { cron: '* * * * *', catchUp: 'latest' });
      await queue.schedule('all', { cron: '* * * * *', catchUp: 'all', catchUpLimit: 5 });
      // 10 minutes and 45 s later: every tick is more than 30 s late.
      clock.set(start + 10 * 60_000 + 45_000);
      await queue.fireSchedules();
      const by = async (key: string): Promise<number[]> =>
        (await queue.list({ limit: 100 }))
          .filter((j) => j.metadata.schedule === key)
          .map((j) => j.metadata.tickAt as number)
          .sort((a, b) => a - b);
      expect(await by('none')).toEqual([]);
      expect(await by('latest')).toEqual([start + 10 * 60_000]);
      expect(await by('all')).toEqual([6, 7, 8, 9, 10].map((m) => start + m * 60_000));
      // Skipped ticks are behind every schedule now: only new ticks fire.
      for (const s of await queue.schedules()) expect(s.lastTickAt).toBe(start + 10 * 60_000);
      clock.set(start + 11 * 60_000 + 5_000);
      await queue.fireSchedules();
      expect(await by('none')).toEqual([start + 11 * 60_000]);
      expect(await queue.size()).toBe(1 + 5 + 3);
    });

    it('lists, keeps the last tick when declared again, and unschedules', async () => {
      const { queue, clock } = h.manualQueue();
      clock.set(minute(clock.now()));
      await queue.schedule('b', { cron: '0 9 * * MON-FRI', tz: 'Europe/Paris' });
      await queue.schedule('a', { cron: '*/5 * * * * *' });
      clock.advance(5000);
      await queue.fireSchedules();
      const fired = (await queue.schedules()).find((s) => s.key === 'a')!.lastTickAt;
      clock.advance(1000);
      await queue.schedule('a', { cron: '*/5 * * * * *', payload: 2 });
      const list = await queue.schedules();
      expect(list.map((s) => s.key)).toEqual(['a', 'b']);
      expect(list[0]).toMatchObject({ lastTickAt: fired, payload: 2 });
      expect(list[1]!.tz).toBe('Europe/Paris');
      expect(await queue.unschedule('a')).toBe(true);
      expect(await queue.unschedule('a')).toBe(false);
      expect((await queue.schedules()).map((s) => s.key)).toEqual(['b']);
      clock.advance(60_000);
      expect((await queue.fireSchedules()).jobs).toEqual([]);
    });

    it('refuses bad crons, unknown time zones and bad options, and saves nothing', async () => {
      const { queue } = h.manualQueue();
      const bad: [string, unknown][] = [
        ['* * * * * * *', /schedule\.cron/],
        ['every day', /schedule\.cron/],
        ['61 * * * *', /schedule\.cron/],
        ['* * *', /schedule\.cron/],
      ].map(([cron]) => [cron as string, { cron }]);
      const cases: unknown[] = [
        ...bad.map(([, o]) => o),
        { cron: '* * * * *', tz: 'Mars/Olympus_Mons' },
        { cron: '* * * * *', catchUp: 'sometimes' },
        { cron: '* * * * *', catchUpLimit: 0 },
        { cron: '* * * * *', catchUpLimit: 5000 },
        { cron: '* * * * *', options: { id: 'fixed' } },
        { cron: '* * * * *', payload: () => 1 },
        { cron: '* * * * *', every: 5 },
      ];
      for (const o of cases) {
        const e = (await queue.schedule('k', o as ScheduleOptions).catch((x: unknown) => x)) as {
          code?: string;
          path?: string;
        };
        expect(e?.code, JSON.stringify(o) ?? String(o)).toBe('VALIDATION');
        expect(e.path).toMatch(/^schedule/);
      }
      const badKey = await queue.schedule('a b', { cron: '* * * * *' }).catch((x: unknown) => x);
      expect((badKey as { code?: string }).code).toBe('VALIDATION');
      expect(await queue.schedules()).toEqual([]);
    });

    it('a running worker fires the ticks on its own', async () => {
      const q = h.queue<string>();
      await q.schedule('tick', { cron: '* * * * * *', payload: 'hi' });
      const seen: string[] = [];
      const w = h.worker(q, (ctx) => {
        seen.push(ctx.job.id);
      });
      await w.next('job:completed');
      await w.close();
      expect(seen[0]).toMatch(/^schedule:tick:/);
    });
  });
}
