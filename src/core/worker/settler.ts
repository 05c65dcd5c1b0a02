/**
 * Settles attempts: a success is completed; a failure is classified, its fate decided by the failure
 * table, its follow-up carried out (pause or throttle the queue, stop the worker), and the job handed
 * to the store as a retry, a snooze or a dead letter. Job outcome events are emitted here, once the
 * store has accepted the outcome.
 */
import { coerceError } from '../../kernel/errors.js';
import { toJsonText } from '../../kernel/validate.js';
import type { StoredJob } from '../../store/types.js';
import { toJob } from '../job.js';
import { Attempt } from './attempt.js';
import { SettleBatch } from './batch.js';
import type { Claimer, WorkerEnv } from './claimer.js';
import { decideFate, type Fate } from './fate.js';
import { awaitedChildren, completeAfterChildren } from './flows.js';
import { groupFollowUp } from './group-fate.js';
import type { FailureInfo, FailureRecord, WorkerOptions } from './options.js';

export class Settler {
  private readonly batch: SettleBatch;

  constructor(
    private readonly env: WorkerEnv,
    private readonly claimer: Claimer,
    private readonly options: WorkerOptions,
    /** True when nothing else is running (write at once, no batching delay). */
    alone: () => boolean,
    /** Stops the worker after a fatal error. */
    private readonly stopWorker: (reason: string) => void,
  ) {
    this.batch = new SettleBatch(env, claimer, alone);
  }

  /** Resolves once every outcome handed in so far is written (or abandoned). */
  drained(): Promise<void> {
    return this.batch.drained();
  }

  /** Stops retrying writes that fail (the end of a shutdown). */
  abandon(): void {
    this.batch.abandon();
  }

  success(attempt: Attempt, result: unknown): void {
    const saving = attempt.savesLanded();
    if (saving) {
      // A checkpoint or progress write is in flight: the outcome must land after it, not race it.
      void saving.then(() => this.success(attempt, result));
      return;
    }
    if (attempt.aborted) return this.failure(attempt, new Error('aborted'));
    const { queue, clock, emitter } = this.env;
    let text: string | null;
    try {
      text = result === undefined ? null : toJsonText(result, 'result', queue.maxPayloadBytes);
    } catch (e) {
      return this.failure(attempt, e);
    }
    const job = attempt.job;
    const children = awaitedChildren(attempt);
    if (children) {
      // The handler spawned children to wait for: the job completes when they do (flows.ts).
      return completeAfterChildren(this.env, attempt, text, children, (state) => {
        if (state === 'completed') {
          job.state = 'completed';
          job.result = result;
          emitter.emit('job:completed', { job, result, durationMs: clock.now() - attempt.startedAt });
        } else if (state) job.state = state;
        this.settled(attempt, state === undefined ? undefined : state !== null);
      });
    }
    this.batch.complete({ id: job.id, token: job.fence, result: text }, (ok) => {
      if (ok) {
        job.state = 'completed';
        job.result = result;
        emitter.emit('job:completed', { job, result, durationMs: clock.now() - attempt.startedAt });
      }
      this.settled(attempt, ok);
    });
  }

  failure(attempt: Attempt, thrown: unknown): void {
    const saving = attempt.savesLanded();
    if (saving) {
      // E.g. a checkpoint written in the abort listener at shutdown: it lands before the give-back.
      void saving.then(() => this.failure(attempt, thrown));
      return;
    }
    const job = attempt.job;
    const { emitter, clock, log } = this.env;
    if (attempt.cause === 'lease_lost') {
      emitter.emit('job:stale', { job });
      return this.claimer.written(attempt);
    }
    if (attempt.cause === 'shutdown') return this.giveBack(attempt);
    const error = attempt.cause === 'timeout' ? (attempt.signal.reason as Error) : thrown;
    const now = clock.now();
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
    const write = (): void =>
      this.batch.fail(fate.item, (ok) => {
        if (ok) {
          this.emitFailure(info, fate.item);
          if (fate.item.store !== 'dead') this.claimer.wakeAt(fate.item.runAt);
        }
        this.settled(attempt, ok);
      });
    // Pause and throttle land before the job is back in the queue, so no other worker grabs it first.
    const followUp = groupFollowUp(this.env.queue, job, fate) ?? this.followUp(fate);
    if (followUp) {
      followUp.catch((e: unknown) => this.env.reportError(e, 'fate')).finally(write);
    } else {
      write();
    }
    if (fate.then === 'stop') {
      log.error({ err: info.error, jobId: job.id }, 'fatal error: stopping the worker');
      this.stopWorker(`fatal error in job ${job.id}: ${info.error.message}`);
    }
  }

  /**
   * A job claimed but never started (it waited in the buffer, or came in while shutting down) goes
   * back untouched: no attempt used, no snooze counted, nothing added to its error history.
   */
  giveBackUnstarted(stored: StoredJob): void {
    const now = this.env.clock.now();
    const attempt = new Attempt(toJob(stored, now), now);
    attempt.cause = 'shutdown';
    this.claimer.hold(attempt);
    attempt.finish();
    const job = attempt.job;
    this.batch.fail({ id: job.id, token: job.fence, store: 'release', runAt: job.runAt }, (ok) =>
      this.settled(attempt, ok),
    );
  }

  /** An attempt stopped by shutdown goes back to the queue with its attempt given back (no snooze counted). */
  private giveBack(attempt: Attempt): void {
    const job = attempt.job;
    const now = this.env.clock.now();
    this.batch.fail(
      {
        id: job.id,
        token: job.fence,
        store: 'release',
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

  private followUp(fate: Fate): Promise<unknown> | undefined {
    const queue = this.env.queue;
    if (fate.then === 'pause') return queue.pause(fate.pauseReason ?? null);
    if (fate.then === 'throttle') return queue.throttle(fate.throttleUntil!);
    return undefined;
  }

  private emitFailure(info: FailureInfo & { reason?: string }, item: Fate['item']): void {
    const { emitter } = this.env;
    const job = info.job;
    job.errors = [...job.errors, item.error];
    if (item.store === 'dead') {
      job.state = 'dead';
      emitter.emit('job:dead', { ...info, reason: item.reason ?? info.error.message });
    } else {
      job.state = 'waiting';
      job.runAt = item.runAt;
      emitter.emit(item.store === 'retry' ? 'job:retrying' : 'job:snoozed', info);
    }
  }

  /** After the store has the outcome: a refused one means the lease was lost meanwhile. */
  private settled(attempt: Attempt, ok: boolean | undefined): void {
    if (ok === false) this.env.emitter.emit('job:stale', { job: attempt.job });
    this.claimer.written(attempt);
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
      this.env.reportError(e, 'analytics');
    }
  }
}
