/** Fair groups: claims fair across groups, per-group limits in every process, the error acting on the group. */
import { describe, expect, it } from 'vitest';
import type { Harness } from './suite.js';
import { AuthError, Queue, RateLimitError, type QueueOptions } from '../../src/index.js';

const lease = 60_000;

export function groupCases(h: Harness): void {
  describe('fair groups', () => {
    const claim = async (queue: Queue<unknown>, now: number, limit: number) =>
      h
        .store()
        .claim({ queue: queue.name, workerId: 'w', limit, leaseMs: lease, now, groups: queue.groupLimits });
    const groupsOf = (jobs: { id: string }[]): string[] => jobs.map((j) => j.id.split('-')[0]!);
    const count = (xs: string[]) =>
      xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});

    it('claims fairly across groups: a big group does not hold back small ones', async () => {
      const { queue, clock } = h.manualQueue({ groups: {} });
      await queue.addBulk(
        Array.from({ length: 20 }, (_, i) => ({ payload: i, options: { id: `big-${i}`, group: 'big' } })),
      );
      for (const g of ['a', 'b']) {
        await queue.addBulk([0, 1, 2].map((i) => ({ payload: i, options: { id: `${g}-${i}`, group: g } })));
      }
      const first = await claim(queue, clock.now(), 9);
      expect(count(groupsOf(first))).toEqual({ big: 3, a: 3, b: 3 });
      expect(first[0]!.group).toBeDefined();
      expect((await queue.getJob('a-0'))!.group).toBe('a');
      // A group that joins later starts at the current turn, not ahead of everyone.
      await queue.addBulk([0, 1].map((i) => ({ payload: i, options: { id: `late-${i}`, group: 'late' } })));
      const next = await claim(queue, clock.now(), 4);
      expect(count(groupsOf(next))).toEqual({ big: 2, late: 2 });
    });

    it('holds each group to its concurrency, with overrides', async () => {
      const { queue, clock } = h.manualQueue({
        groups: { concurrency: 2, overrides: { vip: { concurrency: 5 } } },
      });
      for (const g of ['g1', 'vip']) {
        await queue.addBulk(
          Array.from({ length: 10 }, (_, i) => ({ payload: i, options: { id: `${g}-${i}`, group: g } })),
        );
      }
      const claimed = await claim(queue, clock.now(), 20);
      expect(count(groupsOf(claimed))).toEqual({ g1: 2, vip: 5 });
      expect(await claim(queue, clock.now(), 20)).toEqual([]);
      const one = claimed.find((j) => j.group === 'g1')!;
      await h.store().complete(queue.name, [{ id: one.id, token: one.fence, result: null }], clock.now());
      expect(groupsOf(await claim(queue, clock.now(), 20))).toEqual(['g1']);
    });

    it('pauses and throttles one group; the others go on; the queue lists them', async () => {
      const { queue, clock } = h.manualQueue({ groups: {} });
      for (const g of ['x', 'y', 'z']) {
        await queue.addBulk([0, 1].map((i) => ({ payload: i, options: { id: `${g}-${i}`, group: g } })));
      }
      const events: string[] = [];
      queue.on('group:paused', (e) => events.push(`paused ${e.group} ${e.reason}`));
      queue.on('group:throttled', (e) => events.push(`throttled ${e.group}`));
      await queue.pauseGroup('x', 'expired token');
      await queue.pauseGroup('x', 'again');
      await queue.throttleGroup('y', clock.now() + 1000);
      expect(events).toEqual(['paused x expired token', 'throttled y']);
      expect(groupsOf(await claim(queue, clock.now(), 10))).toEqual(['z', 'z']);
      expect(await queue.listGroups({ paused: true })).toEqual([
        { name: 'x', paused: true, pauseReason: 'expired token', throttledUntil: 0, active: 0, waiting: 2 },
      ]);
      expect((await queue.listGroups({ throttled: true })).map((g) => g.name)).toEqual(['y']);
      expect((await queue.listGroups()).map((g) => [g.name, g.active])).toEqual([
        ['x', 0],
        ['y', 0],
        ['z', 2],
      ]);
      clock.advance(1000);
      expect(groupsOf(await claim(queue, clock.now(), 10))).toEqual(['y', 'y']);
      await queue.resumeGroup('x');
      expect(groupsOf(await claim(queue, clock.now(), 10))).toEqual(['x', 'x']);
    });

    it('holds each group to its rate limit', async () => {
      const { queue, clock } = h.manualQueue({ groups: { rateLimit: { max: 2, intervalMs: 1000 } } });
      clock.set(Math.ceil(clock.now() / 1000) * 1000);
      for (const g of ['p', 'q']) {
        await queue.addBulk(
          Array.from({ length: 5 }, (_, i) => ({ payload: i, options: { id: `${g}-${i}`, group: g } })),
        );
      }
      expect(count(groupsOf(await claim(queue, clock.now(), 10)))).toEqual({ p: 2, q: 2 });
      expect(await claim(queue, clock.now(), 10)).toEqual([]);
      clock.advance(1000);
      expect(count(groupsOf(await claim(queue, clock.now(), 3)))).toEqual({ p: 2, q: 1 });
    });

    it('jobs without a group fill the slots the groups leave', async () => {
      const { queue, clock } = h.manualQueue({ groups: { concurrency: 1 } });
      await queue.addBulk([0, 1, 2].map((i) => ({ payload: i, options: { id: `g-${i}`, group: 'g' } })));
      await queue.add('plain', { id: 'plain-0' });
      expect(groupsOf(await claim(queue, clock.now(), 5)).sort()).toEqual(['g', 'plain']);
    });

    it('a rate-limit error throttles its group, an auth error pauses its group; the queue goes on', async () => {
      const q = h.queue<string>({ groups: {} });
      await q.addBulk([
        { payload: 'limited', options: { group: 'slow' } },
        { payload: 'expired', options: { group: 'locked' } },
        { payload: 'fine', options: { group: 'ok' } },
      ]);
      const w = h.worker(q, (ctx) => {
        if (ctx.payload === 'limited') throw new RateLimitError('429', { retryAfterMs: 60_000 });
        if (ctx.payload === 'expired') throw new AuthError('401');
        return 'done';
      });
      await expect.poll(async () => (await q.counts()).completed, { timeout: 10_000 }).toBe(1);
      await expect
        .poll(async () => (await q.listGroups({ paused: true })).map((g) => g.name))
        .toEqual(['locked']);
      expect((await q.listGroups({ throttled: true })).map((g) => g.name)).toEqual(['slow']);
      expect(await q.status()).toMatchObject({ paused: false, throttledUntil: 0 });
      await w.close();
    });

    it('refuses bad group options and writes nothing', async () => {
      const bad: unknown[] = [
        { concurrency: -1 },
        { concurrency: 0 },
        { concurrency: 1.5 },
        { fairness: 'drr' },
        { rateLimit: { max: 0, intervalMs: 1000 } },
        { overrides: { vip: { concurrency: -2 } } },
        { overrides: { vip: { weight: 2 } } },
        { onAuthError: 'ignore' },
      ];
      for (const groups of bad) {
        let e: unknown;
        try {
          new Queue('bad', { store: h.store(), groups } as QueueOptions);
        } catch (x) {
          e = x;
        }
        expect((e as { code?: string })?.code, JSON.stringify(groups)).toBe('VALIDATION');
        expect((e as { path?: string }).path).toMatch(/groups/);
      }
      const { queue } = h.manualQueue({ groups: {} });
      await expect(queue.add(1, { group: '' })).rejects.toMatchObject({ code: 'VALIDATION' });
      await expect(queue.pauseGroup('')).rejects.toMatchObject({ code: 'VALIDATION' });
      // A reason no store could keep exactly (a lone surrogate, NUL) is refused, as for queue.pause.
      for (const reason of ['x\uDC00y', 'a\0b']) {
        await expect(queue.pauseGroup('g', reason)).rejects.toMatchObject({ code: 'VALIDATION' });
      }
      expect(await queue.size()).toBe(0);
      expect(await queue.listGroups()).toEqual([]);
    });
  });
}
