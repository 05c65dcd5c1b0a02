/**
 * Retry: tries again after a backoff, for the errors (or results) a predicate picks, within a
 * maximum number of attempts and an optional retry budget. Waits honour `retryAfterMs` and abort
 * with the caller's signal.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../kernel/clock.js';
import { ERROR_CATEGORIES, type ErrorCategory } from '../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import { applyJitter, baseDelay, mergeBackoff, type BackoffOptions, type JitterType } from './backoff.js';
import { classify, type Classification, type ClassifyRule } from './classify.js';
import type { CallContext } from './policy.js';
import {
  Policy,
  next,
  sleep,
  systemTimers,
  zClock,
  zFunction,
  zTimers,
  type Task,
  type Timers,
} from './policy.js';
import { TimeBuckets } from './window.js';

/** A backoff computed by your own function; the cap and the jitter still apply. */
export interface CustomBackoffOptions {
  type: 'custom';
  /** The delay before retry number `attempt` (1 = the first retry), in milliseconds. */
  delay: (attempt: number, error: unknown) => number;
  /** Upper bound, applied before jitter. @default 300000 */
  maxDelayMs?: number;
  /** @default 'none' */
  jitter?: JitterType;
}

export interface RetryBudgetOptions {
  /** Retries allowed per call made, over the window: retries ≤ ratio × calls + minRetries. */
  ratio: number;
  /** @default 10000 */
  windowMs?: number;
  /** Retries always allowed per window, however few calls were made. @default 0 */
  minRetries?: number;
  clock?: Clock;
}

/** Which failures to retry. Any matching field retries; an empty object retries nothing. */
export interface RetryOn {
  /** Categories as decided by `classify` (and `classifyRules`). */
  categories?: readonly ErrorCategory[];
  /** Error classes (`instanceof`). */
  errors?: readonly (abstract new (...args: never[]) => unknown)[];
  /** Any test of your own. */
  when?: (error: unknown, classification: Classification) => boolean;
}

export interface RetryOptions {
  /** Tries in all, the first included. @default 3 */
  maxAttempts?: number;
  /** @default { type: 'exponential', delayMs: 100, maxDelayMs: 30000, jitter: 'full' } */
  backoff?: BackoffOptions | CustomBackoffOptions;
  /** @default { categories: ['transient', 'resource', 'unknown', 'rate_limit'] } */
  retryOn?: RetryOn;
  /** Retry when a *successful* result passes this test; the last result is returned when attempts run out. */
  retryOnResult?: (value: unknown) => boolean;
  /** Cap retries to a share of calls (a `RetryBudget` can be shared between policies). */
  budget?: RetryBudgetOptions | RetryBudget;
  /** Wait at least an error's `retryAfterMs` (RateLimitError, Retry-After header). @default true */
  honorRetryAfter?: boolean;
  /** Give up at once when `retryAfterMs` is longer than this. @default 60000 */
  maxRetryAfterMs?: number;
  /** Rules that run before the built-in classification. */
  classifyRules?: readonly ClassifyRule[];
  /** @default systemClock */
  clock?: Clock;
  /** @default real timers */
  timers?: Timers;
  /** @default Math.random */
  random?: () => number;
}

export type GiveUpReason = 'attempts' | 'not_retryable' | 'budget' | 'aborted' | 'retry_after_too_long';

export interface RetryEvents {
  /** A try failed and another follows after `delayMs`. */
  retry: { attempt: number; delayMs: number; error: unknown; category: ErrorCategory | undefined };
  /** A try failed and no other follows. */
  give_up: { attempt: number; reason: GiveUpReason; error: unknown; category: ErrorCategory | undefined };
}

export const DEFAULT_RETRY_CATEGORIES: readonly ErrorCategory[] = Object.freeze([
  'transient',
  'resource',
  'unknown',
  'rate_limit',
]);

const zBudget = z.strictObject({
  ratio: z.number().min(0).max(1000),
  windowMs: z.number().int().positive().optional(),
  minRetries: z.number().int().nonnegative().optional(),
  clock: zClock.optional(),
});

const zJitter = z.enum(['none', 'full', 'equal', 'decorrelated']);
const zMs = z.number().nonnegative().finite();

const zRetryOptions = z.strictObject({
  maxAttempts: z.number().int().min(1).max(1_000_000).optional(),
  backoff: z
    .union([
      z.strictObject({
        type: z.literal('custom'),
        delay: zFunction<CustomBackoffOptions['delay']>(),
        maxDelayMs: zMs.optional(),
        jitter: zJitter.optional(),
      }),
      z.strictObject({
        type: z.enum(['constant', 'linear', 'exponential']).optional(),
        delayMs: zMs.optional(),
        maxDelayMs: zMs.optional(),
        factor: z.number().min(1).max(1000).optional(),
        jitter: zJitter.optional(),
      }),
    ])
    .optional(),
  retryOn: z
    .strictObject({
      categories: z.array(z.enum(ERROR_CATEGORIES)).optional(),
      errors: z.array(zFunction<abstract new (...args: never[]) => unknown>()).optional(),
      when: zFunction<NonNullable<RetryOn['when']>>().optional(),
    })
    .optional(),
  retryOnResult: zFunction<(value: unknown) => boolean>().optional(),
  budget: z.union([z.custom<RetryBudget>((b) => b instanceof RetryBudget), zBudget]).optional(),
  honorRetryAfter: z.boolean().optional(),
  maxRetryAfterMs: zMs.optional(),
  classifyRules: z.array(zFunction<ClassifyRule>()).optional(),
  clock: zClock.optional(),
  timers: zTimers.optional(),
  random: zFunction<() => number>().optional(),
});

const CALLS = 0;
const RETRIES = 1;

/** Retries ≤ ratio × calls + minRetries over a sliding window. Share one between policies if you like. */
export class RetryBudget {
  private readonly window: TimeBuckets;
  private readonly ratio: number;
  private readonly minRetries: number;
  private readonly clock: Clock;

  constructor(options: RetryBudgetOptions) {
    const o = parseOptions(zBudget, options, 'budget');
    this.ratio = o.ratio;
    this.minRetries = o.minRetries ?? 0;
    this.clock = o.clock ?? systemClock;
    this.window = new TimeBuckets(o.windowMs ?? 10_000, 10, 2);
  }

  /** Counts one call (a first try). */
  recordCall(): void {
    this.window.add(this.clock.now(), CALLS);
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. */
  tryRetry(): boolean {
    const now = this.clock.now();
    const calls = this.window.total(now, CALLS);
    const retries = this.window.total(now, RETRIES);
    if (retries + 1 > this.ratio * calls + this.minRetries) return false;
    this.window.add(now, RETRIES);
    return true;
  }

  /** Calls and retries counted in the current window. */
  usage(): { calls: number; retries: number } {
    const now = this.clock.now();
    return { calls: this.window.total(now, CALLS), retries: this.window.total(now, RETRIES) };
  }
}

const NO_RETRY = -1;

export class RetryPolicy extends Policy {
  readonly maxAttempts: number;
  private readonly events = new TypedEmitter<RetryEvents>(undefined, { retry: true, give_up: true });
  private readonly delayFor: (attempt: number, error: unknown, previousMs: number | undefined) => number;
  private readonly categories: ReadonlySet<ErrorCategory> | undefined;
  private readonly errorClasses: readonly (abstract new (...args: never[]) => unknown)[];
  private readonly when: RetryOn['when'];
  private readonly onResult: ((value: unknown) => boolean) | undefined;
  private readonly budget: RetryBudget | undefined;
  private readonly honorRetryAfter: boolean;
  private readonly maxRetryAfterMs: number;
  private readonly rules: readonly ClassifyRule[];
  private readonly timers: Timers;

  constructor(options: RetryOptions = {}) {
    super();
    const o = parseOptions(zRetryOptions, options, 'retry');
    this.maxAttempts = o.maxAttempts ?? 3;
    const random = o.random ?? Math.random;
    const b = o.backoff;
    if (b !== undefined && b.type === 'custom') {
      const max = b.maxDelayMs ?? 300_000;
      const jitter = b.jitter ?? 'none';
      this.delayFor = (attempt, error, previous) => {
        const raw = b.delay(attempt, error);
        const capped = Number.isFinite(raw) ? Math.min(Math.max(0, raw), max) : raw > 0 ? max : 0;
        return applyJitter(capped, jitter, capped, max, random, previous);
      };
    } else {
      const resolved = mergeBackoff({
        type: b?.type,
        delayMs: b?.delayMs ?? 100,
        maxDelayMs: b?.maxDelayMs ?? 30_000,
        factor: b?.factor,
        jitter: b?.jitter,
      });
      this.delayFor = (attempt, _error, previous) =>
        applyJitter(
          baseDelay(resolved, attempt),
          resolved.jitter,
          resolved.delayMs,
          resolved.maxDelayMs,
          random,
          previous,
        );
    }
    const on = o.retryOn;
    this.categories = on
      ? on.categories
        ? new Set(on.categories)
        : undefined
      : new Set(DEFAULT_RETRY_CATEGORIES);
    this.errorClasses = on?.errors ?? [];
    this.when = on?.when;
    this.onResult = o.retryOnResult;
    this.budget =
      o.budget instanceof RetryBudget
        ? o.budget
        : o.budget
          ? new RetryBudget({ clock: o.clock, ...o.budget })
          : undefined;
    this.honorRetryAfter = o.honorRetryAfter ?? true;
    this.maxRetryAfterMs = o.maxRetryAfterMs ?? 60_000;
    this.rules = o.classifyRules ?? [];
    this.timers = o.timers ?? systemTimers;
  }

  /** Subscribes to `retry` / `give_up`; returns a disposer. */
  on<K extends keyof RetryEvents>(event: K, listener: Listener<RetryEvents[K]>): Disposer {
    return this.events.on(event, listener);
  }

  /** The delay before retry number `attempt` (1-based) with this policy's backoff. */
  delayMs(attempt: number, error?: unknown, previousMs?: number): number {
    return this.delayFor(attempt, error, previousMs);
  }

  /** @internal */
  step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    if (this.budget !== undefined) this.budget.recordCall();
    return this.attempt(chain, i, fn, ctx, 1, undefined);
  }

  private attempt(
    chain: readonly Policy<unknown>[],
    i: number,
    fn: Task<unknown>,
    ctx: CallContext,
    attempt: number,
    previousMs: number | undefined,
  ): unknown {
    ctx.attempt = attempt;
    let r: unknown;
    try {
      r = next(chain, i, fn, ctx);
    } catch (error) {
      return this.failed(error, chain, i, fn, ctx, attempt, previousMs);
    }
    if (r instanceof Promise) {
      return this.onResult === undefined
        ? r.then(undefined, (error: unknown) => this.failed(error, chain, i, fn, ctx, attempt, previousMs))
        : r.then(
            (value: unknown) => this.checkResult(value, chain, i, fn, ctx, attempt, previousMs),
            (error: unknown) => this.failed(error, chain, i, fn, ctx, attempt, previousMs),
          );
    }
    return this.onResult === undefined ? r : this.checkResult(r, chain, i, fn, ctx, attempt, previousMs);
  }

  private checkResult(
    value: unknown,
    chain: readonly Policy<unknown>[],
    i: number,
    fn: Task<unknown>,
    ctx: CallContext,
    attempt: number,
    previousMs: number | undefined,
  ): unknown {
    if (attempt >= this.maxAttempts || ctx.aborted() || !this.onResult!(value)) return value;
    if (this.budget !== undefined && !this.budget.tryRetry()) return value;
    const delay = this.delayFor(attempt, undefined, previousMs);
    this.events.emit('retry', { attempt, delayMs: delay, error: undefined, category: undefined });
    return this.pause(delay, chain, i, fn, ctx, attempt, delay);
  }

  private failed(
    error: unknown,
    chain: readonly Policy<unknown>[],
    i: number,
    fn: Task<unknown>,
    ctx: CallContext,
    attempt: number,
    previousMs: number | undefined,
  ): unknown {
    let category: ErrorCategory | undefined;
    let reason: GiveUpReason | undefined;
    let delay = NO_RETRY;
    if (ctx.aborted()) reason = 'aborted';
    else if (attempt >= this.maxAttempts) reason = 'attempts';
    else {
      const c = classify(error, this.rules);
      category = c.category;
      if (!this.retryable(error, c)) reason = 'not_retryable';
      else {
        delay = this.delayFor(attempt, error, previousMs);
        if (this.honorRetryAfter && c.retryAfterMs !== undefined) {
          if (c.retryAfterMs > this.maxRetryAfterMs) reason = 'retry_after_too_long';
          else delay = Math.max(delay, Math.ceil(c.retryAfterMs));
        }
        if (reason === undefined && this.budget !== undefined && !this.budget.tryRetry()) reason = 'budget';
      }
    }
    if (reason !== undefined) {
      if (this.events.has('give_up')) {
        category ??= classify(error, this.rules).category;
        this.events.emit('give_up', { attempt, reason, error, category });
      }
      throw error;
    }
    this.events.emit('retry', { attempt, delayMs: delay, error, category });
    return this.pause(delay, chain, i, fn, ctx, attempt, delay);
  }

  private pause(
    delay: number,
    chain: readonly Policy<unknown>[],
    i: number,
    fn: Task<unknown>,
    ctx: CallContext,
    attempt: number,
    previousMs: number,
  ): Promise<unknown> {
    return sleep(delay, ctx.cancelSignal(), this.timers).then(() =>
      this.attempt(chain, i, fn, ctx, attempt + 1, previousMs),
    );
  }

  private retryable(error: unknown, c: Classification): boolean {
    if (this.categories !== undefined && this.categories.has(c.category)) return true;
    for (const cls of this.errorClasses) if (error instanceof cls) return true;
    return this.when !== undefined && this.when(error, c);
  }
}

/** A retry policy. See RetryOptions for the defaults. */
export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}
