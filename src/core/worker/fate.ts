/**
 * The error's class decides the job's fate: classify the failure, look the category up in the
 * queue's action table, and turn that into what the store should do.
 */
import { z } from 'zod';
import { ERROR_CATEGORIES, coerceError, type ErrorCategory } from '../../kernel/errors.js';
import { storableText } from '../../kernel/validate.js';
import { backoffDelay } from '../../resilience/backoff.js';
import { classify, type Classification, type ClassifyRule } from '../../resilience/classify.js';
import {
  FAILURE_ACTIONS,
  type FailItem,
  type FailureAction,
  type JobErrorRecord,
  type RecordedAction,
} from '../../store/types.js';
import type { Job } from '../job.js';

export { FAILURE_ACTIONS, type FailureAction };

export const DEFAULT_ACTIONS: Readonly<Record<ErrorCategory, FailureAction>> = Object.freeze({
  transient: 'retry',
  rate_limit: 'snooze',
  auth: 'pause',
  validation: 'dead',
  permanent: 'dead',
  resource: 'retry_long',
  dependency: 'snooze',
  fatal: 'stop',
  unknown: 'retry',
});

export interface FateOptions {
  /** Overrides of the action per category. */
  actions?: Partial<Record<ErrorCategory, FailureAction>>;
  /** Classification rules that run before the built-in ones. */
  rules?: readonly ClassifyRule[];
  /** Snooze after a rate limit without Retry-After; doubles with each snooze, capped at 5 min. @default 1000 */
  rateLimitSnoozeMs?: number;
  /**
   * The longest wait a Retry-After (or a breaker's retry time) is honoured for; a longer one is cut to
   * this, so a bogus header cannot park a job for years. @default 86400000 (1 day)
   */
  maxRetryAfterMs?: number;
  /** Snooze after a dependency error without a retry time. @default 5000 */
  dependencySnoozeMs?: number;
  /** `retry_long` multiplies the backoff by this. @default 5 */
  longBackoffFactor?: number;
  /**
   * A job snoozed (rate limit, open breaker) this many times is dead-lettered: a safety valve against a
   * job that can never get through, since snoozes use no attempts. @default 200
   */
  maxSnoozes?: number;
}

export const zFateOptions = z
  .object({
    actions: z.partialRecord(z.enum(ERROR_CATEGORIES), z.enum(FAILURE_ACTIONS)).optional(),
    rules: z.array(z.custom<ClassifyRule>((f) => typeof f === 'function', 'expected a function')).optional(),
    rateLimitSnoozeMs: z.number().int().positive().optional(),
    maxRetryAfterMs: z
      .number()
      .int()
      .positive()
      .max(365 * 86_400_000)
      .optional(),
    dependencySnoozeMs: z.number().int().positive().optional(),
    longBackoffFactor: z.number().min(1).max(1000).optional(),
    maxSnoozes: z.number().int().positive().optional(),
  })
  .strict();

/** What follows a failure beyond the job itself: the queue is paused or throttled, or the worker stops. */
export type FollowUp = 'pause' | 'throttle' | 'stop';

/**
 * What happens to a failed job: `item.store` is what the store does with it (retry, snooze, dead),
 * `then` what follows for the queue or the worker.
 */
export interface Fate {
  classification: Classification;
  /** The table's action for the category. */
  action: FailureAction;
  /** What the store is told (a failure always leaves an error record). */
  item: FailItem & { error: JobErrorRecord };
  then?: FollowUp;
  /** Milliseconds until the job runs again (retry and snooze). */
  delayMs: number;
  /** With `then: 'pause'`: the reason the queue is paused. */
  pauseReason?: string;
  /** With `then: 'throttle'`: no claims on the queue before this time. */
  throttleUntil?: number;
}

/** The cap of a snooze that doubles for want of a Retry-After. */
const MAX_ESCALATED_SNOOZE_MS = 300_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 86_400_000;
const MAX_MESSAGE = 2000;
/** A stack kept with each error record, cut to this many characters (the frames that matter come first). */
const MAX_STACK = 2000;

/**
 * The first `max` UTF-16 units of `s`, one fewer when the cut would split a surrogate pair: half a pair
 * is text no store keeps (SQLite and Redis mangle it, Postgres refuses it in the error history's jsonb).
 */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

export function decideFate(
  job: Job,
  thrown: unknown,
  now: number,
  options: FateOptions,
  random: () => number = Math.random,
): Fate {
  const thrownError = coerceError(thrown);
  // What is kept of the error goes into bulwark's own records and reasons, which every store must hold
  // exactly (Postgres refuses NUL and lone surrogates): made storable once, here.
  const error = {
    name: storableText(String(thrownError.name)),
    message: storableText(thrownError.message),
    stack:
      typeof thrownError.stack === 'string' ? storableText(cut(thrownError.stack, MAX_STACK)) : undefined,
  };
  const classification = classify(thrown, options.rules);
  const category = classification.category;
  const action = options.actions?.[category] ?? DEFAULT_ACTIONS[category];
  const record = (a: RecordedAction): JobErrorRecord => ({
    attempt: job.attempts,
    category,
    action: a,
    name: error.name,
    message: error.message.length > MAX_MESSAGE ? cut(error.message, MAX_MESSAGE) + '…' : error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    at: now,
  });
  const dead = (reason: string): Fate => ({
    classification,
    action: 'dead',
    delayMs: 0,
    item: { id: job.id, token: job.fence, store: 'dead', runAt: now, error: record('dead'), reason },
  });
  /** Back to waiting with the attempt given back; `snooze` also counts towards `maxSnoozes`. */
  const giveBack = (delayMs: number, a: FailureAction, move: 'snooze' | 'release'): Fate => ({
    classification,
    action: a,
    delayMs,
    item: {
      id: job.id,
      token: job.fence,
      store: move,
      runAt: now + delayMs,
      error: delayMs > 0 ? { ...record(a), delayMs } : record(a),
    },
  });

  switch (action) {
    case 'dead':
      return dead(cut(`${category}: ${error.message}`, MAX_MESSAGE));
    case 'retry':
    case 'retry_long': {
      if (job.attempts >= job.maxAttempts) {
        return dead(
          cut(
            `failed ${job.attempts} of ${job.maxAttempts} attempts; last ${category}: ${error.message}`,
            MAX_MESSAGE,
          ),
        );
      }
      const factor = options.longBackoffFactor ?? 5;
      let delayMs = backoffDelay(job.backoff, job.attempts, random, previousBackoffMs(job, factor));
      if (action === 'retry_long') delayMs = Math.round(delayMs * factor);
      return {
        classification,
        action,
        delayMs,
        item: {
          id: job.id,
          token: job.fence,
          store: 'retry',
          runAt: now + delayMs,
          error: { ...record(action), delayMs },
        },
      };
    }
    case 'snooze': {
      const maxSnoozes = options.maxSnoozes ?? 200;
      if (job.snoozes >= maxSnoozes)
        return dead(cut(`snoozed ${job.snoozes} times; last ${category}: ${error.message}`, MAX_MESSAGE));
      let delayMs: number;
      if (classification.retryAfterMs !== undefined) {
        // The server said when: honour it (within reason), however long.
        delayMs = Math.min(
          classification.retryAfterMs,
          options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
        );
      } else {
        const base =
          category === 'rate_limit'
            ? (options.rateLimitSnoozeMs ?? 1000)
            : (options.dependencySnoozeMs ?? 5000);
        delayMs = Math.min(base * Math.pow(2, Math.min(job.snoozes, 16)), MAX_ESCALATED_SNOOZE_MS);
      }
      delayMs = Math.max(0, Math.round(delayMs));
      const fate = giveBack(delayMs, 'snooze', 'snooze');
      if (category === 'rate_limit') {
        fate.then = 'throttle';
        fate.throttleUntil = now + delayMs;
      }
      return fate;
    }
    case 'pause': {
      const fate = giveBack(0, 'pause', 'release');
      fate.then = 'pause';
      fate.pauseReason = cut(`${category}: ${error.message}`, MAX_MESSAGE);
      return fate;
    }
    case 'stop': {
      const fate = giveBack(0, 'stop', 'release');
      fate.then = 'stop';
      return fate;
    }
  }
}

/**
 * The backoff delay the last retry waited (before a long-backoff factor), which decorrelated jitter
 * grows from; undefined before the first retry.
 */
function previousBackoffMs(job: Job, longFactor: number): number | undefined {
  for (let i = job.errors.length - 1; i >= 0; i--) {
    const e = job.errors[i]!;
    if (e.delayMs === undefined) continue;
    if (e.action === 'retry') return e.delayMs;
    if (e.action === 'retry_long') return e.delayMs / longFactor;
  }
  return undefined;
}
