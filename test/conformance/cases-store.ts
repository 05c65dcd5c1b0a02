/** Store semantics driven directly, with a manual clock: ordering, delays, ids, leases, fencing. */
import { describe, expect, it } from 'vitest';
import type { Harness } from './suite.js';
import type { FailItem } from '../../src/store/index.js';

const lease = 1000;

export function storeCases(h: Harness): void {
  describe('store semantics', () => {
    it('claims by priority (higher first), then run-at, then insertion order', async () => {
      const { queue, clock } = h.manualQueue();
      const t = clock.now();
      await queue.add('low', { id: 'low', priority: -5 });
      await queue.add('a', { id: 'a' });
      await queue.add('early', { id: 'early', runAt: t - 1000 });
      await queue.add('b', { id: 'b' });
      await queue.add('high', { id: 'high', priority: 10 });
      expect((await queue.peek(10)).map((j) => j.id)).toEqual(['high', 'early', 'a', 'b', 'low']);
      const claimed = await h
        .store()
        .claim({ queue: queue.name, workerId: 'w', limit: 10, leaseMs: lease, now: clock.now() });
      expect(claimed.map((j) => j.id)).toEqual(['high', 'early', 'a', 'b', 'low']);
    });

    it('holds delayed jobs until their run-at', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.add('later', { id: 'later', delayMs: 5000 });
      await queue.add('now', { id: 'now' });
      expect(await queue.counts()).toMatchObject({ waiting: 1, delayed: 1 });
      expect((await queue.getJob('later'))!.state).toBe('delayed');
      const s = h.store();
      const first = await s.claim({
        queue: queue.name,
        workerId: 'w',
        limit: 10,
        leaseMs: lease,
        now: clock.now(),
      });
      expect(first.map((j) => j.id)).toEqual(['now']);
      expect(await s.nextRunAt(queue.name)).toBe(clock.now() + 5000);
      clock.advance(4999);
      expect(
        await s.claim({ queue: queue.name, workerId: 'w', limit: 10, leaseMs: lease, now: clock.now() }),
      ).toEqual([]);
      clock.advance(1);
      const second = await s.claim({
        queue: queue.name,
        workerId: 'w',
        limit: 10,
        leaseMs: lease,
        now: clock.now(),
      });
      expect(second.map((j) => j.id)).toEqual(['later']);
    });

    it('treats an existing id as the same job (idempotent add)', async () => {
      const { queue } = h.manualQueue();
      const a = await queue.add({ v: 1 }, { id: 'same', priority: 1 });
      const b = await queue.add({ v: 2 }, { id: 'same', priority: 9 });
      expect(b.payload).toEqual({ v: 1 });
      expect(b.priority).toBe(1);
      expect(b.createdAt).toBe(a.createdAt);
      const bulk = await queue.addBulk([
        { payload: { v: 3 }, options: { id: 'same' } },
        { payload: { v: 4 }, options: { id: 'other' } },
      ]);
      expect(bulk.map((j) => j.payload)).toEqual([{ v: 1 }, { v: 4 }]);
      expect((await queue.counts()).waiting).toBe(2);
    });

    it('claims in batches, each job once, with a fresh fence per claim', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.addBulk(Array.from({ length: 25 }, (_, i) => ({ payload: i })));
      const s = h.store();
      const a = await s.claim({
        queue: queue.name,
        workerId: 'w1',
        limit: 10,
        leaseMs: lease,
        now: clock.now(),
      });
      const b = await s.claim({
        queue: queue.name,
        workerId: 'w2',
        limit: 10,
        leaseMs: lease,
        now: clock.now(),
      });
      const c = await s.claim({
        queue: queue.name,
        workerId: 'w3',
        limit: 10,
        leaseMs: lease,
        now: clock.now(),
      });
      expect([a.length, b.length, c.length]).toEqual([10, 10, 5]);
      const ids = new Set([...a, ...b, ...c].map((j) => j.id));
      expect(ids.size).toBe(25);
      for (const j of [...a, ...b, ...c]) {
        expect(j.state).toBe('active');
        expect(j.fence).toBe(1);
        expect(j.attempts).toBe(1);
        expect(j.leaseExpiresAt).toBe(clock.now() + lease);
      }
      expect(a[0]!.workerId).toBe('w1');
      expect(await queue.counts()).toMatchObject({ waiting: 0, active: 25 });
      const done = await s.complete(
        queue.name,
        a.map((j) => ({ id: j.id, token: j.fence, result: '1' })),
        clock.now(),
      );
      expect(done).toEqual(a.map(() => true));
      expect(await queue.counts()).toMatchObject({ active: 15, completed: 10 });
    });

    it('recovers a stalled job when its lease expires, and dead-letters it on its last attempt', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.add('x', { id: 'x', maxAttempts: 2 });
      const s = h.store();
      await s.claim({ queue: queue.name, workerId: 'w', limit: 1, leaseMs: lease, now: clock.now() });
      clock.advance(lease);
      expect(await s.reapExpired(queue.name, clock.now(), 100)).toEqual({ requeued: [], dead: [] });
      clock.advance(1);
      expect(await s.reapExpired(queue.name, clock.now(), 100)).toEqual({ requeued: ['x'], dead: [] });
      const j = (await queue.getJob('x'))!;
      expect(j.state).toBe('waiting');
      expect(j.attempts).toBe(1);
      expect(j.errors.at(-1)).toMatchObject({ attempt: 1, action: 'stalled' });
      await s.claim({ queue: queue.name, workerId: 'w', limit: 1, leaseMs: lease, now: clock.now() });
      clock.advance(lease + 1);
      expect(await s.reapExpired(queue.name, clock.now(), 100)).toEqual({ requeued: [], dead: ['x'] });
      expect((await queue.getJob('x'))!.state).toBe('dead');
    });

    it('a recovered job keeps its place: its priority and run-at, ahead of jobs added since', async () => {
      const { queue, clock } = h.manualQueue();
      const s = h.store();
      await queue.add('old', { id: 'old', priority: 1 });
      await s.claim({ queue: queue.name, workerId: 'w', limit: 1, leaseMs: lease, now: clock.now() });
      const runAt = (await queue.getJob('old'))!.runAt;
      clock.advance(lease + 1);
      await queue.addBulk([
        { payload: 'newer', options: { id: 'newer', priority: 1 } },
        { payload: 'low', options: { id: 'low' } },
      ]);
      expect((await s.reapExpired(queue.name, clock.now(), 100)).requeued).toEqual(['old']);
      expect((await queue.getJob('old'))!).toMatchObject({ state: 'waiting', priority: 1, runAt });
      const next = await s.claim({
        queue: queue.name,
        workerId: 'w',
        limit: 3,
        leaseMs: lease,
        now: clock.now(),
      });
      expect(next.map((j) => j.id)).toEqual(['old', 'newer', 'low']);
    });

    it('heartbeats extend the lease of the current fence only', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.add('x', { id: 'x' });
      const s = h.store();
      const [j] = await s.claim({
        queue: queue.name,
        workerId: 'w',
        limit: 1,
        leaseMs: lease,
        now: clock.now(),
      });
      clock.advance(800);
      expect(
        await s.heartbeat(
          queue.name,
          [
            { id: 'x', token: j!.fence },
            { id: 'x', token: 99 },
          ],
          lease,
          clock.now(),
        ),
      ).toEqual([true, false]);
      clock.advance(800);
      expect(await s.reapExpired(queue.name, clock.now(), 100)).toEqual({ requeued: [], dead: [] });
      expect((await queue.getJob('x'))!.leaseExpiresAt).toBe(clock.now() - 800 + lease);
    });

    it('fences every write: a stale attempt cannot complete, fail, checkpoint or heartbeat', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.add('x', { id: 'x', maxAttempts: 5 });
      const s = h.store();
      const [first] = await s.claim({
        queue: queue.name,
        workerId: 'old',
        limit: 1,
        leaseMs: lease,
        now: clock.now(),
      });
      clock.advance(lease + 1);
      await s.reapExpired(queue.name, clock.now(), 100);
      const [second] = await s.claim({
        queue: queue.name,
        workerId: 'new',
        limit: 1,
        leaseMs: lease,
        now: clock.now(),
      });
      expect(second!.fence).toBeGreaterThan(first!.fence);
      const stale = first!.fence;
      const err = {
        attempt: 1,
        category: 'transient' as const,
        action: 'retry' as const,
        name: 'E',
        message: 'm',
        at: clock.now(),
      };
      const fail: FailItem = { id: 'x', token: stale, store: 'retry', runAt: clock.now(), error: err };
      expect(
        await s.complete(queue.name, [{ id: 'x', token: stale, result: '"stale"' }], clock.now()),
      ).toEqual([false]);
      expect(await s.fail(queue.name, [fail], clock.now())).toEqual([false]);
      expect(await s.update(queue.name, 'x', stale, { checkpoint: '1' }, clock.now())).toBe(false);
      expect(await s.heartbeat(queue.name, [{ id: 'x', token: stale }], lease, clock.now())).toEqual([false]);
      let j = (await queue.getJob('x'))!;
      expect(j).toMatchObject({
        state: 'active',
        workerId: 'new',
        result: null,
        checkpoint: null,
        fence: second!.fence,
      });
      expect(
        await s.complete(queue.name, [{ id: 'x', token: second!.fence, result: '"fresh"' }], clock.now()),
      ).toEqual([true]);
      j = (await queue.getJob('x'))!;
      expect(j).toMatchObject({ state: 'completed', result: 'fresh' });
      // Completed is final: even the right token cannot write again.
      expect(
        await s.complete(queue.name, [{ id: 'x', token: second!.fence, result: '"again"' }], clock.now()),
      ).toEqual([false]);
    });

    it('settles failures: retry counts the attempt, snooze gives it back, dead is final; errors are bounded', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.add('x', { id: 'x', maxAttempts: 50 });
      const s = h.store();
      const err = (action: 'retry' | 'snooze' | 'dead') => ({
        attempt: 1,
        category: 'transient' as const,
        action,
        name: 'E',
        message: action,
        at: clock.now(),
      });
      for (let i = 0; i < 12; i++) {
        const [j] = await s.claim({
          queue: queue.name,
          workerId: 'w',
          limit: 1,
          leaseMs: lease,
          now: clock.now(),
        });
        const action = i % 2 === 0 ? 'retry' : 'snooze';
        expect(
          await s.fail(
            queue.name,
            [{ id: 'x', token: j!.fence, store: action, runAt: clock.now(), error: err(action) }],
            clock.now(),
          ),
        ).toEqual([true]);
      }
      let j = (await queue.getJob('x'))!;
      expect(j.attempts).toBe(6);
      expect(j.snoozes).toBe(6);
      expect(j.fence).toBe(12);
      expect(j.errors.length).toBe(10);
      const [c] = await s.claim({
        queue: queue.name,
        workerId: 'w',
        limit: 1,
        leaseMs: lease,
        now: clock.now(),
      });
      await s.fail(
        queue.name,
        [{ id: 'x', token: c!.fence, store: 'dead', runAt: clock.now(), error: err('dead'), reason: 'bad' }],
        clock.now(),
      );
      j = (await queue.getJob('x'))!;
      expect(j).toMatchObject({ state: 'dead', reason: 'bad' });
      expect(j.errors.at(-1)!.message).toBe('dead');
    });

    it('saves checkpoints and progress under the lease', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.add('x', { id: 'x' });
      const s = h.store();
      const [j] = await s.claim({
        queue: queue.name,
        workerId: 'w',
        limit: 1,
        leaseMs: lease,
        now: clock.now(),
      });
      expect(await s.update(queue.name, 'x', j!.fence, { checkpoint: '{"page":3}' }, clock.now())).toBe(true);
      expect(await s.update(queue.name, 'x', j!.fence, { progress: '50' }, clock.now())).toBe(true);
      const got = (await queue.getJob('x'))!;
      expect(got.checkpoint).toEqual({ page: 3 });
      expect(got.progress).toBe(50);
    });

    it('completes and claims in one operation when the store offers it', async (ctx) => {
      const s = h.store();
      if (!s.completeAndClaim) return ctx.skip();
      const { queue, clock } = h.manualQueue();
      for (const id of ['a', 'b', 'c', 'd']) await queue.add(id, { id });
      const req = (limit: number) => ({
        queue: queue.name,
        workerId: 'w',
        limit,
        leaseMs: lease,
        now: clock.now(),
      });
      const [a, b] = await s.claim(req(2));
      const r = await s.completeAndClaim(
        queue.name,
        [
          { id: a!.id, token: a!.fence, result: '1' },
          { id: b!.id, token: b!.fence + 1, result: '2' },
        ],
        clock.now(),
        req(1),
      );
      expect(r.completed).toEqual([true, false]);
      expect(r.claimed.map((j) => [j.id, j.state, j.fence])).toEqual([['c', 'active', 1]]);
      expect((await queue.getJob('a'))!.state).toBe('completed');
      expect((await queue.getJob('a'))!.result).toBe(1);
      expect((await queue.getJob('b'))!.state).toBe('active');
      // A paused queue still takes the completions but hands out nothing.
      await queue.pause('test');
      const p = await s.completeAndClaim(
        queue.name,
        [{ id: 'c', token: 1, result: '3' }],
        clock.now(),
        req(5),
      );
      expect(p).toEqual({ completed: [true], claimed: [] });
      expect(await queue.counts()).toMatchObject({ completed: 2, active: 1, waiting: 1 });
    });

    it('pauses and resumes claiming; throttles until a time', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.add('x', { id: 'x' });
      const s = h.store();
      await queue.pause('maintenance');
      expect(await queue.status()).toMatchObject({ paused: true, pauseReason: 'maintenance' });
      // Pausing reports the transition once, so concurrent auth failures raise one event.
      expect(await s.pause(queue.name, 'again', clock.now())).toBe(false);
      expect((await queue.status()).pauseReason).toBe('maintenance');
      expect(
        await s.claim({ queue: queue.name, workerId: 'w', limit: 1, leaseMs: lease, now: clock.now() }),
      ).toEqual([]);
      await queue.resume();
      expect(await queue.isPaused()).toBe(false);
      await s.throttle(queue.name, clock.now() + 500);
      await s.throttle(queue.name, clock.now() + 100); // never shortens the window
      expect(
        await s.claim({ queue: queue.name, workerId: 'w', limit: 1, leaseMs: lease, now: clock.now() }),
      ).toEqual([]);
      clock.advance(500);
      expect(
        await s.claim({ queue: queue.name, workerId: 'w', limit: 1, leaseMs: lease, now: clock.now() }),
      ).toHaveLength(1);
    });

    it('enforces a queue rate limit across workers, per fixed window', async () => {
      const { queue, clock } = h.manualQueue();
      clock.set(Math.ceil(clock.now() / 1000) * 1000); // at the start of a window
      await queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ payload: i })));
      const s = h.store();
      const rateLimit = { max: 3, intervalMs: 1000 };
      const claim = (workerId: string, limit: number) =>
        s.claim({ queue: queue.name, workerId, limit, leaseMs: lease, now: clock.now(), rateLimit });
      expect(await claim('a', 2)).toHaveLength(2);
      expect(await claim('b', 5)).toHaveLength(1);
      expect(await claim('c', 5)).toHaveLength(0);
      expect((await queue.status()).throttledUntil).toBe(clock.now() + 1000);
      clock.advance(999);
      expect(await claim('a', 5)).toHaveLength(0);
      clock.advance(1);
      expect(await claim('b', 5)).toHaveLength(3);
      clock.advance(1000);
      expect(await claim('a', 1)).toHaveLength(1);
      expect(await claim('b', 5)).toHaveLength(2);
    });

    it('cancels waiting and active jobs, not finished ones', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.addBulk([
        { payload: 1, options: { id: 'a' } },
        { payload: 2, options: { id: 'b' } },
        { payload: 3, options: { id: 'c' } },
      ]);
      const s = h.store();
      const [a] = await s.claim({
        queue: queue.name,
        workerId: 'w',
        limit: 1,
        leaseMs: lease,
        now: clock.now(),
      });
      expect(a!.id).toBe('a');
      expect(await queue.cancel(['a', 'b', 'nope'], 'user asked')).toEqual(['a', 'b']);
      expect(await s.complete(queue.name, [{ id: 'a', token: a!.fence, result: null }], clock.now())).toEqual(
        [false],
      );
      expect(await s.heartbeat(queue.name, [{ id: 'a', token: a!.fence }], lease, clock.now())).toEqual([
        false,
      ]);
      expect((await queue.getJob('b'))!).toMatchObject({ state: 'cancelled', reason: 'user asked' });
      expect(await queue.counts()).toMatchObject({ waiting: 1, cancelled: 2 });
      expect(await queue.cancel('b')).toEqual([]);
    });

    it('replays and purges the dead-letter queue', async () => {
      const { queue, clock } = h.manualQueue();
      await queue.addBulk(['a', 'b', 'c'].map((id) => ({ payload: id, options: { id, maxAttempts: 1 } })));
      const s = h.store();
      const claimed = await s.claim({
        queue: queue.name,
        workerId: 'w',
        limit: 3,
        leaseMs: lease,
        now: clock.now(),
      });
      const err = {
        attempt: 1,
        category: 'validation' as const,
        action: 'dead' as const,
        name: 'E',
        message: 'bad',
        at: clock.now(),
      };
      await s.fail(
        queue.name,
        claimed.map((j) => ({
          id: j.id,
          token: j.fence,
          store: 'dead' as const,
          runAt: 0,
          error: err,
          reason: 'bad',
        })),
        clock.now(),
      );
      expect((await queue.dlq.list()).map((j) => j.id).sort()).toEqual(['a', 'b', 'c']);
      expect((await queue.dlq.inspect('a')).errors[0]!.category).toBe('validation');
      expect(await queue.dlq.replay('a')).toEqual(['a']);
      expect((await queue.getJob('a'))!).toMatchObject({ state: 'waiting', attempts: 0, reason: null });
      await expect(queue.dlq.inspect('a')).rejects.toMatchObject({ code: 'INVALID_STATE' });
      expect(await queue.dlq.purge('b')).toBe(1);
      expect(await queue.getJob('b')).toBeNull();
      expect((await queue.dlq.replay()).sort()).toEqual(['c']);
      expect(await queue.counts()).toMatchObject({ waiting: 2, dead: 0 });
    });

    it('applies retention by age and by count per final state', async () => {
      const { queue, clock } = h.manualQueue();
      const s = h.store();
      await queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ payload: i, options: { id: `j${i}` } })));
      for (let i = 0; i < 10; i++) {
        const [j] = await s.claim({
          queue: queue.name,
          workerId: 'w',
          limit: 1,
          leaseMs: lease,
          now: clock.now(),
        });
        await s.complete(queue.name, [{ id: j!.id, token: j!.fence, result: null }], clock.now());
        clock.advance(1000);
      }
      await queue.cancel((await queue.add('c')).id);
      // Completed at t0..t0+9000, now = t0+10000: older than 5500 ms are j0..j4.
      expect(await queue.cleanup([{ state: 'completed', maxAgeMs: 5500 }])).toBe(5);
      expect(await queue.cleanup([{ state: 'completed', maxCount: 2 }])).toBe(3);
      const left = await queue.list({ states: ['completed'] });
      expect(left.map((j) => j.id).sort()).toEqual(['j8', 'j9']);
      expect((await queue.counts()).cancelled).toBe(1);
    });

    it('lists with filters, search and paging; clears waiting jobs', async () => {
      const { queue } = h.manualQueue();
      await queue.add({ user: 'alice@example.com' }, { id: 'one', name: 'email', correlationId: 'corr-1' });
      await queue.add({ user: 'bob' }, { id: 'two', name: 'sms', delayMs: 60_000 });
      await queue.add({ user: 'carol' }, { id: 'three', name: 'email' });
      expect((await queue.list({ search: 'alice' })).map((j) => j.id)).toEqual(['one']);
      expect((await queue.list({ search: 'two' })).map((j) => j.id)).toEqual(['two']);
      // Search text is taken literally: no wildcard or escape character of any store's matcher.
      const { queue: literal } = h.manualQueue();
      await literal.add({ note: '100% off_now \\ x' }, { id: 'lit' });
      for (const text of ['%', '0% o', '_', 'f_n', '\\', '\\ x']) {
        expect(
          (await literal.list({ search: text })).map((j) => j.id),
          text,
        ).toEqual(['lit']);
      }
      for (const text of ['1_0', '%%', 'off%now', '\\%']) {
        expect(await literal.list({ search: text }), text).toEqual([]);
      }
      expect((await queue.list({ correlationId: 'corr-1' })).map((j) => j.id)).toEqual(['one']);
      expect((await queue.list({ states: ['delayed'] })).map((j) => j.id)).toEqual(['two']);
      expect((await queue.list({ order: 'asc', limit: 2 })).map((j) => j.id)).toEqual(['one', 'two']);
      expect((await queue.list({ order: 'asc', limit: 2, offset: 2 })).map((j) => j.id)).toEqual(['three']);
      expect(await h.store().queues()).toContain(queue.name);
      expect(await queue.clear()).toBe(3);
      expect(await queue.size()).toBe(0);
    });
  });
}
