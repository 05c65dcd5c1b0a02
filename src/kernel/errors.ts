/**
 * Error classes and guards. Every bulwark error carries a stable `code`; the guards test that code
 * (never `instanceof` alone) so errors crossing realms or duplicated package copies still match.
 */

/** The categories an error is classified into; the category decides the job's fate. */
export const ERROR_CATEGORIES = [
  'transient',
  'rate_limit',
  'auth',
  'validation',
  'permanent',
  'resource',
  'dependency',
  'fatal',
  'unknown',
] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

export interface BulwarkErrorOptions {
  cause?: unknown;
}

/** Base class of every error bulwark throws or exports. */
export class BulwarkError extends Error {
  override readonly name: string = 'BulwarkError';
  readonly code: string = 'BULWARK_ERROR';
  /** The category this error classifies as, when it has a fixed one. */
  readonly category: ErrorCategory | undefined = undefined;

  constructor(message: string, options: BulwarkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

export class TransientError extends BulwarkError {
  override readonly name = 'TransientError';
  override readonly code = 'TRANSIENT';
  override readonly category = 'transient' as const;
}

export interface RateLimitErrorOptions extends BulwarkErrorOptions {
  /** How long to wait before trying again, in milliseconds. */
  retryAfterMs?: number;
}

export class RateLimitError extends BulwarkError {
  override readonly name = 'RateLimitError';
  override readonly code = 'RATE_LIMITED';
  override readonly category = 'rate_limit' as const;
  readonly retryAfterMs: number | undefined;
  constructor(message = 'rate limited', options: RateLimitErrorOptions = {}) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

export class AuthError extends BulwarkError {
  override readonly name = 'AuthError';
  override readonly code = 'AUTH';
  override readonly category = 'auth' as const;
}

/** Input that can never succeed: bad payload, failed schema, invalid options. */
export class ValidationError extends BulwarkError {
  override readonly name = 'ValidationError';
  override readonly code = 'VALIDATION';
  override readonly category = 'validation' as const;
  /** Where the problem is, e.g. `options.priority` or `payload`. */
  readonly path: string | undefined;
  constructor(message: string, options: BulwarkErrorOptions & { path?: string } = {}) {
    super(message, options);
    this.path = options.path;
  }
}

export class PermanentError extends BulwarkError {
  override readonly name = 'PermanentError';
  override readonly code = 'PERMANENT';
  override readonly category = 'permanent' as const;
}

export class ResourceError extends BulwarkError {
  override readonly name = 'ResourceError';
  override readonly code = 'RESOURCE';
  override readonly category = 'resource' as const;
}

export interface DependencyErrorOptions extends BulwarkErrorOptions {
  /** The dependency's name, e.g. `openai`. */
  dependency?: string;
  /** When the dependency may be tried again, in milliseconds from now. */
  retryAfterMs?: number;
}

/** A dependency the job needs is unavailable (its breaker is open, or it is missing). */
export class DependencyError extends BulwarkError {
  override readonly name: string = 'DependencyError';
  override readonly code: string = 'DEPENDENCY';
  override readonly category = 'dependency' as const;
  readonly dependency: string | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: DependencyErrorOptions = {}) {
    super(message, options);
    this.dependency = options.dependency;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The worker cannot go on safely (corrupted state, missing configuration): stop it. */
export class FatalError extends BulwarkError {
  override readonly name = 'FatalError';
  override readonly code = 'FATAL';
  override readonly category = 'fatal' as const;
}

/** A call or a job ran past its time limit. Classified as transient. */
export class TimeoutError extends BulwarkError {
  override readonly name = 'TimeoutError';
  override readonly code = 'TIMEOUT';
  override readonly category = 'transient' as const;
  readonly timeoutMs: number | undefined;
  constructor(message = 'timed out', options: BulwarkErrorOptions & { timeoutMs?: number } = {}) {
    super(message, options);
    this.timeoutMs = options.timeoutMs;
  }
}

/** A job id, queue or entry that does not exist. */
export class NotFoundError extends BulwarkError {
  override readonly name = 'NotFoundError';
  override readonly code = 'NOT_FOUND';
}

/** A store rejected an operation made with a stale fencing token: the attempt lost its lease. */
export class LeaseLostError extends BulwarkError {
  override readonly name = 'LeaseLostError';
  override readonly code = 'LEASE_LOST';
}

/** An operation on a runtime that is closing or closed. */
export class ClosedError extends BulwarkError {
  override readonly name = 'ClosedError';
  override readonly code = 'CLOSED';
}

/** An operation refused in the current state (e.g. replaying a job that is not dead). */
export class StateError extends BulwarkError {
  override readonly name = 'StateError';
  override readonly code = 'INVALID_STATE';
}

/** A store failed in a way the caller cannot fix by changing its input. */
export class StoreError extends BulwarkError {
  override readonly name = 'StoreError';
  override readonly code = 'STORE';
}

/**
 * A store used after its `close()`: it never answers again, so no retry waits for it (a worker whose
 * store was closed under it gives up its writes instead of retrying them for ever).
 */
export class StoreClosedError extends StoreError {
  readonly storeClosed = true;

  /** @param store the store's kind, named in the message (`sqlite`, `postgres`, `redis`). */
  constructor(store: string) {
    super(`[bulwark] [${store}] the store is closed`);
  }
}

/** True for the error of a store used after its close (not an `instanceof` check: see isBulwarkError). */
export const isStoreClosed = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && (e as { storeClosed?: unknown }).storeClosed === true;

/**
 * A call needs something the store does not do, e.g. `add(…, { tx })` on a store without
 * transactional enqueue. Nothing was written. Changing the call (or the store) is the only fix.
 */
export class CapabilityError extends BulwarkError {
  override readonly name = 'CapabilityError';
  override readonly code = 'CAPABILITY';
  override readonly category = 'permanent' as const;
  constructor(
    /** The store's name, e.g. `sqlite`. */
    readonly store: string,
    /** The missing capability, e.g. `transactionalEnqueue`. */
    readonly capability: string,
    what: string,
  ) {
    super(
      `[bulwark] [${store}] ${what} needs the store capability '${capability}', which the ${store} store lacks`,
    );
  }
}

/** True when `value` is a bulwark error with the given code (works across package copies). */
export function hasCode(value: unknown, code: string): boolean {
  return typeof value === 'object' && value !== null && (value as { code?: unknown }).code === code;
}

export const isValidationError = (e: unknown): e is ValidationError => hasCode(e, 'VALIDATION');
export const isRateLimitError = (e: unknown): e is RateLimitError => hasCode(e, 'RATE_LIMITED');
export const isTimeoutError = (e: unknown): e is TimeoutError => hasCode(e, 'TIMEOUT');
export const isNotFoundError = (e: unknown): e is NotFoundError => hasCode(e, 'NOT_FOUND');
export const isLeaseLostError = (e: unknown): e is LeaseLostError => hasCode(e, 'LEASE_LOST');
export const isCapabilityError = (e: unknown): e is CapabilityError => hasCode(e, 'CAPABILITY');

/** The message of anything thrown, read without trusting it (a getter or proxy trap may throw). */
export function messageOf(value: unknown): string {
  try {
    return value instanceof Error ? value.message : String(value);
  } catch {
    return 'a value that cannot be read';
  }
}

/** Turns anything thrown into an Error, keeping the original as `cause` when it was not one. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'object' && value !== null && typeof (value as Error).message === 'string') {
    const e = new Error((value as Error).message, { cause: value });
    const name = (value as Error).name;
    if (typeof name === 'string') e.name = name;
    return e;
  }
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return new Error(`non-error thrown: ${text}`, { cause: value });
}
