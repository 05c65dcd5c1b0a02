/** Uniqueness, debounce and throttle by key: one job per key, and the returned job says what happened. */
import { describe, expect, it } from 'vitest';
import type { Harness } from './suite.js';
import { Queue, type AddOptions } from '../../src/index.js';

const lease = 1000;

export function uniqueCases(h: Harness): void {
  describe('uniqueness by key', () => {
    it('says how each add was treated: created, existing', async () => {
      const { queue } = h.manualQueue();
      expect((await queue.add(1, { id: 'a' })).outcome).toBe('created');
      const again = await queue.add(2, { id: 'a' });
      expect(again).toMatchObject({ outcome: 'existing', payload: 1 });
    });

    it('drop: a new job is dropped while one with the key is waiting or active', async () => {
      const { queue, clock } = h.manualQueue<number>();
      const first = await queue.add(1, { unique: { key: 'user-7' } });
      expect(first.outcome).toBe('created');
      const second = await queue.add(2, { unique: { key: 'user-7', mode: 'drop' } });
      expect(second).toMatchObject({ outcome: 'dropped', id: first.id, payload: 1 });
      const other = await queue.add(3, { unique: { key: 'user-8' } });
      expect(other.outcome).toBe('created');
      const s = h.store();
      const claimed = await s.claim({
        queue: queue.name,
        workerId: 'w',
        limit: 1,
        leaseMs: lease,
        now: clock.now(),
      });
      expect(claimed.map((j) => j.id)).toEqual([first.id]);
      expect((await queue.add(4, { unique: { key: 'user-7' } })).outcome).toBe('dropped');
      await s.complete(queue.name, [{ id: first.id, token: claimed[0]!.fence, result: null }], clock.now());
      const after = await queue.add(5, { unique: { key: 'user-7' } });
      expect(after.outcome).toBe('created');
      expect(after.id).not.toBe(first.id);
      expect(await queue.size()).toBe(2);
    });

    it('debounce: the waiting job takes the new payload and runs later; a running one is left alone', async () => {
      const { queue, clock } = h.manualQueue<{ text: string }>();
      const t0 = clock.now();
      const a = await queue.add({ text: 'a' }, { unique: { key: 'doc-1', mode: 'debounce', delayMs: 1000 } });
      expect(a).toMatchObject({ outcome: 'created', state: 'delayed', runAt: t0 + 1000 });
      clock.advance(600);
      const b = await queue.add(
        { text: 'ab' },
        { unique: { key: 'doc-1', mode: 'debounce', delayMs: 1000 } },
      );
      expect(b).toMatchObject({ outcome: 'debounced', id: a.id, payload: { text: 'ab' }, runAt: t0 + 1600 });
      expect(await queue.size()).toBe(1);
      const s = h.store();
      clock.advance(999);
      expect(
        await s.claim({ queue: queue.name, workerId: 'w', limit: 5, leaseMs: lease, now: clock.now() }),
      ).toEqual([]);
      clock.advance(1);
      const [run] = await s.claim({
        queue: queue.name,
        workerId: 'w',
        limit: 5,
        leaseMs: lease,
        now: clock.now(),
      });
      expect(JSON.parse(run!.payload)).toEqual({ text: 'ab' });
      const c = await queue.add({ text: 'abc' }, { unique: { key: 'doc-1', mode: 'debounce', delayMs: 0 } });
      expect(c.outcome).toBe('created');
      expect(c.id).not.toBe(a.id);
      expect((await queue.getJob(a.id))!.state).toBe('active');
      const d = await queue.add({ text: 'abcd' }, { unique: { key: 'doc-1', mode: 'debounce', delayMs: 0 } });
      expect(d).toMatchObject({
        outcome: 'debounced',
        id: c.id,
        payload: { text: 'abcd' },
        state: 'waiting',
      });
    });

    it('throttle: at most one job per key per window', async () => {
      const { queue, clock } = h.manualQueue<number>();
      clock.set(Math.ceil(clock.now() / 60_000) * 60_000);
      const u = { key: 'sync', mode: 'throttle', windowMs: 60_000 } as const;
      const a = await queue.add(1, { unique: u });
      clock.advance(59_999);
      const b = await queue.add(2, { unique: u });
      expect(a.outcome).toBe('created');
      expect(b).toMatchObject({ outcome: 'throttled', id: a.id, payload: 1 });
      clock.advance(1);
      const c = await queue.add(3, { unique: u });
      expect(c.outcome).toBe('created');
      expect(await queue.size()).toBe(2);
    });

    it('holds under concurrent adds from several store objects', async () => {
      const { queue, clock } = h.manualQueue<number>();
      const others = h.capabilities.multiProcess ? [await h.open()] : [];
      try {
        const queues = [queue, ...others.map((store) => new Queue<number>(queue.name, { store, clock }))];
        const added = await Promise.all(
          Array.from({ length: 20 }, (_, i) => queues[i % queues.length]!.add(i, { unique: { key: 'k' } })),
        );
        expect(added.filter((j) => j.outcome === 'created')).toHaveLength(1);
        expect(new Set(added.map((j) => j.id)).size).toBe(1);
        expect(await queue.size()).toBe(1);
      } finally {
        await Promise.all(others.map((o) => o.close()));
      }
    });

    it('refuses bad unique options and writes nothing', async () => {
      const { queue } = h.manualQueue();
      const bad: unknown[] = [
        { unique: { key: '' } },
        { unique: { key: 'k', mode: 'sometimes' } },
        { unique: { key: 'k', mode: 'debounce' } },
        { unique: { key: 'k', mode: 'debounce', delayMs: -1 } },
        { unique: { key: 'k', mode: 'throttle', windowMs: 0 } },
        { unique: { key: 'k', mode: 'throttle', windowMs: 1000 }, id: 'mine' },
        { unique: { key: 'k', mode: 'debounce', delayMs: 10 }, delayMs: 5 },
        { unique: { key: 'k', extra: 1 } },
        { unique: 'k' },
      ];
      for (const o of bad) {
        const e = (await queue.add('x', o as AddOptions).catch((x: unknown) => x)) as {
          code?: string;
          path?: string;
        };
        expect(e?.code, JSON.stringify(o)).toBe('VALIDATION');
        expect(e.path).toMatch(/job options/);
      }
      // A bad item in a bulk refuses the whole bulk.
      await expect(
        queue.addBulk([
          { payload: 1, options: { unique: { key: 'ok' } } },
          { payload: 2, options: bad[0] as AddOptions },
        ]),
      ).rejects.toMatchObject({ code: 'VALIDATION' });
      expect(await queue.size()).toBe(0);
    });
  });
}
