/**
 * The shape every resilience policy shares: `execute(fn, signal?)`, where `fn` receives
 * `{ signal, attempt }`. Policies compose into a chain (see wrap.ts); each link gets the chain and
 * its own index, so composing does not allocate a closure per call.
 */
import { z } from 'zod';
import type { Clock } from '../kernel/clock.js';

/** What a policy hands to the function it runs. */
export interface ExecuteContext {
  /**
   * Aborts when the caller's signal aborts or a timeout policy's deadline passes. Created on first
   * read: a function that never reads it costs no AbortController.
   */
  readonly signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry, … (set by the innermost retry policy). */
  readonly attempt: number;
}

/** The function a policy runs. */
export type Task<T> = (ctx: ExecuteContext) => T | PromiseLike<T>;

/** Timer functions, injectable so tests drive time by hand. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Real timers. They are not `unref()`'d on purpose: each one gates a promise the caller awaits (a
 * retry pause, a deadline) and is cleared as soon as that promise settles, so it never outlives its
 * call; unref'ing would let a script exit in the middle of a retry pause.
 */
export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The reason to reject with when `signal` aborted. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * The per-call context. Internal: users see it as an `ExecuteContext`.
 * @internal
 */
export class CallContext implements ExecuteContext {
  attempt = 1;
  protected made: AbortSignal | undefined = undefined;

  constructor(readonly parent: AbortSignal | undefined) {}

  get signal(): AbortSignal {
    // Without a caller's signal nothing can abort this call, but `fn` still gets a real signal.
    return (this.made ??= this.parent ?? new AbortController().signal);
  }

  /** Whether the call is cancelled, without creating a signal. */
  aborted(): boolean {
    return this.parent !== undefined && this.parent.aborted;
  }

  /** A signal to wait on, or undefined when nothing can cancel this call (no signal is created). */
  cancelSignal(): AbortSignal | undefined {
    return this.parent;
  }
}

/**
 * A resilience policy. `Extra` is what the policy may produce instead of the function's own value
 * (a fallback's value); it is `never` for every other policy.
 */
export abstract class Policy<Extra = never> {
  /**
   * Type only: carries `Extra` so composition can infer it (nothing is stored).
   * @internal
   */
  declare readonly extraType: Extra;

  /**
   * The links this policy runs, outermost first: `[this]` for a single policy.
   * @internal
   */
  readonly chain: readonly Policy<unknown>[];

  constructor(chain?: readonly Policy<unknown>[]) {
    this.chain = chain ?? [this as Policy<unknown>];
  }

  /**
   * Runs `fn` under this policy. Rejects with what the policy decides (the function's own error,
   * a BrokenCircuitError, a TimeoutError, …); never throws synchronously.
   */
  execute<T>(fn: Task<T>, signal?: AbortSignal): Promise<T | Extra> {
    if (signal !== undefined && signal.aborted) return rejectSoon(abortReason(signal));
    const ctx = new CallContext(signal);
    const chain = this.chain;
    let r: unknown;
    try {
      r = chain[0]!.step(chain, 0, fn, ctx);
    } catch (error) {
      return rejectSoon(error) as Promise<T | Extra>;
    }
    return (r instanceof Promise ? r : Promise.resolve(r)) as Promise<T | Extra>;
  }

  /**
   * Runs link `i` of `chain`; calls `next(chain, i, fn, ctx)` for what it wraps. Returns a value or
   * a native Promise; may throw synchronously.
   * @internal
   */
  abstract step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown;
}

const settled = Promise.resolve();

/**
 * A promise that rejects one microtask from now. Rejecting an already returned promise spares
 * Node's unhandled-rejection bookkeeping (a rejected promise with no handler yet costs microseconds
 * once its handler is attached), which matters for cheap rejections such as an open breaker's.
 * @internal
 */
export function rejectSoon(error: unknown): Promise<never> {
  let reject!: (error: unknown) => void;
  const p = new Promise<never>((_, r) => {
    reject = r;
  });
  void settled.then(() => reject(error));
  return p;
}

/**
 * Runs what link `i` wraps: the next link, or `fn` itself. A foreign thenable becomes a native
 * Promise here so that the links only test `instanceof Promise`.
 * @internal
 */
export function next(
  chain: readonly Policy<unknown>[],
  i: number,
  fn: Task<unknown>,
  ctx: CallContext,
): unknown {
  const n = i + 1;
  if (n < chain.length) return chain[n]!.step(chain, n, fn, ctx);
  const r = fn(ctx);
  if (
    r !== null &&
    typeof r === 'object' &&
    !(r instanceof Promise) &&
    typeof (r as PromiseLike<unknown>).then === 'function'
  ) {
    return Promise.resolve(r);
  }
  return r;
}

/** Runs `next` and always returns a native promise (for the async paths). @internal */
export function nextAsync(
  chain: readonly Policy<unknown>[],
  i: number,
  fn: Task<unknown>,
  ctx: CallContext,
): Promise<unknown> {
  try {
    const r = next(chain, i, fn, ctx);
    return r instanceof Promise ? r : Promise.resolve(r);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts. Leaves neither its timer
 * nor its abort listener behind, whichever way it ends.
 */
export function sleep(ms: number, signal?: AbortSignal, timers: Timers = systemTimers): Promise<void> {
  if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      reject(abortReason(signal!));
    };
    const handle = timers.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** @internal */
export const zFunction = <F>(what = 'expected a function') =>
  z.custom<F>((f) => typeof f === 'function', what);
/** @internal */
export const zClock = z.custom<Clock>(
  (c) => typeof c === 'object' && c !== null && typeof (c as Clock).now === 'function',
  'expected a clock { now(): number }',
);
/** @internal */
export const zTimers = z.custom<Timers>(
  (t) =>
    typeof t === 'object' &&
    t !== null &&
    typeof (t as Timers).setTimeout === 'function' &&
    typeof (t as Timers).clearTimeout === 'function',
  'expected timers { setTimeout, clearTimeout }',
);
