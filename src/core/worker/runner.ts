/**
 * Runs attempts: turns a claimed row into a job, arms its timeout, runs the handler inside the job's
 * scope (correlation id for the logs), settles it when it returns or is aborted, whichever comes first,
 * and saves checkpoints and progress under the lease. The outcome goes to the Settler.
 */
import {
  LeaseLostError,
  TimeoutError,
  ValidationError,
  coerceError,
  isStoreClosed,
  messageOf,
} from '../../kernel/errors.js';
import { jobScope, type JobScope } from '../../kernel/logger.js';
import { jobTracer, type JobTracer } from '../../kernel/trace.js';
import type { AdaptiveLimiter } from '../../resilience/adaptive-limiter.js';
import { classify } from '../../resilience/classify.js';
import { toJsonText } from '../../kernel/validate.js';
import type { StoredJob } from '../../store/types.js';
import { toJob, type Job } from '../job.js';
import { Attempt, type AbortCause } from './attempt.js';
import type { Claimer, WorkerEnv } from './claimer.js';
import { Context, type DependencySource, type SavePatch } from './context.js';
import type { Handler } from './options.js';
import type { Settler } from './settler.js';

export class Runner<T, R> {
  /** Attempts whose handler runs now, by job id. */
  readonly active = new Map<string, Attempt>();
  private readonly save = (attempt: Attempt, patch: SavePatch): Promise<void> =>
    this.saveUnderLease(attempt, patch);

  constructor(
    private readonly env: WorkerEnv,
    private readonly handler: Handler<T, R>,
    private readonly claimer: Claimer,
    private readonly settler: Settler,
    private readonly options: {
      registry?: DependencySource;
      stage?: string;
      zombieAfterMs: number;
      limiter?: AdaptiveLimiter;
    },
  ) {}

  start(stored: StoredJob): void {
    const { clock, emitter } = this.env;
    const now = clock.now();
    let job: Job;
    try {
      job = toJob(stored, now);
    } catch (e) {
      // A row that does not parse can never succeed: dead-letter it rather than loop on it.
      const attempt = new Attempt(
        toJob({ ...stored, payload: 'null', result: null, checkpoint: null, progress: null }, now),
        now,
      );
      this.claimer.hold(attempt);
      attempt.finish();
      this.settler.failure(attempt, new ValidationError('[bulwark] stored job does not parse', { cause: e }));
      return;
    }
    const attempt = new Attempt(job, now);
    attempt.handlerDone = false;
    attempt.permit = this.options.limiter?.tryAcquire();
    attempt.onAbort = (reason) => this.aborted(attempt, reason);
    this.claimer.hold(attempt);
    this.active.set(job.id, attempt);
    if (emitter.has('job:active')) emitter.emit('job:active', { job });
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
    const ctx = new Context<T>(attempt, this.env.log, this.save, this.options.registry, this.env.queue);
    const scope: JobScope = {
      jobId: job.id,
      queue: job.queue,
      attempt: job.attempts,
      correlationId: job.correlationId,
    };
    if (this.options.stage !== undefined) scope.stage = this.options.stage;
    let run: Promise<R>;
    try {
      const tracer = jobTracer();
      run = Promise.resolve(
        tracer ? this.traced(tracer, attempt, scope, ctx) : jobScope.run(scope, this.handler, ctx),
      );
    } catch (e) {
      run = Promise.reject(e);
    }
    // The slot is held until the handler itself returns, even when an abort settled the attempt first.
    run.then(
      (result) => {
        this.handlerReturned(attempt);
        endPermit(attempt, undefined);
        if (attempt.settling) return;
        attempt.span?.end();
        this.finish(attempt);
        this.settler.success(attempt, result);
      },
      (thrown: unknown) => {
        const error = readable(thrown);
        this.handlerReturned(attempt);
        endPermit(attempt, error ?? new Error('handler failed'));
        if (attempt.settling) return;
        attempt.span?.end(error);
        this.finish(attempt);
        this.settler.failure(attempt, error);
      },
    );
  }

  /** The handler inside the attempt's consumer span (its first attempt continues the add's trace). */
  private traced(tracer: JobTracer, attempt: Attempt, scope: JobScope, ctx: Context<T>): R | Promise<R> {
    const job = attempt.job;
    const tp = job.metadata.traceparent;
    const { span, result } = tracer.process(
      {
        queue: job.queue,
        id: job.id,
        attempt: job.attempts,
        correlationId: job.correlationId,
        traceparent: typeof tp === 'string' ? tp : undefined,
      },
      () => jobScope.run(scope, this.handler, ctx),
    );
    attempt.span = span;
    return result;
  }

  /** Aborts every attempt still running (shutdown after the grace period). */
  abortAll(cause: AbortCause, reason: Error): void {
    for (const a of this.active.values()) if (!a.settling) a.abort(cause, reason);
  }

  loseLease(attempt: Attempt): void {
    attempt.abort('lease_lost', leaseLost(attempt.job));
  }

  /** Handlers still running after their abort (they hold their slots). */
  get zombies(): number {
    let n = 0;
    for (const a of this.claimer.held) if (!a.handlerDone && a.aborted) n++;
    return n;
  }

  /** An abort settles the attempt now; a handler still running is watched for becoming a zombie. */
  private aborted(attempt: Attempt, reason: Error): void {
    if (!attempt.settling) {
      attempt.span?.end(reason);
      this.finish(attempt);
      this.settler.failure(attempt, reason);
    }
    if (!attempt.handlerDone) this.watchZombie(attempt);
  }

  /** After an abort: a handler that does not return within the bound is reported as a zombie. */
  private watchZombie(attempt: Attempt): void {
    const { clock, emitter, log } = this.env;
    const abortedAt = clock.now();
    attempt.zombieTimer = setTimeout(() => {
      if (attempt.handlerDone) return;
      attempt.zombie = true;
      const job = attempt.job;
      const sinceAbortMs = clock.now() - abortedAt;
      log.warn(
        { jobId: job.id, attempt: job.attempts, cause: attempt.cause, sinceAbortMs },
        'handler ignores its abort signal: still running, holding its slot',
      );
      emitter.emit('job:zombie', { job, cause: attempt.cause!, sinceAbortMs });
    }, this.options.zombieAfterMs);
    attempt.zombieTimer.unref();
  }

  private handlerReturned(attempt: Attempt): void {
    clearTimeout(attempt.zombieTimer);
    if (attempt.zombie) {
      this.env.log.info({ jobId: attempt.job.id }, 'a zombie handler returned: its slot is free');
    }
    this.claimer.handlerDone(attempt, this.env.clock.now() - attempt.startedAt);
  }

  private finish(attempt: Attempt): void {
    attempt.finish();
    this.active.delete(attempt.job.id);
  }

  private saveUnderLease(attempt: Attempt, patch: SavePatch): Promise<void> {
    const save = this.writeSave(attempt, patch);
    attempt.track(save);
    return save;
  }

  private async writeSave(attempt: Attempt, patch: SavePatch): Promise<void> {
    const { queue, emitter } = this.env;
    const job = attempt.job;
    const text: { checkpoint?: string; progress?: string } = {};
    if ('checkpoint' in patch)
      text.checkpoint = toJsonText(patch.checkpoint, 'checkpoint', queue.maxPayloadBytes);
    if ('progress' in patch) text.progress = toJsonText(patch.progress, 'progress', queue.maxPayloadBytes);
    if (attempt.aborted && attempt.cause === 'lease_lost') throw leaseLost(job);
    const ok = await this.updateWhenReachable(attempt, text);
    if (!ok) {
      this.loseLease(attempt);
      throw leaseLost(job);
    }
    if ('checkpoint' in patch) job.checkpoint = patch.checkpoint;
    if ('progress' in patch) {
      job.progress = patch.progress;
      emitter.emit('job:progress', { job, progress: patch.progress });
    }
  }

  /**
   * The write of a checkpoint or progress, retried while the store cannot be reached (a restart, a
   * dropped connection), as outcome writes are: the heartbeats keep the lease meanwhile, and the
   * handler waits rather than losing its attempt to the store's outage. Stops at an error that is not
   * about reaching the store, or when the attempt is aborted (timeout, shutdown, lost lease).
   */
  private async updateWhenReachable(
    attempt: Attempt,
    text: { checkpoint?: string; progress?: string },
  ): Promise<boolean> {
    const { store, clock } = this.env;
    const job = attempt.job;
    // The lease ran out meanwhile (by this worker's clock): the handler hears that, not the store error.
    const lost = (): boolean => attempt.cause === 'lease_lost';
    for (let n = 0; ; n++) {
      try {
        return await store.update(job.queue, job.id, job.fence, text, clock.now());
      } catch (e) {
        if (lost()) throw leaseLost(job);
        if (attempt.aborted || isStoreClosed(e) || !UNREACHABLE.has(classify(e).category)) throw e;
        this.env.reportError(e, 'save');
        await pause(Math.min(SAVE_RETRY_MAX_MS, SAVE_RETRY_FIRST_MS * 2 ** n), attempt.signal);
        if (attempt.aborted) throw lost() ? leaseLost(job) : e;
      }
    }
  }
}

/**
 * Errors a save is retried on: transient ones, and unclassified ones (a driver's "Connection
 * terminated unexpectedly" has no code); not a full disk, a bad value or a programming error.
 */
const UNREACHABLE = new Set<string>(['transient', 'unknown']);
const SAVE_RETRY_FIRST_MS = 50;
/** The longest wait between two tries of a save (the same bound as outcome writes). */
const SAVE_RETRY_MAX_MS = 1000;

/** Waits `ms`, or less if `signal` aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    if (signal.aborted) return done();
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Tells the worker's adaptive limit how the handler went, once it returns: its latency, and whether a
 * failure was congestion (the limiter judges: resource and dependency errors, timeouts). An attempt
 * stopped for another reason (lost lease, shutdown) says nothing about the load.
 */
function endPermit(attempt: Attempt, error: unknown): void {
  const permit = attempt.permit;
  if (permit === undefined) return;
  attempt.permit = undefined;
  if (attempt.cause === 'timeout') permit.failure(attempt.signal.reason);
  else if (attempt.cause !== undefined) permit.release();
  else if (error === undefined) permit.success();
  else permit.failure(error);
}

function leaseLost(job: Job): LeaseLostError {
  return new LeaseLostError(
    `[bulwark] job ${job.id} attempt ${job.attempts} lost its lease (fence ${job.fence})`,
  );
}

/**
 * What the handler threw, or a stand-in Error when reading it throws (a getter or a proxy trap of the
 * thrown value): the limiter, the span and the settler all read it, and none of them may be stopped
 * from settling the job by the value itself.
 */
function readable(thrown: unknown): unknown {
  try {
    classify(thrown);
    const e = coerceError(thrown);
    void `${String(e.name)}: ${String(e.message)} ${String(e.stack)}`;
    return thrown;
  } catch (e) {
    return new Error(`[bulwark] the handler threw a value that cannot be read: ${messageOf(e)}`);
  }
}
