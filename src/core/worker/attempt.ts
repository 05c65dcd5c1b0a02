import type { TraceSpan } from '../../kernel/trace.js';
import type { AdaptivePermit } from '../../resilience/adaptive-limiter.js';
import type { Job } from '../job.js';

/** Why an attempt's signal fired. */
export type AbortCause = 'timeout' | 'lease_lost' | 'shutdown';

/**
 * One attempt of a job, from claim to the end of both its lives: the outcome written to the store,
 * and the handler's promise settled. The two may end in either order: an aborted attempt's outcome
 * is written at once, while a handler that ignores its signal may run on (a zombie, still holding
 * its slot). The AbortController is made only when someone reads `signal` or the attempt must be
 * aborted: most jobs never need one.
 */
export class Attempt {
  private controller: AbortController | undefined;
  cause: AbortCause | undefined;
  /** Set once the outcome is decided; the timeout no longer fires. */
  settling = false;
  /** The outcome is in the store (or given up on at shutdown). */
  written = false;
  /** The handler's promise has settled (or never started). */
  handlerDone = true;
  /** The handler outlived its abort by the worker's zombie bound. */
  zombie = false;
  timer: NodeJS.Timeout | undefined;
  /** The permit of the worker's adaptive concurrency limit, until the handler returns. */
  permit: AdaptivePermit | undefined;
  /** The attempt's consumer span, when tracing is on. */
  span: TraceSpan | undefined;
  /** Fires when an aborted handler has not returned within the zombie bound. */
  zombieTimer: NodeJS.Timeout | undefined;
  /** Checkpoint and progress writes in flight: the outcome waits for them. */
  saves: Set<Promise<unknown>> | undefined;
  /**
   * Told once when the attempt is aborted, after the signal's listeners ran: the worker settles the
   * attempt then (without waiting for a handler that may ignore its signal) and watches for a zombie.
   */
  onAbort: ((reason: Error) => void) | undefined;
  readonly startedAt: number;

  constructor(
    readonly job: Job,
    startedAt: number,
  ) {
    this.startedAt = startedAt;
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  get aborted(): boolean {
    return this.cause !== undefined;
  }

  /**
   * Fires the signal, then tells the worker, which settles the attempt at once: the outcome of a
   * handler that ignores its signal is not waited for (its slot is: see `handlerDone`).
   */
  abort(cause: AbortCause, reason: Error): void {
    if (this.cause !== undefined) return;
    this.cause = cause;
    (this.controller ??= new AbortController()).abort(reason);
    this.onAbort?.(reason);
  }

  /** The outcome is decided: no more timeout. */
  finish(): void {
    this.settling = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Tracks a checkpoint or progress write so that the outcome lands after it. */
  track(save: Promise<unknown>): void {
    const saves = (this.saves ??= new Set());
    saves.add(save);
    const done = (): void => {
      saves.delete(save);
    };
    save.then(done, done);
  }

  /** Resolves once the writes in flight have landed (at once when there are none). */
  savesLanded(): Promise<unknown> | undefined {
    return this.saves && this.saves.size > 0 ? Promise.allSettled([...this.saves]) : undefined;
  }
}
