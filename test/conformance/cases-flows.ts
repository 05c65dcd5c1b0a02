/** Flows: jobs that wait for other jobs (fan-in), handlers that fan out and join, dead dependencies. */
import { describe, expect, it } from 'vitest';
import type { Harness } from './suite.js';
import type { AddOptions, Queue } from '../../src/index.js';

const lease = 60_000;

export function flowCases(h: Harness): void {
  describe('flows', () => {
    /** Claims up to `n` jobs at the queue's clock and completes them with `result(id)`. */
    const run = async (queue: Queue<unknown>, now: number, n = 100, fail = false): Promise<string[]> => {
      const s = h.store();
      const claimed = await s.claim({ queue: queue.name, workerId: 'w', limit: n, leaseMs: lease, now });
      if (fail) {
        await s.fail(
          queue.name,
          claimed.map((j) => ({
            id: j.id,
            token: j.fence,
            store: 'dead' as const,
            runAt: now,
            reason: 'broken',
            error: {
              attempt: 1,
              category: 'permanent' as const,
              action: 'dead' as const,
              name: 'E',
              message: 'broken',
              at: now,
            },
          })),
          now,
        );
      } else {
        await s.complete(
          queue.name,
          claimed.map((j) => ({ id: j.id, token: j.fence, result: JSON.stringify(`r-${j.id}`) })),
          now,
        );
      }
      return claimed.map((j) => j.id).sort();
    };

    it('a job with several dependencies waits for all of them (fan-in)', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.addBulk([
        { payload: 'a', options: { id: 'a' } },
        { payload: 'b', options: { id: 'b' } },
      ]);
      const c = await queue.add('c', { id: 'c', dependsOn: ['a', 'b'] });
      expect(c).toMatchObject({ state: 'blocked', outcome: 'created' });
      expect(await queue.counts()).toMatchObject({ waiting: 2, blocked: 1 });
      const s = h.store();
      expect(await run(queue, clock.now(), 1)).toEqual(['a']);
      expect((await s.resolveDependants(queue.name, clock.now(), 100)).ready).toEqual([]);
      expect((await queue.getJob('c'))!.state).toBe('blocked');
      expect(await run(queue, clock.now())).toEqual(['b']);
      const r = await s.resolveDependants(queue.name, clock.now(), 100);
      expect(r).toMatchObject({ ready: ['c'], completed: [], dead: [], open: false });
      expect((await queue.getJob('c'))!).toMatchObject({ state: 'waiting', dependsOn: ['a', 'b'] });
      expect(await run(queue, clock.now())).toEqual(['c']);
      const deps = await queue.dependencies('c');
      expect(deps.map((d) => [d.id, d.state, d.result])).toEqual([
        ['a', 'completed', 'r-a'],
        ['b', 'completed', 'r-b'],
      ]);
    });

    it('orders a bulk by its dependencies; a completed dependency counts at once', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.add('done', { id: 'done' });
      await run(queue, clock.now());
      const added = await queue.addBulk([
        { payload: 'join', options: { id: 'join', dependsOn: ['x', 'y'] } },
        { payload: 'x', options: { id: 'x', dependsOn: ['done'] } },
        { payload: 'y', options: { id: 'y' } },
      ]);
      expect(added.map((j) => [j.id, j.state])).toEqual([
        ['join', 'blocked'],
        ['x', 'waiting'],
        ['y', 'waiting'],
      ]);
      expect(await run(queue, clock.now())).toEqual(['x', 'y']);
      await h.store().resolveDependants(queue.name, clock.now(), 100);
      expect(await run(queue, clock.now())).toEqual(['join']);
    });

    it('refuses unknown ids, itself and cycles, and adds nothing', async () => {
      const { queue } = h.manualQueue();
      await queue.add('a', { id: 'a' });
      const bad: [unknown[], RegExp][] = [
        [[{ payload: 1, options: { id: 'n', dependsOn: ['nope'] } }], /dependsOn/],
        [
          [
            { payload: 1, options: { id: 'n', dependsOn: ['a', 'ghost'] } },
            { payload: 2, options: { id: 'm' } },
          ],
          /dependsOn/,
        ],
        [[{ payload: 1, options: { id: 'self', dependsOn: ['self'] } }], /dependsOn/],
        [
          [
            { payload: 1, options: { id: 'p', dependsOn: ['q'] } },
            { payload: 2, options: { id: 'q', dependsOn: ['p'] } },
          ],
          /dependsOn/,
        ],
        [[{ payload: 1, options: { dependsOn: [] } }], /dependsOn/],
        [[{ payload: 1, options: { onDependencyDead: 'ignore' } }], /onDependencyDead/],
        [[{ payload: 1, options: { dependsOn: ['a'], onDependencyDead: 'retry' } }], /onDependencyDead/],
        [[{ payload: 1, options: { dependsOn: ['a'], unique: { key: 'k' } } }], /unique/],
      ];
      for (const [items, path] of bad) {
        const e = (await queue
          .addBulk(items as { payload: unknown; options: AddOptions }[])
          .catch((x: unknown) => x)) as {
          code?: string;
          path?: string;
        };
        expect(e?.code, JSON.stringify(items)).toBe('VALIDATION');
        expect(e.path).toMatch(path);
      }
      expect((await queue.list()).map((j) => j.id)).toEqual(['a']);
    });

    it('a dead dependency fails, is ignored, or is waited for, as the dependant says', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.add('d', { id: 'd', maxAttempts: 1 });
      await queue.addBulk([
        { payload: 'f', options: { id: 'f', dependsOn: ['d'] } },
        { payload: 'i', options: { id: 'i', dependsOn: ['d'], onDependencyDead: 'ignore' } },
        { payload: 'w', options: { id: 'w', dependsOn: ['d'], onDependencyDead: 'wait' } },
        { payload: 'after-f', options: { id: 'after-f', dependsOn: ['f'] } },
      ]);
      await run(queue, clock.now(), 1, true);
      const s = h.store();
      const r = await s.resolveDependants(queue.name, clock.now(), 100);
      expect(r.ready).toEqual(['i']);
      expect([...r.dead].sort()).toEqual(['after-f', 'f']);
      expect(r.open).toBe(true);
      expect((await queue.getJob('f'))!).toMatchObject({
        state: 'dead',
        reason: expect.stringMatching(/dependency d/),
      });
      expect((await queue.getJob('w'))!.state).toBe('blocked');
      // The waiting one goes on once the dependency is replayed and completes.
      await queue.dlq.replay('d');
      expect(await run(queue, clock.now())).toEqual(['d', 'i']);
      expect((await s.resolveDependants(queue.name, clock.now(), 100)).ready).toEqual(['w']);
      // A job added on a dead dependency under fail is dead at once.
      await queue.add('z', { id: 'z', maxAttempts: 1 });
      expect(await run(queue, clock.now(), 100, true)).toEqual(['w', 'z']);
      expect((await queue.add('late', { dependsOn: ['z'] })).state).toBe('dead');
    });

    it('blocked jobs can be cancelled and cleared', async () => {
      const { queue } = h.manualQueue();
      await queue.add('a', { id: 'a' });
      await queue.addBulk([
        { payload: 1, options: { id: 'b1', dependsOn: ['a'] } },
        { payload: 2, options: { id: 'b2', dependsOn: ['a'] } },
      ]);
      expect(await queue.cancel('b1')).toEqual(['b1']);
      expect(await queue.list({ states: ['blocked'] })).toHaveLength(1);
      expect(await queue.clear()).toBe(2);
      expect(await queue.counts()).toMatchObject({ waiting: 0, blocked: 0, cancelled: 1 });
    });

    it('a handler fans out: it completes when its children do, and a join reads their results', async () => {
      const q = h.queue<{ kind: string; n?: number }>();
      const w = h.worker(
        q,
        async (ctx) => {
          const p = ctx.payload;
          if (p.kind === 'parent') {
            const { children } = await ctx.spawn([1, 2, 3].map((n) => ({ payload: { kind: 'child', n } })));
            expect(children.map((c) => c.id)).toEqual([0, 1, 2].map((i) => `${ctx.job.id}:${i}`));
            return 'parent done';
          }
          if (p.kind === 'fan') {
            const { join } = await ctx.spawn(
              [1, 2].map((n) => ({ payload: { kind: 'child', n } })),
              { join: { payload: { kind: 'join' } } },
            );
            return join!.id;
          }
          if (p.kind === 'join') return (await ctx.dependencies()).map((d) => d.result);
          await new Promise((r) => setTimeout(r, 20));
          return p.n! * 10;
        },
        { concurrency: 4 },
      );
      const parent = await q.add({ kind: 'parent' });
      const fan = await q.add({ kind: 'fan' });
      await expect
        .poll(async () => (await q.getJob(parent.id))!.state, { timeout: 10_000 })
        .toBe('completed');
      const children = await q.dependencies(parent.id);
      expect(children.map((c) => c.state)).toEqual(['completed', 'completed', 'completed']);
      const done = (await q.getJob(parent.id))!;
      expect(done.result).toBe('parent done');
      expect(done.finishedAt!).toBeGreaterThanOrEqual(Math.max(...children.map((c) => c.finishedAt!)));
      await expect
        .poll(async () => (await q.getJob(`${fan.id}:join`))?.state, { timeout: 10_000 })
        .toBe('completed');
      expect((await q.getJob(`${fan.id}:join`))!.result).toEqual([10, 20]);
      await w.close();
    });
  });
}
