/**
 * Capabilities mean what they say: each flag a store declares runs its cases here, and a store
 * without a capability refuses the calls that need it with a CapabilityError that names both.
 */
import { describe, expect, it } from 'vitest';
import { Queue, isCapabilityError, type Store } from '../../src/index.js';
import type { NewJob } from '../../src/store/index.js';
import { waitFor } from '../helpers/wait.js';
import type { Harness } from './suite.js';

const lease = 1000;

function newJob(queue: string, id: string, now: number): NewJob {
  return {
    queue,
    id,
    name: null,
    payload: '"p"',
    priority: 0,
    runAt: now,
    maxAttempts: 3,
    backoff: '{"type":"constant","delayMs":0,"maxDelayMs":0,"factor":1,"jitter":"none"}',
    timeoutMs: null,
    correlationId: 'c',
    metadata: '{}',
    createdAt: now,
  };
}

export function capabilityCases(h: Harness): void {
  const declared = h.capabilities;
  describe('capabilities', () => {
    it('declares exactly the capabilities the suite was told of; notify comes with subscribe', () => {
      expect(h.store().capabilities).toEqual(declared);
      if (declared.notify) expect(typeof h.store().subscribe).toBe('function');
    });

    it('closes idempotently, and `await using` closes it', async () => {
      if (!declared.multiProcess && !declared.durable) {
        // Another object on the same data does not exist here: check the store the suite made.
        expect(typeof h.store()[Symbol.asyncDispose]).toBe('function');
        return;
      }
      let other: Store;
      {
        await using s = await h.open();
        other = s;
        expect(await s.queues()).toEqual(expect.any(Array));
      }
      await other.close();
      await expect(other.counts('x', Date.now())).rejects.toThrow();
    });

    it.skipIf(!declared.notify)(
      'notify: an add through another store object wakes a subscriber',
      async () => {
        const queue = h.queue();
        let wakes = 0;
        const off = h.store().subscribe!(queue.name, () => wakes++);
        const other = await h.open();
        try {
          const q2 = new Queue(queue.name, { store: other });
          // The listener may still be connecting: add until a wake-up arrives.
          let n = 0;
          await waitFor(async () => {
            await q2.add(n, { id: `n${n++}` });
            return wakes > 0;
          }, 'a wake-up from the other store object');
        } finally {
          off();
          await other.close();
        }
      },
    );

    it.skipIf(!declared.transactionalEnqueue)(
      'transactionalEnqueue: a job added in a transaction exists only after COMMIT',
      async () => {
        const queue = h.queue();
        await h.transaction((tx) => queue.add('x', { id: 'rolled-back' }, { tx }), 'rollback');
        expect(await queue.getJob('rolled-back')).toBeNull();
        await h.transaction((tx) => queue.add('x', { id: 'committed' }, { tx }), 'commit');
        expect((await queue.getJob('committed'))?.state).toBe('waiting');
      },
    );

    it.skipIf(declared.transactionalEnqueue)(
      'without transactionalEnqueue: tx is refused with a CapabilityError, nothing written',
      async () => {
        const queue = h.queue();
        const tx = { query: () => undefined };
        const viaQueue = await queue.add('x', { id: 'a' }, { tx }).catch((e: unknown) => e);
        const viaStore = await h
          .store()
          .add([newJob(queue.name, 'b', Date.now())], { tx })
          .catch((e: unknown) => e);
        for (const e of [viaQueue, viaStore]) {
          expect(isCapabilityError(e)).toBe(true);
          expect(e).toMatchObject({ store: h.store().name, capability: 'transactionalEnqueue' });
          expect((e as Error).message).toContain(h.store().name);
        }
        expect(await queue.counts()).toMatchObject({ waiting: 0 });
      },
    );

    it.skipIf(!declared.multiProcess)(
      'multiProcess: two store objects share jobs, leases and fences',
      async () => {
        const { queue, clock } = h.manualQueue();
        const a = h.store();
        const b = await h.open();
        try {
          await queue.add('x', { id: 'shared' });
          expect((await b.getJob(queue.name, 'shared'))?.state).toBe('waiting');
          const claim = (s: Store) =>
            s.claim({ queue: queue.name, workerId: 'w', limit: 1, leaseMs: lease, now: clock.now() });
          const [first] = await claim(a);
          expect(first?.id).toBe('shared');
          expect(await claim(b)).toEqual([]);
          clock.advance(lease + 1);
          expect((await b.reapExpired(queue.name, clock.now(), 10)).requeued).toEqual(['shared']);
          const [second] = await claim(b);
          expect(second!.fence).toBeGreaterThan(first!.fence);
          const done = (s: Store, token: number) =>
            s.complete(queue.name, [{ id: 'shared', token, result: null }], clock.now());
          expect(await done(a, first!.fence)).toEqual([false]);
          expect(await done(b, second!.fence)).toEqual([true]);
        } finally {
          await b.close();
        }
      },
    );

    it.skipIf(!declared.durable)('durable: jobs outlive the store object that added them', async () => {
      const name = h.queue().name;
      const writer = await h.open();
      await new Queue(name, { store: writer }).add({ keep: true }, { id: 'kept' });
      await writer.close();
      const reader = await h.open();
      try {
        expect((await new Queue(name, { store: reader }).getJob('kept'))?.payload).toEqual({ keep: true });
      } finally {
        await reader.close();
      }
    });
  });
}
