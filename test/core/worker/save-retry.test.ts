/**
 * A checkpoint or progress write that meets a store which is briefly unreachable waits for it, like
 * an outcome write does, rather than failing the handler: during a Postgres restart every running
 * handler that reported progress threw, and its job lost an attempt (on Redis, whose client queues
 * commands while it reconnects, the same handlers just waited). Found by the chaos suite's
 * server_restart. A store that answers "lease lost" still ends the wait at once.
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

describe('checkpoint and progress writes while the store is unreachable', () => {
  it('wait for the store to answer: the attempt goes on and the job completes on its first attempt', async () => {
    const f = faultyStore(sqliteStore({ path: ':memory:' }));
    store = f.store;
    const queue = new Queue<number>('saves', { store });
    await queue.add(1, { id: 'a' });
    // Connection refused, three times in a row: what a restarting server answers.
    f.faults.inject('update', 'fail', {
      times: 3,
      error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    });
    const errors: string[] = [];
    const worker = new Worker(
      queue,
      async (ctx) => {
        await ctx.checkpoint({ step: 1 });
        await ctx.progress(50);
        return 'done';
      },
      { schedules: false },
    );
    worker.on('worker:error', ({ during }) => errors.push(during));
    const job = await waitFor(async () => {
      const j = await queue.getJob('a');
      return j && j.state !== 'waiting' && j.state !== 'active' ? j : null;
    }, 'the job to finish');
    await worker.close();
    expect(job).toMatchObject({ state: 'completed', attempts: 1, result: 'done', progress: 50 });
    expect(job.checkpoint).toEqual({ step: 1 });
    expect(f.faults.hits.update).toBe(3);
    expect(errors).toContain('save');
  });

  it('an unclassified driver error (a connection cut mid-query) is waited out too', async () => {
    const f = faultyStore(sqliteStore({ path: ':memory:' }));
    store = f.store;
    const queue = new Queue<number>('saves', { store });
    await queue.add(1, { id: 'c' });
    f.faults.inject('update', 'fail', { times: 2, error: new Error('Connection terminated unexpectedly') });
    const worker = new Worker(
      queue,
      async (ctx) => {
        await ctx.progress(1);
        return 'done';
      },
      { schedules: false },
    );
    const job = await waitFor(async () => {
      const j = await queue.getJob('c');
      return j && j.state !== 'waiting' && j.state !== 'active' ? j : null;
    }, 'the job to finish');
    await worker.close();
    expect(job).toMatchObject({ state: 'completed', attempts: 1, progress: 1 });
  });

  it('a full disk is not waited out: the handler hears of it', async () => {
    const f = faultyStore(sqliteStore({ path: ':memory:' }));
    store = f.store;
    const queue = new Queue<number>('saves', { store });
    await queue.add(1, { id: 'd' });
    f.faults.inject('update', 'fail', {
      error: Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }),
    });
    let thrown: unknown;
    const worker = new Worker(
      queue,
      async (ctx) => {
        try {
          await ctx.checkpoint({ step: 1 });
        } catch (e) {
          thrown = e;
        }
      },
      { schedules: false },
    );
    await waitFor(() => thrown !== undefined, 'the checkpoint to fail');
    await worker.close();
    expect(thrown).toMatchObject({ code: 'ENOSPC' });
    expect(f.faults.hits.update).toBe(1);
  });

  it('a write the store refuses (the lease is gone) still throws LeaseLostError at once', async () => {
    store = sqliteStore({ path: ':memory:' });
    const queue = new Queue<number>('saves', { store });
    await queue.add(1, { id: 'b' });
    let thrown: unknown;
    const worker = new Worker(
      queue,
      async (ctx) => {
        await queue.cancel('b');
        try {
          await ctx.checkpoint({ step: 1 });
        } catch (e) {
          thrown = e;
        }
      },
      { schedules: false },
    );
    await waitFor(() => thrown !== undefined, 'the checkpoint to be refused');
    await worker.close();
    expect(thrown).toBeInstanceOf(LeaseLostError);
  });
});
