import { z } from 'zod';
import { parseOptions } from '../kernel/validate.js';

/** How delays grow between attempts. */
export type BackoffType = 'constant' | 'linear' | 'exponential';
/** How randomness spreads the delay, so that many clients do not retry in lock-step. */
export type JitterType = 'none' | 'full' | 'equal' | 'decorrelated';

export interface BackoffOptions {
  /** @default 'exponential' */
  type?: BackoffType;
  /** The first delay, in milliseconds. @default 1000 */
  delayMs?: number;
  /** Upper bound, applied before jitter. @default 300000 (5 minutes) */
  maxDelayMs?: number;
  /** Growth factor for `exponential`. @default 2 */
  factor?: number;
  /** @default 'full' */
  jitter?: JitterType;
}

export type ResolvedBackoff = Required<BackoffOptions>;

export const DEFAULT_BACKOFF: ResolvedBackoff = Object.freeze({
  type: 'exponential',
  delayMs: 1000,
  maxDelayMs: 300_000,
  factor: 2,
  jitter: 'full',
});

const zMs = z.number().nonnegative().finite();
const zBackoffOptions = z.strictObject({
  type: z.enum(['constant', 'linear', 'exponential']).optional(),
  delayMs: zMs.optional(),
  maxDelayMs: zMs.optional(),
  factor: z.number().min(1).max(1000).optional(),
  jitter: z.enum(['none', 'full', 'equal', 'decorrelated']).optional(),
});

/** Backoff options with the defaults filled in; refuses unknown keys and bad values (ValidationError). */
export function resolveBackoff(options: BackoffOptions | undefined): ResolvedBackoff {
  parseOptions(zBackoffOptions, options, 'backoff');
  return mergeBackoff(options);
}

/** `resolveBackoff` without the check, for options already validated. @internal */
export function mergeBackoff(options: BackoffOptions | undefined): ResolvedBackoff {
  return options ? { ...DEFAULT_BACKOFF, ...stripUndefined(options) } : DEFAULT_BACKOFF;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * The capped delay before jitter for a 1-based attempt number. Never NaN, never above the cap,
 * whatever the attempt count.
 */
export function baseDelay(b: ResolvedBackoff, attempt: number): number {
  if (b.delayMs <= 0 || b.maxDelayMs <= 0) return 0;
  const n = Math.max(1, Math.floor(attempt));
  let raw: number;
  switch (b.type) {
    case 'constant':
      raw = b.delayMs;
      break;
    case 'linear':
      raw = b.delayMs * n;
      break;
    case 'exponential':
      // pow overflows to Infinity, which the cap turns back into a finite number.
      raw = b.delayMs * Math.pow(b.factor, n - 1);
      break;
  }
  return Number.isFinite(raw) ? Math.min(raw, b.maxDelayMs) : b.maxDelayMs;
}

/**
 * The delay before the next try, in whole milliseconds, within [0, maxDelayMs].
 * `previousMs` feeds decorrelated jitter (the delay used last time, or undefined for the first).
 */
export function backoffDelay(
  b: ResolvedBackoff,
  attempt: number,
  random: () => number = Math.random,
  previousMs?: number,
): number {
  return applyJitter(baseDelay(b, attempt), b.jitter, b.delayMs, b.maxDelayMs, random, previousMs);
}

/**
 * Spreads an already capped delay with `jitter`; the result is in whole milliseconds within
 * [0, maxDelayMs]. `firstMs` is the smallest delay decorrelated jitter starts from; `previousMs` is
 * the delay used last time (decorrelated only).
 */
export function applyJitter(
  capped: number,
  jitter: JitterType,
  firstMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
  previousMs?: number,
): number {
  if (!(capped > 0) || !(maxDelayMs > 0)) return 0;
  let d: number;
  switch (jitter) {
    case 'none':
      d = capped;
      break;
    case 'full':
      d = random() * capped;
      break;
    case 'equal':
      d = capped / 2 + (random() * capped) / 2;
      break;
    case 'decorrelated': {
      // AWS "decorrelated jitter": between the base delay and three times the previous delay.
      const lo = Math.max(0, Math.min(firstMs, maxDelayMs));
      const prev = previousMs === undefined || !(previousMs >= lo) ? lo : previousMs;
      d = Math.min(maxDelayMs, lo + random() * (prev * 3 - lo));
      break;
    }
  }
  // NaN (a bad random source) falls to 0 rather than through every comparison.
  return d > 0 ? Math.min(maxDelayMs, Math.round(d)) : 0;
}
