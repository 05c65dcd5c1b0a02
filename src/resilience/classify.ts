import { ERROR_CATEGORIES, ValidationError, type ErrorCategory } from '../kernel/errors.js';

/** The verdict on one error: its category and, for waits, how long to wait. */
export interface Classification {
  category: ErrorCategory;
  /** From Retry-After, a RateLimitError or an open breaker, in milliseconds. */
  retryAfterMs?: number | undefined;
  /** What decided the category, for logs and error history (e.g. `status 429`, `code ECONNRESET`). */
  reason: string;
}

/**
 * A user rule: return a category (or a full classification) to decide, or `undefined` to pass.
 * Rules run before the built-in ones, in order. A rule that throws, or returns anything but a known
 * category, is passed over.
 */
export type ClassifyRule = (error: unknown) => ErrorCategory | Classification | undefined;

const NODE_CODES: Readonly<Record<string, ErrorCategory>> = {
  ECONNRESET: 'transient',
  ECONNREFUSED: 'transient',
  ECONNABORTED: 'transient',
  ETIMEDOUT: 'transient',
  ESOCKETTIMEDOUT: 'transient',
  EPIPE: 'transient',
  ENOTFOUND: 'transient',
  EAI_AGAIN: 'transient',
  EHOSTUNREACH: 'transient',
  ENETUNREACH: 'transient',
  ENETDOWN: 'transient',
  EBUSY: 'transient',
  UND_ERR_CONNECT_TIMEOUT: 'transient',
  UND_ERR_HEADERS_TIMEOUT: 'transient',
  UND_ERR_BODY_TIMEOUT: 'transient',
  UND_ERR_SOCKET: 'transient',
  ABORT_ERR: 'transient',
  ENOMEM: 'resource',
  ENOSPC: 'resource',
  EMFILE: 'resource',
  ENFILE: 'resource',
  EDQUOT: 'resource',
  ERR_OUT_OF_MEMORY: 'resource',
  EACCES: 'permanent',
  EPERM: 'permanent',
  ENOENT: 'permanent',
  ERR_INVALID_ARG_TYPE: 'validation',
  ERR_INVALID_ARG_VALUE: 'validation',
  // Code that cannot load: a deploy is broken; replay the jobs once it is fixed.
  ERR_MODULE_NOT_FOUND: 'permanent',
  MODULE_NOT_FOUND: 'permanent',
  ERR_REQUIRE_ESM: 'permanent',
  ERR_UNKNOWN_FILE_EXTENSION: 'permanent',
};

/** Node codes worth finding in a message when the error carries no code of its own (wrapped errors). */
const MESSAGE_CODE = new RegExp(
  `\\b(${Object.keys(NODE_CODES)
    .filter((c) => /^E[A-Z_]+$/.test(c))
    .join('|')})\\b`,
);

/**
 * PostgreSQL SQLSTATE codes by class (the first two characters), with the exceptions inside a class.
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
const SQLSTATE_CODES: Readonly<Record<string, ErrorCategory>> = {
  '57P01': 'transient', // admin_shutdown: the server restarts
  '57P02': 'transient', // crash_shutdown
  '57P03': 'transient', // cannot_connect_now: the server is starting
  '57014': 'transient', // query_canceled (statement_timeout)
  '55P03': 'transient', // lock_not_available (lock_timeout)
  '3D000': 'fatal', // invalid_catalog_name: the database does not exist
};
const SQLSTATE_CLASSES: Readonly<Record<string, ErrorCategory>> = {
  '08': 'transient', // connection exception
  '40': 'transient', // transaction rollback: serialization failure, deadlock
  '53': 'resource', // insufficient resources: disk full, out of memory, too many connections
  '23': 'permanent', // integrity constraint violation: the same write fails again
  '22': 'validation', // data exception: the input does not fit
  '42': 'permanent', // syntax error or access rule violation: a programming error
  '28': 'auth', // invalid authorization specification
};

function bySqlState(code: string): ErrorCategory | undefined {
  if (!/^[0-9][0-9A-Z]{4}$/.test(code)) return undefined;
  return SQLSTATE_CODES[code] ?? SQLSTATE_CLASSES[code.slice(0, 2)];
}

/** SQLite result codes (better-sqlite3 `code`), extended codes included (`SQLITE_BUSY_SNAPSHOT`). */
function bySqliteCode(code: string): ErrorCategory | undefined {
  if (!code.startsWith('SQLITE_')) return undefined;
  const primary = code.split('_')[1];
  switch (primary) {
    case 'BUSY':
    case 'LOCKED':
    case 'PROTOCOL':
      return 'transient';
    case 'FULL':
    case 'NOMEM':
    case 'IOERR':
      return 'resource';
    case 'CONSTRAINT':
    case 'MISMATCH':
    case 'TOOBIG':
    case 'READONLY':
      return 'permanent';
    case 'CORRUPT':
    case 'NOTADB':
    case 'CANTOPEN':
      return 'fatal';
    default:
      return undefined;
  }
}

/**
 * JavaScript's own error classes mean a bug in the handler (calling undefined, a bad regexp): retrying
 * repeats it. Consulted last, so a TypeError wrapping a network failure (`fetch failed` with an
 * ECONNREFUSED cause) is still transient.
 */
const PROGRAMMING_ERRORS = [
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'EvalError',
  'URIError',
];

const KNOWN_CATEGORIES = new Set<string>(ERROR_CATEGORIES);
const MAX_CAUSE_DEPTH = 5;

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** Reads an HTTP status from `status`, `statusCode` or `response.status(Code)`. */
export function httpStatusOf(error: unknown): number | undefined {
  for (const v of [
    field(error, 'status'),
    field(error, 'statusCode'),
    field(field(error, 'response'), 'status'),
    field(field(error, 'response'), 'statusCode'),
  ]) {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599) return v;
  }
  return undefined;
}

function header(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') return (get as (n: string) => unknown).call(headers, name);
  const rec = headers as Record<string, unknown>;
  return rec[name] ?? rec[name.toLowerCase()] ?? rec['Retry-After'];
}

/**
 * Parses a Retry-After value: delta seconds or an HTTP date. Returns milliseconds from `now`,
 * or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new ValidationError(`[bulwark] invalid now: expected a finite number of ms, got ${String(now)}`, {
      path: 'now',
    });
  }
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function retryAfterOf(error: unknown): number | undefined {
  const direct = field(error, 'retryAfterMs');
  if (typeof direct === 'number' && Number.isFinite(direct) && direct >= 0) return direct;
  return (
    parseRetryAfter(header(field(error, 'headers'), 'retry-after')) ??
    parseRetryAfter(header(field(field(error, 'response'), 'headers'), 'retry-after'))
  );
}

function byStatus(status: number): ErrorCategory | undefined {
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408 || status === 425) return 'transient';
  if (status === 400 || status === 422) return 'validation';
  if (status >= 400 && status < 500) return 'permanent';
  if (status === 501 || status === 505) return 'permanent';
  if (status === 507) return 'resource';
  if (status >= 500) return 'transient';
  return undefined;
}

function builtIn(error: unknown): Classification | undefined {
  const own = field(error, 'category');
  if (typeof own === 'string' && KNOWN_CATEGORIES.has(own) && typeof field(error, 'code') === 'string') {
    const category = own as ErrorCategory;
    return { category, retryAfterMs: retryAfterOf(error), reason: `class ${String(field(error, 'name'))}` };
  }
  const name = field(error, 'name');
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { category: 'transient', reason: `name ${name}` };
  }
  if (name === 'ZodError') return { category: 'validation', reason: 'name ZodError' };
  const status = httpStatusOf(error);
  if (status !== undefined) {
    const category = byStatus(status);
    if (category) return { category, retryAfterMs: retryAfterOf(error), reason: `status ${status}` };
  }
  const code = field(error, 'code');
  if (typeof code === 'string') {
    const category = NODE_CODES[code] ?? bySqlState(code) ?? bySqliteCode(code);
    if (category) return { category, reason: `code ${code}` };
  }
  if (error instanceof RangeError && /allocation|memory|heap/i.test(error.message)) {
    return { category: 'resource', reason: 'RangeError allocation' };
  }
  const message = field(error, 'message');
  if (typeof message === 'string') {
    const found = MESSAGE_CODE.exec(message)?.[1];
    if (found) return { category: NODE_CODES[found]!, reason: `message ${found}` };
  }
  return undefined;
}

function programmingError(error: unknown): Classification | undefined {
  const name = field(error, 'name');
  if (error instanceof Error && typeof name === 'string' && PROGRAMMING_ERRORS.includes(name)) {
    return { category: 'permanent', reason: `programming error ${name}` };
  }
  return undefined;
}

/**
 * A rule's verdict as a classification, or undefined when it is none: a rule is user code, and one
 * that answers something other than a known category (or a classification with one) is passed over,
 * as if it had no opinion, so that no answer of a rule can leave a failure without a fate.
 */
function normalize(verdict: unknown, reason: string): Classification | undefined {
  if (typeof verdict === 'string') {
    return KNOWN_CATEGORIES.has(verdict) ? { category: verdict as ErrorCategory, reason } : undefined;
  }
  if (typeof verdict !== 'object' || verdict === null) return undefined;
  const c = verdict as Partial<Classification>;
  if (typeof c.category !== 'string' || !KNOWN_CATEGORIES.has(c.category)) return undefined;
  const retryAfterMs =
    typeof c.retryAfterMs === 'number' && Number.isFinite(c.retryAfterMs) && c.retryAfterMs >= 0
      ? c.retryAfterMs
      : undefined;
  return { category: c.category, reason: typeof c.reason === 'string' ? c.reason : reason, retryAfterMs };
}

/** What rule `i` says of `error`: a rule that throws is passed over like one with no verdict. */
function ruleVerdict(rules: readonly ClassifyRule[], i: number, error: unknown): Classification | undefined {
  let verdict: unknown;
  try {
    verdict = rules[i]!(error);
  } catch {
    return undefined;
  }
  return verdict === undefined ? undefined : normalize(verdict, `rule ${i}`);
}

/**
 * Classifies an error. User rules run first, then the built-in rules: explicit bulwark error
 * classes, abort/timeout errors, HTTP status, Node / PostgreSQL / SQLite error codes, a Node code in
 * the message; an unclassified error's `cause` chain is followed. Only then is a JavaScript error
 * class (TypeError, RangeError, …) taken as a programming error (permanent), else `unknown`.
 */
export function classify(error: unknown, rules: readonly ClassifyRule[] = []): Classification {
  if (!Array.isArray(rules)) badRules(rules, undefined);
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current !== undefined && current !== null; depth++) {
    for (let i = 0; i < rules.length; i++) {
      if (typeof rules[i] !== 'function') badRules(rules[i], i);
      const verdict = ruleVerdict(rules, i, current);
      if (verdict !== undefined) return verdict;
    }
    const found = builtIn(current);
    if (found) return depth === 0 ? found : { ...found, reason: `cause: ${found.reason}` };
    current = field(current, 'cause');
  }
  return programmingError(error) ?? { category: 'unknown', reason: 'unclassified' };
}

function badRules(value: unknown, i: number | undefined): never {
  const path = i === undefined ? 'rules' : `rules.${i}`;
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw new ValidationError(
    `[bulwark] invalid ${path}: expected ${i === undefined ? 'an array of functions' : 'a function'}, got ${got}`,
    { path },
  );
}
