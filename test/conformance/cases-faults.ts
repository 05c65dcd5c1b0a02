/**
 * Faults on the paths the happy cases never walk, injected into the real store: outcome writes that
 * fail (before or after taking effect), checkpoints racing a shutdown, a store that stops answering,
 * and the give-backs that must not count as snoozes.
 */
import { describe, expect, it } from 'vitest';
import { AuthError, ValidationError, type Job, type Queue } from '../../src/index.js';
import { faultyStore } from '../helpers/faulty-store.js';
import { waitFor } from '../helpers/wait.js';
import type { Harness } from './suite.js';

export function faultCases(h: Harness): void {
  describe('faults', () => {
    const faulty = <T>() => {
      const { store, faults } = faultyStore(h.store());
      return { q: h.queue<T>({ store }), faults };
    };
    const settled = (q: Queue<unknown>, id: string, states: string[]): Promise<Job> =>
      waitFor(
        async () => {
          const j = await q.getJob(id);
          return j && states.includes(j.state) ? j : null;
        },
        `job ${id} in ${states.join('/')}`,
      );

    it('a completion whose write fails is retried, never dropped: success on the last attempt completes', async () => {
      const { q, faults } = faulty<string>();
      await q.add('x', { id: 'last', maxAttempts: 1 });
      faults.inject('complete', 'fail', { times: 3 });
      faults.inject('completeAndClaim', 'fail', { times: 3 });
      const errors: string[] = [];
      await using w = h.worker(q, () => 'done');
      w.on('worker:error', (e) => errors.push(e.during));
      const j = await settled(q, 'last', ['completed', 'dead']);
      expect(j).toMatchObject({ state: 'completed', attempts: 1, result: 'done' });
      expect(errors).toContain('settle');
    });

    it('a completion that landed before the connection dropped is not called stale', async () => {
      const { q, faults } = faulty<string>();
      await q.add('x', { id: 'landed' });
      faults.inject('complete', 'failAfter', { times: 1 });
      faults.inject('completeAndClaim', 'failAfter', { times: 1 });
      await using w = h.worker(q, () => 'ok');
      const stale: string[] = [];
      w.on('job:stale', (e) => stale.push(e.job.id));
      const done = await w.next('job:completed');
      expect(done.job.id).toBe('landed');
      expect(stale).toEqual([]);
      expect((await q.getJob('landed'))!.state).toBe('completed');
    });

    it('a failure whose write fails is retried: the fate still happens', async () => {
      const { q, faults } = faulty<string>();
      await q.add('x', { id: 'bad' });
      faults.inject('fail', 'fail', { times: 2 });
      await using w = h.worker(q, () => {
        throw new ValidationError('bad input');
      });
      const dead = await w.next('job:dead');
      expect(dead.job.id).toBe('bad');
      expect((await q.getJob('bad'))!).toMatchObject({ state: 'dead', attempts: 1 });
    });

    it('the lease holds while an outcome write is retried for longer than the lease', async () => {
      const { q, faults } = faulty<string>();
      await q.add('x', { id: 'held', maxAttempts: 1 });
      // Retries back off 50, 100, 200, 400 ms: longer than the 300 ms lease.
      faults.inject('complete', 'fail', { times: 4 });
      faults.inject('completeAndClaim', 'fail', { times: 4 });
      await using w = h.worker(q, () => 'ok', { leaseMs: 300, heartbeatMs: 50, reapIntervalMs: 50 });
      const stalled: string[] = [];
      w.on('job:stalled', (e) => stalled.push(...e.requeued, ...e.dead));
      const j = await settled(q, 'held', ['completed', 'dead']);
      expect(j).toMatchObject({ state: 'completed', attempts: 1 });
      expect(stalled).toEqual([]);
    });

    it('a checkpoint written in the abort listener at shutdown lands before the job is given back', async () => {
      const { q, faults } = faulty<string>();
      await q.add('x', { id: 'saver' });
      // A slow checkpoint write: without ordering, the give-back would land first and refuse it.
      faults.inject('update', 'delay', { ms: 100 });
      let saved: boolean | undefined;
      const w = h.worker(q, (ctx) => {
        ctx.signal.addEventListener('abort', () => {
          ctx.checkpoint({ at: 'abort' }).then(
            () => (saved = true),
            () => (saved = false),
          );
        });
        return new Promise(() => {}); // runs until shutdown
      });
      await waitFor(() => w.busy === 1, 'the job running');
      const result = await w.close({ graceMs: 20 });
      expect(result).toMatchObject({ zombies: 1, unwritten: 0 });
      await waitFor(() => saved !== undefined, 'the checkpoint settled');
      expect(saved).toBe(true);
      const j = (await q.getJob('saver'))!;
      expect(j).toMatchObject({ state: 'waiting', attempts: 0, snoozes: 0, checkpoint: { at: 'abort' } });
      expect(j.errors.at(-1)).toMatchObject({ action: 'shutdown' });
    });

    it('close() ends within its bounds when the store stops answering, and says what it left', async () => {
      const { q, faults } = faulty<string>();
      await q.add('x', { id: 'stuck' });
      let started = false;
      const w = h.worker(
        q,
        async () => {
          started = true;
          await new Promise((r) => setTimeout(r, 50));
          return 'late';
        },
        { settleTimeoutMs: 200 },
      );
      await waitFor(() => started, 'the job running');
      for (const m of ['complete', 'completeAndClaim', 'fail', 'claim', 'heartbeat', 'nextRunAt'] as const) {
        faults.inject(m, 'hang');
      }
      const result = await w.close({ graceMs: 100 });
      expect(result.unwritten).toBe(1);
      faults.heal(); // the hung calls now reach the store; nothing may throw
      expect(['active', 'completed']).toContain((await q.getJob('stuck'))!.state);
    });

    it('pauses and shutdowns give the attempt back without counting a snooze', async () => {
      const q = h.queue<string>();
      await q.add('x', { id: 'p', maxAttempts: 1 });
      let expired = true;
      const w = h.worker(q, async (ctx) => {
        if (expired) throw new AuthError('token expired');
        await new Promise((r) => ctx.signal.addEventListener('abort', r));
        throw ctx.signal.reason;
      });
      await w.next('queue:paused');
      const paused = await waitFor(async () => {
        const j = (await q.getJob('p'))!;
        return j.state === 'waiting' ? j : null;
      }, 'job back after the pause');
      expect(paused).toMatchObject({ attempts: 0, snoozes: 0 });
      expired = false;
      await q.resume();
      await waitFor(() => w.busy === 1, 'running again');
      await w.close({ graceMs: 0 });
      const j = (await q.getJob('p'))!;
      expect(j).toMatchObject({ state: 'waiting', attempts: 0, snoozes: 0 });
      expect(j.errors.map((e) => e.action)).toEqual(['pause', 'shutdown']);
    });
  });
}
