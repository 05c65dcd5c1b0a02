/** The worker runtime on the store: every classification category's action, leases, shutdown. */
import { describe, expect, it } from 'vitest';
import type { Harness } from './suite.js';
import {
  AuthError,
  DependencyError,
  FatalError,
  PermanentError,
  RateLimitError,
  ResourceError,
  TransientError,
  ValidationError,
  type Job,
} from '../../src/index.js';
import { sleep, waitFor } from '../helpers/wait.js';

const fast = { delayMs: 1, jitter: 'none' as const };

export function workerCases(h: Harness): void {
  describe('worker and the error classes', () => {
    const settled = async (q: { getJob(id: string): Promise<Job | null> }, id: string, states: string[]) =>
      waitFor(
        async () => {
          const j = await q.getJob(id);
          return j && states.includes(j.state) ? j : null;
        },
        `job ${id} in ${states.join('/')}`,
      );

    it('completes jobs with their results and runs them concurrently', async () => {
      const q = h.queue<number>();
      await q.addBulk(Array.from({ length: 50 }, (_, i) => ({ payload: i, options: { id: `j${i}` } })));
      let running = 0;
      let peak = 0;
      await using w = h.worker(
        q,
        async (ctx) => {
          peak = Math.max(peak, ++running);
          await sleep(2);
          running--;
          return ctx.payload * 2;
        },
        { concurrency: 8 },
      );
      await waitFor(async () => (await q.counts()).completed === 50, 'all completed');
      expect((await q.getJob('j21'))!.result).toBe(42);
      expect(peak).toBeGreaterThan(1);
      expect(peak).toBeLessThanOrEqual(8);
      expect(w.busy).toBe(0);
    });

    it('transient and unknown errors retry with backoff, then dead-letter at max attempts', async () => {
      const q = h.queue();
      await q.add('t', { id: 't', maxAttempts: 3, backoff: fast });
      await q.add('u', { id: 'u', maxAttempts: 2, backoff: fast });
      const seen: string[] = [];
      await using w = h.worker(q, (ctx) => {
        seen.push(`${ctx.job.id}${ctx.attempt}`);
        throw ctx.job.id === 't'
          ? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
          : new Error('weird');
      });
      const retrying: string[] = [];
      w.on('job:retrying', (e) => retrying.push(`${e.job.id}:${e.category}`));
      const t = await settled(q, 't', ['dead']);
      const u = await settled(q, 'u', ['dead']);
      expect(t.attempts).toBe(3);
      expect(t.errors.map((e) => [e.attempt, e.category, e.action])).toEqual([
        [1, 'transient', 'retry'],
        [2, 'transient', 'retry'],
        [3, 'transient', 'dead'],
      ]);
      expect(u.attempts).toBe(2);
      expect(u.errors.map((e) => e.category)).toEqual(['unknown', 'unknown']);
      expect(retrying.sort()).toEqual(['t:transient', 't:transient', 'u:unknown']);
      expect(t.reason).toMatch(/failed 3 of 3 attempts/);
    });

    it('rate_limit snoozes until Retry-After without using an attempt, and throttles the queue', async () => {
      const q = h.queue();
      await q.add('r', { id: 'r', maxAttempts: 1 });
      let calls = 0;
      await using w = h.worker(q, (ctx) => {
        calls++;
        if (ctx.job.snoozes < 2)
          throw Object.assign(new Error('Too Many Requests'), {
            status: 429,
            headers: { 'retry-after': '0.05' },
          });
        return 'ok';
      });
      const snoozed = w.next('job:snoozed');
      const throttled = w.next('queue:throttled');
      expect((await snoozed).delayMs).toBe(50);
      expect((await throttled).untilMs).toBeGreaterThan(Date.now() - 1000);
      const j = await settled(q, 'r', ['completed']);
      // maxAttempts 1, yet three runs: the two snoozes gave their attempts back.
      expect(calls).toBe(3);
      expect(j.attempts).toBe(1);
      expect(j.snoozes).toBe(2);
      expect(j.errors.map((e) => e.category)).toEqual(['rate_limit', 'rate_limit']);
    });

    it('RateLimitError carries retryAfterMs', async () => {
      const q = h.queue();
      await q.add('r', { id: 'r', maxAttempts: 1 });
      await using w = h.worker(q, (ctx) => {
        if (ctx.job.snoozes === 0) throw new RateLimitError('slow down', { retryAfterMs: 30 });
      });
      const e = await w.next('job:snoozed');
      expect(e.delayMs).toBe(30);
      expect(e.category).toBe('rate_limit');
      await settled(q, 'r', ['completed']);
    });

    it('auth pauses the queue and puts the job back without using an attempt', async () => {
      const q = h.queue();
      await q.add('a', { id: 'a', maxAttempts: 1 });
      await q.add('b', { id: 'b', maxAttempts: 1, priority: -1 });
      let expired = true;
      await using w = h.worker(q, () => {
        if (expired) throw new AuthError('token expired');
        return 'ok';
      });
      const paused = await w.next('queue:paused');
      expect(paused.reason).toMatch(/auth: token expired/);
      await waitFor(async () => (await q.getJob('a'))!.state === 'waiting', 'job back');
      expect(await q.status()).toMatchObject({ paused: true });
      const a = (await q.getJob('a'))!;
      expect(a.attempts).toBe(0);
      expect(a.errors.at(-1)).toMatchObject({ category: 'auth', action: 'pause' });
      await sleep(100);
      expect((await q.getJob('b'))!.state).toBe('waiting'); // nothing claimed while paused
      expired = false;
      await q.resume();
      await settled(q, 'a', ['completed']);
      await settled(q, 'b', ['completed']);
    });

    it('401/403 statuses classify as auth', async () => {
      const q = h.queue();
      await q.add('a', { id: 'a' });
      await using w = h.worker(q, () => {
        throw Object.assign(new Error('Forbidden'), { response: { status: 403 } });
      });
      expect((await w.next('queue:paused')).reason).toMatch(/Forbidden/);
    });

    it('validation and permanent errors dead-letter at once', async () => {
      const q = h.queue();
      await q.add('v', { id: 'v', maxAttempts: 5 });
      await q.add('p', { id: 'p', maxAttempts: 5 });
      await q.add('s', { id: 's', maxAttempts: 5 });
      await using _w = h.worker(q, (ctx) => {
        if (ctx.job.id === 'v') throw new ValidationError('missing field "url"');
        if (ctx.job.id === 'p') throw new PermanentError('unsupported format');
        throw Object.assign(new Error('Not Found'), { statusCode: 404 });
      });
      for (const [id, cat] of [
        ['v', 'validation'],
        ['p', 'permanent'],
        ['s', 'permanent'],
      ] as const) {
        const j = await settled(q, id, ['dead']);
        expect(j.attempts).toBe(1);
        expect(j.errors).toHaveLength(1);
        expect(j.errors[0]!.category).toBe(cat);
      }
    });

    it('resource errors retry with a longer backoff', async () => {
      const q = h.queue();
      await q.add('m', { id: 'm', maxAttempts: 2, backoff: { delayMs: 10, jitter: 'none' } });
      await q.add('t', { id: 't', maxAttempts: 2, backoff: { delayMs: 10, jitter: 'none' } });
      await using w = h.worker(
        q,
        (ctx) => {
          if (ctx.attempt === 1)
            throw ctx.job.id === 'm'
              ? Object.assign(new Error('EMFILE'), { code: 'EMFILE' })
              : new TransientError('blip');
        },
        { longBackoffFactor: 5 },
      );
      const delays: Record<string, [string, number]> = {};
      w.on('job:retrying', (e) => (delays[e.job.id] = [e.category, e.delayMs]));
      await settled(q, 'm', ['completed']);
      await settled(q, 't', ['completed']);
      expect(delays).toEqual({ m: ['resource', 50], t: ['transient', 10] });
      void ResourceError;
    });

    it('dependency errors snooze until the dependency may be tried, without using an attempt', async () => {
      const q = h.queue();
      await q.add('d', { id: 'd', maxAttempts: 1 });
      await using w = h.worker(q, (ctx) => {
        if (ctx.job.snoozes === 0)
          throw new DependencyError('openai circuit open', { dependency: 'openai', retryAfterMs: 40 });
        return 'ok';
      });
      const e = await w.next('job:snoozed');
      expect([e.category, e.delayMs]).toEqual(['dependency', 40]);
      const j = await settled(q, 'd', ['completed']);
      expect(j.attempts).toBe(1);
    });

    it('fatal errors keep the checkpoint, put the job back and stop the worker', async () => {
      const q = h.queue();
      await q.add('f', { id: 'f', maxAttempts: 1 });
      const w = h.worker(q, async (ctx) => {
        await ctx.checkpoint({ step: 2 });
        throw new FatalError('config missing: API_KEY');
      });
      const closed = w.next('worker:closed');
      const stopping = await w.next('worker:stopping');
      expect(stopping.reason).toMatch(/API_KEY/);
      await closed;
      expect(w.isRunning).toBe(false);
      const j = (await q.getJob('f'))!;
      expect(j).toMatchObject({ state: 'waiting', attempts: 0, checkpoint: { step: 2 } });
      expect(j.errors.at(-1)).toMatchObject({ category: 'fatal', action: 'stop' });
    });

    it('the action table is configurable per worker, and user rules classify first', async () => {
      const q = h.queue();
      await q.add('x', { id: 'x', maxAttempts: 5 });
      await q.add('y', { id: 'y', maxAttempts: 5 });
      await using _w = h.worker(
        q,
        (ctx) => {
          throw ctx.job.id === 'x' ? new TransientError('flaky') : new Error('quota exceeded for today');
        },
        {
          actions: { transient: 'dead' },
          rules: [(e) => ((e as Error).message.includes('quota') ? 'permanent' : undefined)],
        },
      );
      expect((await settled(q, 'x', ['dead'])).attempts).toBe(1);
      expect((await settled(q, 'y', ['dead'])).errors[0]!.category).toBe('permanent');
    });

    it('a job timeout aborts the handler signal and retries, even if the handler ignores it', async () => {
      const q = h.queue();
      await q.add('slow', { id: 'slow', timeoutMs: 50, maxAttempts: 2, backoff: fast });
      let aborted = 0;
      await using _w = h.worker(
        q,
        async (ctx) => {
          ctx.signal.addEventListener('abort', () => aborted++);
          if (ctx.attempt === 1) await new Promise(() => {}); // never settles
          return 'second';
        },
        // The first attempt's handler never returns and keeps its slot: the retry needs a second one.
        { concurrency: 2 },
      );
      const j = await settled(q, 'slow', ['completed']);
      expect(aborted).toBe(1);
      expect(j.attempts).toBe(2);
      expect(j.errors[0]).toMatchObject({ category: 'transient', name: 'TimeoutError' });
    });

    it('a handler that ignores its abort keeps its slot until it returns, and is reported as a zombie', async () => {
      const q = h.queue<string>();
      await q.addBulk([
        { payload: 'hang', options: { id: 'hang', timeoutMs: 30, maxAttempts: 1 } },
        { payload: 'next', options: { id: 'next' } },
      ]);
      let release!: () => void;
      const hung = new Promise<void>((r) => (release = r));
      const running = new Set<string>();
      const started: string[] = [];
      let most = 0;
      await using w = h.worker(
        q,
        async (ctx) => {
          running.add(ctx.job.id);
          started.push(ctx.job.id);
          most = Math.max(most, running.size);
          try {
            if (ctx.payload === 'hang') await hung; // ignores ctx.signal
            return ctx.payload;
          } finally {
            running.delete(ctx.job.id);
          }
        },
        { concurrency: 1, zombieAfterMs: 20 },
      );
      const zombie = await w.next('job:zombie');
      expect(zombie).toMatchObject({ cause: 'timeout', job: { id: 'hang' } });
      // Its outcome is written (dead after its only attempt), but its slot is still taken.
      await settled(q, 'hang', ['dead']);
      expect(w.busy).toBe(1);
      expect(started).toEqual(['hang']); // 'next' may be claimed ahead, but it does not run
      release();
      await settled(q, 'next', ['completed']);
      expect(most).toBe(1);
    });

    it('a retry resumes from the last checkpoint; progress is saved', async () => {
      const q = h.queue<{ pages: number }>();
      await q.add({ pages: 5 }, { id: 'c', backoff: fast });
      const visited: number[] = [];
      await using _w = h.worker(q, async (ctx) => {
        const start = ((ctx.lastCheckpoint as { page?: number } | null)?.page ?? 0) + 1;
        for (let p = start; p <= ctx.payload.pages; p++) {
          visited.push(p);
          if (p === 3 && ctx.attempt === 1) throw new TransientError('page 3 timed out');
          await ctx.checkpoint({ page: p });
          await ctx.progress(p / ctx.payload.pages);
        }
        return visited.length;
      });
      const j = await settled(q, 'c', ['completed']);
      expect(visited).toEqual([1, 2, 3, 3, 4, 5]);
      expect(j.progress).toBe(1);
      expect(j.checkpoint).toEqual({ page: 5 });
    });

    it('recovers the jobs of a worker that died (lease expiry), and fences its late completion', async () => {
      const q = h.queue();
      await q.add('z', { id: 'z', maxAttempts: 3 });
      // A "dead" worker: claims with a short lease, then never heart-beats or completes in time.
      const [claimed] = await h
        .store()
        .claim({ queue: q.name, workerId: 'ghost', limit: 1, leaseMs: 100, now: Date.now() });
      expect(claimed!.id).toBe('z');
      const stalled: string[] = [];
      await using w = h.worker(q, (ctx) => `done by ${ctx.attempt}`, { leaseMs: 1000, reapIntervalMs: 50 });
      w.on('job:stalled', (e) => stalled.push(...e.requeued));
      const j = await settled(q, 'z', ['completed']);
      expect(stalled).toEqual(['z']);
      expect(j.result).toBe('done by 2');
      expect(j.errors[0]).toMatchObject({ action: 'stalled' });
      expect(
        await h.store().complete(q.name, [{ id: 'z', token: claimed!.fence, result: '"ghost"' }], Date.now()),
      ).toEqual([false]);
      expect((await q.getJob('z'))!.result).toBe('done by 2');
    });

    it('cancelling an active job aborts its signal and refuses its result', async () => {
      const q = h.queue();
      await q.add('long', { id: 'long' });
      let sawAbort = false;
      await using w = h.worker(
        q,
        async (ctx) => {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
          sawAbort = true;
          return 'too late';
        },
        { leaseMs: 300, heartbeatMs: 30 },
      );
      await w.next('job:active');
      const stale = w.next('job:stale');
      expect(await q.cancel('long')).toEqual(['long']);
      await stale;
      expect(sawAbort).toBe(true);
      expect((await q.getJob('long'))!).toMatchObject({ state: 'cancelled', result: null });
    });

    it('shuts down gracefully: stops claiming, lets jobs finish, aborts after the grace period', async () => {
      const q = h.queue();
      await q.addBulk([
        { payload: 'quick', options: { id: 'quick' } },
        { payload: 'stuck', options: { id: 'stuck' } },
      ]);
      const w = h.worker(
        q,
        async (ctx) => {
          if (ctx.payload === 'quick') {
            await sleep(30);
            return 'ok';
          }
          await new Promise(() => {}); // ignores its signal
        },
        { concurrency: 2 },
      );
      await waitFor(() => w.busy === 2, 'both running');
      await q.add('late', { id: 'late' });
      await w.close({ graceMs: 150 });
      expect(w.isRunning).toBe(false);
      expect((await q.getJob('quick'))!.state).toBe('completed');
      const stuck = (await q.getJob('stuck'))!;
      expect(stuck).toMatchObject({ state: 'waiting', attempts: 0 });
      expect(stuck.errors.at(-1)).toMatchObject({ action: 'shutdown' });
      expect((await q.getJob('late'))!.state).toBe('waiting');
      await w.close(); // idempotent
    });

    it('a queue rate limit holds across two workers', async () => {
      const q = h.queue<number>({ rateLimit: { max: 5, intervalMs: 60_000 } });
      await q.addBulk(Array.from({ length: 12 }, (_, i) => ({ payload: i })));
      await using _a = h.worker(q, () => 'a', { concurrency: 4 });
      await using _b = h.worker(q, () => 'b', { concurrency: 4 });
      await waitFor(async () => (await q.counts()).completed >= 5, 'first window used');
      await sleep(150);
      const c = await q.counts();
      // The window (one minute) may have started mid-test: at most two windows' worth ran.
      expect(c.completed === 5 || c.completed === 10).toBe(true);
      expect((await q.status()).throttledUntil).toBeGreaterThan(Date.now());
    });

    it('carries the correlation id into jobs added from inside a handler', async () => {
      const q = h.queue<string>();
      await q.add('parent', { id: 'p', correlationId: 'req-42' });
      await using _w = h.worker(q, async (ctx) => {
        if (ctx.payload === 'parent') await q.add('child', { id: 'c' });
      });
      expect((await settled(q, 'c', ['completed'])).correlationId).toBe('req-42');
    });
  });
}
