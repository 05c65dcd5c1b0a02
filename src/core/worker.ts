import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { Attempt, Context, type AbortCause } from './attempt.js';
import type { Clock } from './clock.js';
import { ClosedError, LeaseLostError, TimeoutError, ValidationError, coerceError } from './errors.js';
import { TypedEmitter, type Disposer, type Listener } from './events.js';
import { decideFate } from './fate.js';
import { toJob, type Job } from './job.js';
import { jobScope, noopLogger, type JobScope, type Logger } from './logger.js';
import type { Queue } from './queue.js';
import { SettleBatch } from './settle.js';
import {
  DEFAULT_RETENTION,
  dependencyGates,
  zWorkerOptions,
  type DependencyGate,
  type FailureInfo,
  type FailureRecord,
  type Handler,
  type WorkerEvents,
  type WorkerOptions,
} from './worker-options.js';
import { parseOptions, toJsonText } from './validate.js';
import { ensureInit, onLocalReady } from './wake.js';
import type { ClaimRequest, FailItem, Store, StoredJob } from '../store/types.js';

/**
 * Runs a handler over a queue's jobs: claims in batches, leases with heartbeats and a fencing token
 * per attempt, classifies every failure to decide the job's fate, and shuts down gracefully.
 */
export class Worker<T = unknown, R = unknown> {
  readonly workerId: string;
  readonly queue: Queue<T, R>;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly options: WorkerOptions;
  private readonly concurrency: number;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly log: Logger;
  private readonly emitter = new TypedEmitter<WorkerEvents>();
  private readonly active = new Map<string, Attempt>();
  /** Jobs claimed and not yet settled in the store: what counts against concurrency. */
  private inflight = 0;
  /** Slots promised to claims still in flight (the loop's, or one riding on a batch of completions). */
  private claiming = 0;
  private running = false;
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private wakeResolve: (() => void) | undefined;
  private wakePending = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeTimerAt: number | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly disposers: Disposer[] = [];
  private readonly settle: SettleBatch;
  private idleResolvers: (() => void)[] = [];
  /** The declared dependencies, looked up once. */
  private readonly gates: { name: string; gate: DependencyGate }[];
  /** When claiming stopped for an unavailable dependency (null: not blocked). */
  private blockedSince: number | null = null;

  constructor(queue: Queue<T, R>, handler: Handler<T, R>, options: WorkerOptions = {}) {
    if (typeof handler !== 'function') {
      throw new ValidationError('[bulwark] a worker needs a handler function', { path: 'handler' });
    }
    this.options = parseOptions(zWorkerOptions, options, 'worker options');
    this.queue = queue;
    this.handler = handler;
    this.store = queue.store;
    this.clock = queue.clock;
    this.concurrency = this.options.concurrency ?? 1;
    this.batchSize = Math.min(this.options.batchSize ?? this.concurrency, this.concurrency);
    this.leaseMs = this.options.leaseMs ?? 30_000;
    this.workerId = this.options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const bindings: Record<string, string> = { queue: queue.name, workerId: this.workerId };
    if (this.options.stage !== undefined) bindings.stage = this.options.stage;
    this.log = (this.options.logger ?? noopLogger).child(bindings);
    this.gates = dependencyGates(this.options);
    this.settle = new SettleBatch(
      this.store,
      queue.name,
      () => this.clock.now(),
      (e) => this.reportError(e, 'settle'),
      {
        request: (freed) => {
          if (this.stopping || !this.running || this.blockedForMs() > 0) return null;
          const limit = Math.min(this.batchSize, this.concurrency - this.inflight - this.claiming + freed);
          if (limit <= 0) return null;
          this.claiming += limit;
          return this.claimRequest(limit);
        },
        deliver: (request, jobs) => {
          this.claiming -= request.limit;
          this.take(jobs);
          // The loop may have looked while these slots were promised here and gone back to sleep.
          this.wake();
        },
      },
      () => this.active.size === 0,
    );
    if (this.options.autostart !== false) this.start();
  }

  private readonly handler: Handler<T, R>;

  on<K extends keyof WorkerEvents>(event: K, listener: Listener<WorkerEvents[K]>): Disposer {
    return this.emitter.on(event, listener);
  }

  /** Resolves with the next event of this kind. */
  next<K extends keyof WorkerEvents>(event: K): Promise<WorkerEvents[K]> {
    return this.emitter.next(event);
  }

  get isRunning(): boolean {
    return this.running && !this.stopping;
  }

  /** Number of jobs claimed and not yet settled. */
  get busy(): number {
    return this.inflight;
  }

  start(): void {
    if (this.closing) throw new ClosedError('[bulwark] the worker is closed');
    if (this.running) return;
    this.running = true;
    const name = this.queue.name;
    this.disposers.push(onLocalReady(this.store, name, () => this.wake()));
    if (this.store.subscribe) this.disposers.push(this.store.subscribe(name, () => this.wake()));
    const o = this.options;
    this.every(o.heartbeatMs ?? Math.floor(this.leaseMs / 3), 'heartbeat', () => this.heartbeat());
    this.every(o.reapIntervalMs ?? Math.floor(this.leaseMs / 2), 'reap', () => this.reap());
    const retention = o.retention === undefined ? DEFAULT_RETENTION : o.retention;
    if (retention !== false && retention.length > 0) {
      this.every(o.cleanupIntervalMs ?? 60_000, 'cleanup', () =>
        this.store.cleanup(name, retention, this.clock.now()),
      );
    }
    this.loopDone = this.loop();
  }

  /** Runs `task` every `ms`, never overlapping itself; errors become `worker:error` events. */
  private every(ms: number, during: string, task: () => Promise<unknown>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      task()
        .catch((e: unknown) => this.reportError(e, during))
        .finally(() => {
          busy = false;
        });
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  private reportError(e: unknown, during: string): void {
    const error = coerceError(e);
    this.log.error({ err: error, during }, 'worker error');
    this.emitter.emit('worker:error', { error, during });
  }

  private wake(): void {
    const r = this.wakeResolve;
    if (r) {
      this.wakeResolve = undefined;
      r();
    } else {
      this.wakePending = true;
    }
  }

  /** Wakes the loop at `at` (a job this worker put back runs then), unless it wakes earlier anyway. */
  private wakeAt(at: number): void {
    const ms = at - this.clock.now();
    if (ms <= 0) return this.wake();
    if (this.wakeTimerAt !== undefined && this.wakeTimerAt <= at) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimerAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimerAt = undefined;
      this.wake();
    }, ms);
    this.wakeTimer.unref();
  }

  private waitForWake(ms: number): Promise<void> {
    if (this.wakePending || this.stopping) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // Not unref'd: a running worker keeps its process alive, like a server does, until close().
      const t = setTimeout(() => {
        this.wakeResolve = undefined;
        resolve();
      }, ms);
      this.wakeResolve = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    const poll = this.options.pollIntervalMs ?? 1000;
    let errors = 0;
    let initialized = false;
    try {
      await ensureInit(this.store);
      initialized = true;
    } catch (e) {
      this.reportError(e, 'init');
    }
    while (!this.stopping) {
      const free = this.concurrency - this.inflight - this.claiming;
      if (free <= 0) {
        await this.waitForWake(poll);
        continue;
      }
      const blockedMs = this.blockedForMs();
      if (blockedMs > 0) {
        await this.waitForWake(Math.min(poll, blockedMs));
        continue;
      }
      const limit = Math.min(free, this.batchSize);
      let claimed: StoredJob[];
      this.wakePending = false;
      this.claiming += limit;
      try {
        // A store that was down at start is set up on the first claim that reaches it.
        if (!initialized) {
          await ensureInit(this.store);
          initialized = true;
        }
        claimed = await this.store.claim(this.claimRequest(limit));
        errors = 0;
      } catch (e) {
        this.reportError(e, 'claim');
        errors++;
        await this.waitForWake(Math.min(poll, 50 * 2 ** Math.min(errors, 10)));
        continue;
      } finally {
        this.claiming -= limit;
      }
      this.take(claimed);
      if (this.stopping) break;
      if (claimed.length === limit) {
        // There may be more; let handlers and I/O run before claiming again.
        await yieldNow();
        continue;
      }
      await this.waitForWake(await this.idleWaitMs(poll));
    }
  }

  /**
   * How long a declared dependency still refuses calls (0: all take calls). Emits `worker:blocked` when
   * claiming stops and `worker:unblocked` when it resumes.
   */
  private blockedForMs(): number {
    if (this.gates.length === 0) return 0;
    let ms = 0;
    let culprit = '';
    for (const { name, gate } of this.gates) {
      const wait = gate.availableInMs();
      if (wait > ms) {
        ms = wait;
        culprit = name;
      }
    }
    const now = this.clock.now();
    if (ms > 0 && this.blockedSince === null) {
      this.blockedSince = now;
      this.log.warn({ dependency: culprit, forMs: ms }, 'dependency unavailable: claiming stopped');
      this.emitter.emit('worker:blocked', { dependency: culprit, forMs: ms });
    } else if (ms === 0 && this.blockedSince !== null) {
      const blockedMs = now - this.blockedSince;
      this.blockedSince = null;
      this.log.info({ blockedMs }, 'dependencies available: claiming resumed');
      this.emitter.emit('worker:unblocked', { blockedMs });
    }
    return ms;
  }

  private claimRequest(limit: number): ClaimRequest {
    return {
      queue: this.queue.name,
      workerId: this.workerId,
      limit,
      leaseMs: this.leaseMs,
      now: this.clock.now(),
      rateLimit: this.queue.rateLimit,
    };
  }

  /** Starts claimed jobs; claimed while closing, they go back untouched (no attempt used). */
  private take(claimed: readonly StoredJob[]): void {
    if (this.stopping) for (const s of claimed) this.settleShutdown(s);
    else for (const s of claimed) this.process(s);
  }

  /** How long an idle worker may sleep: until the next delayed job or throttle window ends, at most `poll`. */
  private async idleWaitMs(poll: number): Promise<number> {
    try {
      const now = this.clock.now();
      const next = await this.store.nextRunAt(this.queue.name);
      if (next === null) return poll;
      if (next > now) return Math.max(1, Math.min(poll, next - now));
      const status = await this.store.status(this.queue.name);
      if (status.throttledUntil > now) return Math.max(1, Math.min(poll, status.throttledUntil - now));
      return poll;
    } catch (e) {
      this.reportError(e, 'idle');
      return poll;
    }
  }

  private process(stored: StoredJob): void {
    const now = this.clock.now();
    let job: Job;
    try {
      job = toJob(stored, now);
    } catch (e) {
      // A row that does not parse can never succeed: dead-letter it rather than loop on it.
      const attempt = new Attempt(
        toJob({ ...stored, payload: 'null', result: null, checkpoint: null, progress: null }, now),
        now,
      );
      this.inflight++;
      this.settleFailure(attempt, new ValidationError('[bulwark] stored job does not parse', { cause: e }));
      return;
    }
    const attempt = new Attempt(job, now);
    this.inflight++;
    this.active.set(job.id, attempt);
    if (this.emitter.has('job:active')) this.emitter.emit('job:active', { job });
    if (job.timeoutMs !== null) {
      const ms = job.timeoutMs;
      attempt.timer = setTimeout(
        () =>
          attempt.abort(
            'timeout',
            new TimeoutError(`[bulwark] job timed out after ${ms} ms`, { timeoutMs: ms }),
          ),
        ms,
      );
      attempt.timer.unref();
    }
    const ctx = new Context<T>(attempt, this.log, (a, patch) => this.save(a, patch), this.options.registry);
    const scope: JobScope = {
      jobId: job.id,
      queue: job.queue,
      attempt: job.attempts,
      correlationId: job.correlationId,
    };
    if (this.options.stage !== undefined) scope.stage = this.options.stage;
    let run: Promise<R>;
    try {
      run = Promise.resolve(jobScope.run(scope, this.handler, ctx));
    } catch (e) {
      run = Promise.reject(e);
    }
    Promise.race([run, attempt.race]).then(
      (result) => this.settleSuccess(attempt, result),
      (error: unknown) => this.settleFailure(attempt, error),
    );
  }

  private record(queue: string, error: unknown, category: FailureRecord['category'], at: number): void {
    const dependency = (error as { dependency?: unknown } | null)?.dependency;
    try {
      this.options.analytics!.record({
        queue,
        dependency: typeof dependency === 'string' ? dependency : undefined,
        category,
        error,
        at,
      });
    } catch (e) {
      this.reportError(e, 'analytics');
    }
  }

  private async save(attempt: Attempt, patch: { checkpoint?: unknown; progress?: unknown }): Promise<void> {
    const job = attempt.job;
    const text: { checkpoint?: string; progress?: string } = {};
    if ('checkpoint' in patch)
      text.checkpoint = toJsonText(patch.checkpoint, 'checkpoint', this.queue.maxPayloadBytes);
    if ('progress' in patch)
      text.progress = toJsonText(patch.progress, 'progress', this.queue.maxPayloadBytes);
    if (attempt.aborted && attempt.cause === 'lease_lost') throw this.leaseLost(job);
    const ok = await this.store.update(job.queue, job.id, job.fence, text, this.clock.now());
    if (!ok) {
      this.loseLease(attempt);
      throw this.leaseLost(job);
    }
    if ('checkpoint' in patch) job.checkpoint = patch.checkpoint;
    if ('progress' in patch) {
      job.progress = patch.progress;
      this.emitter.emit('job:progress', { job, progress: patch.progress });
    }
  }

  private leaseLost(job: Job): LeaseLostError {
    return new LeaseLostError(
      `[bulwark] job ${job.id} attempt ${job.attempts} lost its lease (fence ${job.fence})`,
    );
  }

  private loseLease(attempt: Attempt): void {
    attempt.abort('lease_lost', this.leaseLost(attempt.job));
  }

  private finishAttempt(attempt: Attempt): void {
    attempt.settling = true;
    if (attempt.timer) clearTimeout(attempt.timer);
    this.active.delete(attempt.job.id);
  }

  private settleSuccess(attempt: Attempt, result: unknown): void {
    if (attempt.aborted) return this.settleFailure(attempt, new Error('aborted'));
    let text: string | null;
    try {
      text = result === undefined ? null : toJsonText(result, 'result', this.queue.maxPayloadBytes);
    } catch (e) {
      return this.settleFailure(attempt, e);
    }
    this.finishAttempt(attempt);
    const job = attempt.job;
    this.settle.complete({ id: job.id, token: job.fence, result: text }, (ok) => {
      if (ok) {
        job.state = 'completed';
        job.result = result;
        this.emitter.emit('job:completed', { job, result, durationMs: this.clock.now() - attempt.startedAt });
      }
      this.settled(attempt, ok);
    });
  }

  private settleFailure(attempt: Attempt, thrown: unknown): void {
    this.finishAttempt(attempt);
    const job = attempt.job;
    if (attempt.cause === 'lease_lost') {
      this.emitter.emit('job:stale', { job });
      return this.release();
    }
    if (attempt.cause === 'shutdown') return this.settleShutdownAttempt(attempt);
    const error = attempt.cause === 'timeout' ? (attempt.signal.reason as Error) : thrown;
    const now = this.clock.now();
    const fate = decideFate(job, error, now, this.options, this.options.random);
    if (this.options.analytics) this.record(job.queue, error, fate.classification.category, now);
    const info: FailureInfo & { reason?: string } = {
      job,
      error: coerceError(error),
      category: fate.classification.category,
      delayMs: fate.delayMs,
      action: fate.action,
      reason: fate.item.reason,
    };
    const sideEffects: Promise<unknown>[] = [];
    if (fate.pauseReason !== undefined) {
      const reason = fate.pauseReason;
      sideEffects.push(
        this.store.pause(job.queue, reason, now).then((changed) => {
          // Many jobs may hit the same expired credentials at once: one event per pause, not per job.
          if (changed) this.emitter.emit('queue:paused', { queue: job.queue, reason });
        }),
      );
    }
    if (fate.throttleUntil !== undefined) {
      const untilMs = fate.throttleUntil;
      sideEffects.push(
        this.store
          .throttle(job.queue, untilMs)
          .then(() => this.emitter.emit('queue:throttled', { queue: job.queue, untilMs })),
      );
    }
    const push = (): void =>
      this.settle.fail(fate.item, (ok) => {
        if (ok) {
          this.emitFailure(info, fate.item);
          if (fate.item.action !== 'dead') this.wakeAt(fate.item.runAt);
        }
        this.settled(attempt, ok);
      });
    // Pause and throttle land before the job is back in the queue, so no other worker grabs it first.
    if (sideEffects.length > 0) {
      Promise.all(sideEffects)
        .catch((e: unknown) => this.reportError(e, 'fate'))
        .finally(push);
    } else {
      push();
    }
    if (fate.stopWorker) {
      this.log.error({ err: info.error, jobId: job.id }, 'fatal error: stopping the worker');
      this.close({ reason: `fatal error in job ${job.id}: ${info.error.message}` }).catch((e: unknown) =>
        this.reportError(e, 'close'),
      );
    }
  }

  private emitFailure(info: FailureInfo & { reason?: string }, item: FailItem): void {
    const job = info.job;
    job.errors = [...job.errors, item.error];
    if (item.action === 'dead') {
      job.state = 'dead';
      this.emitter.emit('job:dead', { ...info, reason: item.reason ?? info.error.message });
    } else {
      job.state = 'waiting';
      job.runAt = item.runAt;
      this.emitter.emit(item.action === 'retry' ? 'job:retrying' : 'job:snoozed', info);
    }
  }

  /** An attempt stopped by shutdown goes back to the queue with its attempt given back. */
  private settleShutdownAttempt(attempt: Attempt): void {
    const job = attempt.job;
    const now = this.clock.now();
    this.settle.fail(
      {
        id: job.id,
        token: job.fence,
        action: 'snooze',
        runAt: now,
        error: {
          attempt: job.attempts,
          category: 'transient',
          action: 'shutdown',
          name: 'Shutdown',
          message: 'the worker shut down before the job finished',
          at: now,
        },
      },
      (ok) => this.settled(attempt, ok),
    );
  }

  private settleShutdown(stored: StoredJob): void {
    const job = toJob(stored, this.clock.now());
    const attempt = new Attempt(job, this.clock.now());
    attempt.cause = 'shutdown';
    this.inflight++;
    this.finishAttempt(attempt);
    this.settleShutdownAttempt(attempt);
  }

  private release(): void {
    this.inflight--;
    if (this.inflight === 0) {
      const waiting = this.idleResolvers;
      this.idleResolvers = [];
      for (const r of waiting) r();
    }
    this.wake();
  }

  /** After the store has the outcome: a refused one means the lease was lost meanwhile. */
  private settled(attempt: Attempt, ok: boolean | undefined): void {
    if (ok === false) this.emitter.emit('job:stale', { job: attempt.job });
    this.release();
  }

  private async heartbeat(): Promise<void> {
    if (this.active.size === 0) return;
    const attempts = [...this.active.values()].filter((a) => !a.settling && !a.aborted);
    if (attempts.length === 0) return;
    const items = attempts.map((a) => ({ id: a.job.id, token: a.job.fence }));
    const ok = await this.store.heartbeat(this.queue.name, items, this.leaseMs, this.clock.now());
    ok.forEach((alive, i) => {
      const a = attempts[i]!;
      if (!alive && !a.settling) this.loseLease(a);
    });
  }

  private async reap(): Promise<void> {
    const r = await this.store.reapExpired(this.queue.name, this.clock.now(), 1000);
    if (r.requeued.length === 0 && r.dead.length === 0) return;
    this.log.warn({ requeued: r.requeued.length, dead: r.dead.length }, 'recovered stalled jobs');
    this.emitter.emit('job:stalled', { queue: this.queue.name, ...r });
    if (r.requeued.length > 0) this.wake();
  }

  /** Resolves when no job is in flight (or at once when none is). */
  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleResolvers.push(resolve));
  }

  /**
   * Stops claiming, lets running jobs finish for up to `graceMs`, then aborts the rest (they go back
   * to the queue with their attempt given back), writes every outcome and releases all resources.
   * Idempotent.
   */
  close(options: { graceMs?: number; reason?: string } = {}): Promise<void> {
    return (this.closing ??= this.shutdown(
      options.graceMs ?? this.options.shutdownGraceMs ?? 10_000,
      options.reason ?? 'close',
    ));
  }

  private async shutdown(graceMs: number, reason: string): Promise<void> {
    this.stopping = true;
    this.emitter.emit('worker:stopping', { reason });
    this.wake();
    await this.loopDone;
    if (this.inflight > 0) {
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
        timer.unref();
      });
      await Promise.race([this.idle(), graceOver]);
      clearTimeout(timer);
      const shutdownError = new ClosedError('[bulwark] the worker shut down');
      for (const a of this.active.values())
        if (!a.settling) a.abort('shutdown' satisfies AbortCause, shutdownError);
      await this.idle();
    }
    await this.settle.drained();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.wakeTimer);
    for (const d of this.disposers) d();
    this.running = false;
    this.emitter.emit('worker:closed', { workerId: this.workerId });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export { DEFAULT_RETENTION, type FailureInfo, type Handler, type WorkerEvents, type WorkerOptions };
