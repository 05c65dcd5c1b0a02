/**
 * A worker that cannot renew its leases (the store unreachable, a network partition, the process
 * paused) gives its attempts up once their lease has run out by its own clock: another worker may run
 * the job by then. Their signals abort (a handler that listens stops its side effects) and nothing is
 * written for them. Before, the signal fired only when a heartbeat came back refused, so through a
 * partition longer than the lease the cut-off worker's handlers ran on to completion while the job
 * ran again elsewhere (found by the chaos suite's partition and gc_pause).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseLostError, Queue, Worker, sqliteStore, type Store } from '../../../src/index.js';
import { faultyStore } from '../../helpers/faulty-store.js';
import { waitFor } from '../../helpers/wait.js';

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe('leases that run out while the store cannot be reached', () => {
  it("abort the attempt's signal, write nothing for it, and report it stale", async () => {
    const f = faultyStore(sqliteStore({ path: ':memory:' }));
    store = f.store;
    const queue = new Queue<number>('cut-off', { store });
    await queue.add(1, { id: 'a' });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let reason: unknown;
    const worker = new Worker(
      queue,
      async (ctx) => {
        started();
        // A cooperative handler: it works until its signal says stop.
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        reason = ctx.signal.reason;
        return 'finished anyway';
      },
      { schedules: false, leaseMs: 300, heartbeatMs: 50, reapIntervalMs: 60_000, retention: false },
    );
    const stale: string[] = [];
    worker.on('job:stale', ({ job }) => stale.push(job.id));
    await running;
    // From now on no heartbeat gets an answer: the link is down.
    f.faults.inject('heartbeat', 'hang');
    await waitFor(() => reason !== undefined, 'the signal to abort', 10_000);
    expect(reason).toBeInstanceOf(LeaseLostError);
    await waitFor(() => stale.length > 0, 'job:stale');
    expect(stale).toEqual(['a']);
    f.faults.heal();
    // Nothing was written for the attempt: the job is still the store's to recover.
    const job = await queue.getJob('a');
    expect(job).toMatchObject({ state: 'active', attempts: 1, result: null });
    await worker.close();
  });

  it('a progress write failing while the lease runs out ends in LeaseLostError, not the store error', async () => {
    const f = faultyStore(sqliteStore({ path: ':memory:' }));
    store = f.store;
    const queue = new Queue<number>('cut-off', { store });
    await queue.add(1, { id: 'b' });
    let thrown: unknown;
    const worker = new Worker(
      queue,
      async (ctx) => {
        // The link goes down: heartbeats hang.
        f.faults.inject('heartbeat', 'hang');
        // The write's own error arrives only after the lease has run out (a connect timeout).
        f.faults.inject('update', 'timeout', { ms: 900 });
        try {
          await ctx.progress(1);
        } catch (e) {
          thrown = e;
        }
      },
      { schedules: false, leaseMs: 300, heartbeatMs: 50, reapIntervalMs: 60_000, retention: false },
    );
    await waitFor(() => thrown !== undefined, 'the progress write to give up', 10_000);
    f.faults.heal();
    await worker.close();
    expect(thrown).toBeInstanceOf(LeaseLostError);
  });
});
