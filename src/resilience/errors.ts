/** Errors the resilience policies reject with, and guards that test their `code`. */
import {
  BulwarkError,
  DependencyError,
  RateLimitError,
  hasCode,
  type BulwarkErrorOptions,
  type DependencyErrorOptions,
} from '../kernel/errors.js';

export interface BrokenCircuitErrorOptions extends DependencyErrorOptions {
  /** True when the breaker was isolated by hand (no time is known when it reopens). */
  isolated?: boolean;
}

/**
 * A circuit breaker refused the call: it is open (`retryAfterMs` says when it may half-open), its
 * half-open probes are all taken, or it is isolated. Classified as `dependency`.
 */
export class BrokenCircuitError extends DependencyError {
  override readonly name = 'BrokenCircuitError';
  override readonly code = 'BROKEN_CIRCUIT';
  readonly isolated: boolean;
  constructor(message: string, options: BrokenCircuitErrorOptions = {}) {
    super(message, options);
    this.isolated = options.isolated === true;
  }
}

/**
 * Builds a BrokenCircuitError without running the Error constructor: a rejection while open must
 * cost little, and even with `Error.stackTraceLimit = 0` V8 spends far more on an Error than on an
 * object. The result has the same own properties, prototype chain (`instanceof` works) and `code`
 * (the guards work) as a constructed one; its `stack` is just its first line and
 * `util.types.isNativeError()` is false for it.
 * @internal
 */
export function brokenCircuit(
  message: string,
  dependency: string | undefined,
  retryAfterMs: number | undefined,
  isolated: boolean,
): BrokenCircuitError {
  const e = Object.create(BrokenCircuitError.prototype) as {
    -readonly [K in keyof BrokenCircuitError]: BrokenCircuitError[K];
  };
  e.name = 'BrokenCircuitError';
  e.code = 'BROKEN_CIRCUIT';
  e.category = 'dependency';
  e.dependency = dependency;
  e.retryAfterMs = retryAfterMs;
  e.isolated = isolated;
  e.message = message;
  e.stack = `BrokenCircuitError: ${message}`;
  return e as BrokenCircuitError;
}

/** A bulkhead is full: every slot is busy and its queue is full (or the wait was not allowed). */
export class BulkheadRejectedError extends BulwarkError {
  override readonly name = 'BulkheadRejectedError';
  override readonly code = 'BULKHEAD_FULL';
  override readonly category = 'resource' as const;
  readonly dependency: string | undefined;
  constructor(message: string, options: BulwarkErrorOptions & { dependency?: string } = {}) {
    super(message, options);
    this.dependency = options.dependency;
  }
}

/**
 * A local rate limiter refused the call. It is a RateLimitError (classified `rate_limit`, with
 * `retryAfterMs`), marked `local` so a breaker does not count it against the dependency.
 */
export class RateLimitRejectedError extends RateLimitError {
  readonly local = true;
  readonly dependency: string | undefined;
  constructor(message: string, options: { retryAfterMs: number; dependency?: string | undefined }) {
    super(message, { retryAfterMs: options.retryAfterMs });
    this.dependency = options.dependency;
  }
}

export const isBrokenCircuitError = (e: unknown): e is BrokenCircuitError => hasCode(e, 'BROKEN_CIRCUIT');
export const isBulkheadRejectedError = (e: unknown): e is BulkheadRejectedError =>
  hasCode(e, 'BULKHEAD_FULL');
/** A DependencyError of any kind, an open breaker included. */
export const isDependencyError = (e: unknown): e is DependencyError =>
  hasCode(e, 'DEPENDENCY') || hasCode(e, 'BROKEN_CIRCUIT');
/** True for the rejections of bulwark's own bulkhead and rate limiter (not the dependency's fault). */
export const isLocalRejection = (e: unknown): boolean =>
  hasCode(e, 'BULKHEAD_FULL') || (hasCode(e, 'RATE_LIMITED') && (e as { local?: unknown }).local === true);
