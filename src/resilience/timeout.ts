/**
 * Timeout. Cooperative: at the deadline the signal `fn` was given aborts and the policy waits for
 * `fn` to finish (an error after the deadline becomes a TimeoutError). Aggressive: the policy also
 * rejects with a TimeoutError at the deadline, whatever `fn` does.
 *
 * The AbortController is made only when `fn` (or a wait inside) reads the signal, and in cooperative
 * mode the timer is armed only then: a signal nobody holds has nobody to tell. One timer per call at
 * most, cleared when the call settles, and the link to the caller's signal is removed then too.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../kernel/clock.js';
import { TimeoutError } from '../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import {
  CallContext,
  Policy,
  abortReason,
  next,
  systemTimers,
  zClock,
  zTimers,
  type Task,
  type Timers,
} from './policy.js';

export type TimeoutStrategy = 'cooperative' | 'aggressive';

export interface TimeoutOptions {
  timeoutMs: number;
  /** @default 'cooperative' */
  strategy?: TimeoutStrategy;
  /** Named in errors and events. */
  name?: string;
  /** @default systemClock */
  clock?: Clock;
  /** @default real timers */
  timers?: Timers;
}

export interface TimeoutEvents {
  /** A call passed its deadline. `late`: it was noticed only when the call settled (nobody held the signal). */
  timeout: { timeoutMs: number; strategy: TimeoutStrategy; late: boolean };
}

const zTimeoutOptions = z.strictObject({
  timeoutMs: z.number().int().positive().max(2_147_483_647),
  strategy: z.enum(['cooperative', 'aggressive']).optional(),
  name: z.string().min(1).max(200).optional(),
  clock: zClock.optional(),
  timers: zTimers.optional(),
});

/** @internal */
class TimeoutContext extends CallContext {
  private timer: unknown = undefined;
  private controller: AbortController | undefined = undefined;
  private linked: AbortSignal | undefined = undefined;
  private onOuterAbort: (() => void) | undefined = undefined;
  /** The deadline passed (the signal, if any, aborted with a TimeoutError). */
  fired = false;
  /** The TimeoutError the signal aborted with (once fired). */
  error: unknown = undefined;
  done = false;

  constructor(
    readonly outer: CallContext,
    readonly policy: TimeoutPolicy,
    readonly deadline: number,
  ) {
    super(undefined);
    this.attempt = outer.attempt;
  }

  override get signal(): AbortSignal {
    if (this.made === undefined) this.makeSignal();
    return this.made!;
  }

  override aborted(): boolean {
    if (this.made !== undefined) return this.made.aborted;
    return this.fired || this.outer.aborted() || this.policy.clock.now() >= this.deadline;
  }

  override cancelSignal(): AbortSignal {
    return this.signal;
  }

  private makeSignal(): void {
    const c = new AbortController();
    this.controller = c;
    this.made = c.signal;
    if (this.done) return;
    const outer = this.outer.cancelSignal();
    if (outer !== undefined) {
      if (outer.aborted) {
        c.abort(abortReason(outer));
        return;
      }
      this.onOuterAbort = () => this.controller!.abort(abortReason(outer));
      this.linked = outer;
      outer.addEventListener('abort', this.onOuterAbort, { once: true });
    }
    if (this.fired) c.abort(this.error);
    else this.arm();
  }

  /** Arms the deadline timer (or fires at once when the deadline is already past). */
  arm(): void {
    if (this.timer !== undefined || this.fired || this.done) return;
    const left = this.deadline - this.policy.clock.now();
    if (left <= 0) this.fire(false);
    else this.timer = this.policy.timers.setTimeout(() => this.fire(false), left);
  }

  fire(late: boolean): void {
    if (this.fired || this.done) return;
    this.fired = true;
    this.timer = undefined;
    this.error = this.policy.timeoutError(undefined);
    this.policy.emitTimeout(late);
    this.controller?.abort(this.error);
    this.policy.onFire(this);
  }

  /** Releases the timer and the link to the outer signal. */
  cleanup(): void {
    this.done = true;
    if (this.timer !== undefined) {
      this.policy.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.linked !== undefined) {
      this.linked.removeEventListener('abort', this.onOuterAbort!);
      this.linked = undefined;
    }
  }

  /** Settled with a value. */
  succeed(): void {
    if (!this.fired && this.policy.clock.now() >= this.deadline) this.fire(true);
    this.cleanup();
  }

  /** Settled with an error: the error to pass on. */
  fail(error: unknown): unknown {
    const outerAborted = this.outer.aborted();
    if (!this.fired && !outerAborted && this.policy.clock.now() >= this.deadline) this.fire(true);
    this.cleanup();
    if (!this.fired || outerAborted || error === this.error) return error;
    return this.policy.timeoutError(error);
  }

  /** Aggressive mode: how to reject the caller at the deadline. */
  reject: ((error: unknown) => void) | undefined = undefined;
}

export class TimeoutPolicy extends Policy {
  readonly timeoutMs: number;
  readonly strategy: TimeoutStrategy;
  readonly name: string | undefined;
  /** @internal */
  readonly clock: Clock;
  /** @internal */
  readonly timers: Timers;
  private readonly events = new TypedEmitter<TimeoutEvents>(undefined, { timeout: true });
  private readonly message: string;

  constructor(options: TimeoutOptions) {
    super();
    const o = parseOptions(zTimeoutOptions, options, 'timeout');
    this.timeoutMs = o.timeoutMs;
    this.strategy = o.strategy ?? 'cooperative';
    this.name = o.name;
    this.clock = o.clock ?? systemClock;
    this.timers = o.timers ?? systemTimers;
    this.message = `[bulwark] [timeout] ${o.name === undefined ? 'call' : `'${o.name}'`} timed out after ${o.timeoutMs} ms`;
  }

  on<K extends keyof TimeoutEvents>(event: K, listener: Listener<TimeoutEvents[K]>): Disposer {
    return this.events.on(event, listener);
  }

  /** @internal */
  timeoutError(cause: unknown): TimeoutError {
    return new TimeoutError(
      this.message,
      cause === undefined ? { timeoutMs: this.timeoutMs } : { cause, timeoutMs: this.timeoutMs },
    );
  }

  /** @internal */
  emitTimeout(late: boolean): void {
    this.events.emit('timeout', { timeoutMs: this.timeoutMs, strategy: this.strategy, late });
  }

  /** @internal */
  onFire(t: TimeoutContext): void {
    if (t.reject !== undefined) {
      const reject = t.reject;
      t.cleanup();
      reject(t.error);
    }
  }

  /** @internal */
  step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    const t = new TimeoutContext(ctx, this, this.clock.now() + this.timeoutMs);
    let r: unknown;
    try {
      r = next(chain, i, fn, t);
    } catch (error) {
      throw t.fail(error);
    }
    if (!(r instanceof Promise)) {
      t.succeed();
      return r;
    }
    return this.strategy === 'cooperative' ? this.settle(r, t) : this.race(r, t);
  }

  private async settle(p: Promise<unknown>, t: TimeoutContext): Promise<unknown> {
    let v: unknown;
    try {
      v = await p;
    } catch (error) {
      throw t.fail(error);
    }
    t.succeed();
    return v;
  }

  private race(p: Promise<unknown>, t: TimeoutContext): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (t.fired) {
        // The deadline passed while `fn` ran synchronously.
        p.catch(() => {});
        t.cleanup();
        reject(this.timeoutError(undefined));
        return;
      }
      const outer = t.outer.cancelSignal();
      const onOuterAbort = (): void => {
        t.cleanup();
        reject(abortReason(outer!));
      };
      // At the deadline `fn` may never settle: unhook from the caller's signal then, not later.
      t.reject = (error) => {
        outer?.removeEventListener('abort', onOuterAbort);
        reject(error);
      };
      if (outer !== undefined) {
        if (outer.aborted) return onOuterAbort();
        outer.addEventListener('abort', onOuterAbort, { once: true });
      }
      t.arm();
      p.then(
        (v) => {
          outer?.removeEventListener('abort', onOuterAbort);
          if (t.done) return;
          t.succeed();
          resolve(v);
        },
        (error: unknown) => {
          outer?.removeEventListener('abort', onOuterAbort);
          if (t.done) return;
          reject(t.fail(error));
        },
      );
    });
  }
}

/** A timeout policy: `timeout(5000)` or `timeout({ timeoutMs: 5000, strategy: 'aggressive' })`. */
export function timeout(options: number | TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(typeof options === 'number' ? { timeoutMs: options } : options);
}
