import { describe, expect, it } from 'vitest';
import {
  AuthError,
  DependencyError,
  FatalError,
  PermanentError,
  RateLimitError,
  ResourceError,
  TimeoutError,
  TransientError,
  ValidationError,
  classify,
  parseRetryAfter,
} from '../../src/resilience/index.js';

const withCode = (code: string) => Object.assign(new Error(code), { code });
const withStatus = (status: number, extra: object = {}) =>
  Object.assign(new Error(`HTTP ${status}`), { status, ...extra });

describe('classify', () => {
  it('reads the exported error classes', () => {
    expect(classify(new TransientError('x')).category).toBe('transient');
    expect(classify(new RateLimitError('x', { retryAfterMs: 1200 }))).toMatchObject({
      category: 'rate_limit',
      retryAfterMs: 1200,
    });
    expect(classify(new AuthError('x')).category).toBe('auth');
    expect(classify(new ValidationError('x')).category).toBe('validation');
    expect(classify(new PermanentError('x')).category).toBe('permanent');
    expect(classify(new ResourceError('x')).category).toBe('resource');
    expect(classify(new DependencyError('x', { retryAfterMs: 5 }))).toMatchObject({
      category: 'dependency',
      retryAfterMs: 5,
    });
    expect(classify(new FatalError('x')).category).toBe('fatal');
    expect(classify(new TimeoutError()).category).toBe('transient');
  });

  it('reads HTTP status from status, statusCode and response.status', () => {
    expect(classify(withStatus(429)).category).toBe('rate_limit');
    expect(classify(withStatus(401)).category).toBe('auth');
    expect(classify(Object.assign(new Error(), { statusCode: 403 })).category).toBe('auth');
    expect(classify(Object.assign(new Error(), { response: { status: 503 } })).category).toBe('transient');
    expect(classify(withStatus(500)).category).toBe('transient');
    expect(classify(withStatus(408)).category).toBe('transient');
    expect(classify(withStatus(422)).category).toBe('validation');
    expect(classify(withStatus(404)).category).toBe('permanent');
    expect(classify(withStatus(410)).category).toBe('permanent');
    expect(classify(withStatus(501)).category).toBe('permanent');
  });

  it('takes Retry-After from headers (seconds or HTTP date, plain object or Headers)', () => {
    expect(classify(withStatus(429, { headers: { 'retry-after': '3' } })).retryAfterMs).toBe(3000);
    expect(
      classify(withStatus(429, { response: { status: 429, headers: new Headers({ 'Retry-After': '2' }) } }))
        .retryAfterMs,
    ).toBe(2000);
    const at = new Date(Date.now() + 10_000).toUTCString();
    const ms = parseRetryAfter(at)!;
    expect(ms).toBeGreaterThan(8000);
    expect(ms).toBeLessThanOrEqual(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
  });

  it('reads Node and driver error codes', () => {
    for (const c of [
      'ECONNRESET',
      'ETIMEDOUT',
      'ENOTFOUND',
      'EAI_AGAIN',
      'ECONNREFUSED',
      'EPIPE',
      '40P01',
      'SQLITE_BUSY',
    ]) {
      expect(classify(withCode(c)).category, c).toBe('transient');
    }
    for (const c of ['ENOMEM', 'ENOSPC', 'EMFILE', 'ENFILE'])
      expect(classify(withCode(c)).category, c).toBe('resource');
  });

  it('classifies abort and timeout errors as transient', () => {
    const abort = new DOMException('aborted', 'AbortError');
    expect(classify(abort).category).toBe('transient');
    expect(classify(new DOMException('t', 'TimeoutError')).category).toBe('transient');
  });

  it('follows the cause chain, and falls back to unknown', () => {
    const wrapped = new Error('request failed', { cause: withCode('ECONNRESET') });
    expect(classify(wrapped)).toMatchObject({ category: 'transient', reason: 'cause: code ECONNRESET' });
    expect(classify(new Error('??')).category).toBe('unknown');
    expect(classify('a string').category).toBe('unknown');
    expect(classify(undefined).category).toBe('unknown');
  });

  it('runs user rules first', () => {
    const rules = [(e: unknown) => ((e as Error).message === 'quota' ? ('rate_limit' as const) : undefined)];
    expect(classify(new Error('quota'), rules)).toMatchObject({ category: 'rate_limit', reason: 'rule 0' });
    expect(classify(withStatus(401), [() => ({ category: 'permanent', reason: 'custom' })])).toMatchObject({
      category: 'permanent',
      reason: 'custom',
    });
  });

  it('takes JavaScript error classes as programming errors (permanent), after every other signal', () => {
    for (const E of [TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
      expect(classify(new E('bug')), E.name).toMatchObject({ category: 'permanent' });
    }
    // fetch() throws a TypeError whose cause says what happened: the network, not the code.
    const fetchFailed = new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') });
    expect(classify(fetchFailed)).toMatchObject({
      category: 'transient',
      reason: 'cause: code ECONNREFUSED',
    });
    expect(classify(new RangeError('Array buffer allocation failed')).category).toBe('resource');
    for (const c of ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_REQUIRE_ESM'])
      expect(classify(withCode(c)).category, c).toBe('permanent');
  });

  it('finds a Node code in the message when the error has no code of its own', () => {
    expect(classify(new Error('read ECONNRESET'))).toMatchObject({
      category: 'transient',
      reason: 'message ECONNRESET',
    });
    expect(classify(new Error('socket hang up: ETIMEDOUT after 3 tries')).category).toBe('transient');
    expect(classify(new Error('write EMFILE too many open files')).category).toBe('resource');
    expect(classify(new Error('ECONNRESETX is not a code')).category).toBe('unknown');
  });

  it('classifies PostgreSQL SQLSTATE codes by class', () => {
    const cases: [string, string][] = [
      ['08006', 'transient'], // connection_failure
      ['08001', 'transient'],
      ['57P01', 'transient'], // admin_shutdown
      ['57P03', 'transient'],
      ['40001', 'transient'], // serialization_failure
      ['40P01', 'transient'], // deadlock_detected
      ['53100', 'resource'], // disk_full
      ['53200', 'resource'], // out_of_memory
      ['53300', 'resource'], // too_many_connections
      ['23505', 'permanent'], // unique_violation
      ['23503', 'permanent'], // foreign_key_violation
      ['22P02', 'validation'], // invalid_text_representation
      ['42P01', 'permanent'], // undefined_table
      ['28P01', 'auth'], // invalid_password
      ['3D000', 'fatal'], // invalid_catalog_name
    ];
    for (const [code, category] of cases) expect(classify(withCode(code)).category, code).toBe(category);
  });

  it('classifies SQLite result codes, extended ones included', () => {
    const cases: [string, string][] = [
      ['SQLITE_BUSY', 'transient'],
      ['SQLITE_BUSY_SNAPSHOT', 'transient'],
      ['SQLITE_LOCKED', 'transient'],
      ['SQLITE_LOCKED_SHAREDCACHE', 'transient'],
      ['SQLITE_FULL', 'resource'],
      ['SQLITE_IOERR_WRITE', 'resource'],
      ['SQLITE_CONSTRAINT_UNIQUE', 'permanent'],
      ['SQLITE_CORRUPT', 'fatal'],
    ];
    for (const [code, category] of cases) expect(classify(withCode(code)).category, code).toBe(category);
  });
});
