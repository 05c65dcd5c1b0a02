import type { Job } from '../job.js';

/** Why an attempt's signal fired. */
export type AbortCause = 'timeout' | 'lease_lost' | 'shutdown';

/**
 * One running attempt of a job. The AbortController is made only when someone reads `signal` or
 * the attempt must be aborted: most jobs never need one.
 */
export class Attempt {
  private controller: AbortController | undefined;
  cause: AbortCause | undefined;
  /** Set once the outcome is decided; the heartbeat leaves it alone from then on. */
  settling = false;
  timer: NodeJS.Timeout | undefined;
  private rejectRace: ((reason: unknown) => void) | undefined;
  readonly race: Promise<never>;
  readonly startedAt: number;

  constructor(
    readonly job: Job,
    startedAt: number,
  ) {
    this.startedAt = startedAt;
    this.race = new Promise<never>((_, reject) => {
      this.rejectRace = reject;
    });
    // The race promise is only awaited through Promise.race; keep an unobserved rejection quiet.
    this.race.catch(() => {});
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  get aborted(): boolean {
    return this.cause !== undefined;
  }

  /** Fires the signal and ends the race, so a handler that ignores its signal is not waited for. */
  abort(cause: AbortCause, reason: Error): void {
    if (this.cause !== undefined) return;
    this.cause = cause;
    (this.controller ??= new AbortController()).abort(reason);
    this.rejectRace?.(reason);
  }

  /** The outcome is decided: no more timeout, no more heartbeats. */
  finish(): void {
    this.settling = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
