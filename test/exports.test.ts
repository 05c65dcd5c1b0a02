/** The public API is explicit: these names are exported and nothing internal leaks by accident. */
import { describe, expect, it } from 'vitest';
import * as bulwark from '../src/index.js';

describe('public API', () => {
  it('exports the runtime names users rely on', () => {
    for (const name of [
      'Queue',
      'Worker',
      'sqliteStore',
      'SqliteStore',
      'classify',
      'decideFate',
      'DEFAULT_ACTIONS',
      'DEFAULT_RETENTION',
      'ManualClock',
      'TransientError',
      'RateLimitError',
      'AuthError',
      'ValidationError',
      'PermanentError',
      'ResourceError',
      'DependencyError',
      'FatalError',
      'TimeoutError',
      'NotFoundError',
      'LeaseLostError',
      'currentJob',
      'backoffDelay',
      'Pipeline',
      'startDashboard',
      'createDashboard',
    ]) {
      expect(bulwark, name).toHaveProperty(name);
    }
  });

  it('gives every error a stable code and a name, checked without instanceof', () => {
    const e = new bulwark.RateLimitError('x', { retryAfterMs: 5 });
    expect(e).toMatchObject({
      name: 'RateLimitError',
      code: 'RATE_LIMITED',
      category: 'rate_limit',
      retryAfterMs: 5,
    });
    expect(bulwark.isRateLimitError({ code: 'RATE_LIMITED' })).toBe(true);
    expect(bulwark.isValidationError(new Error('x'))).toBe(false);
    expect(bulwark.coerceError('boom').message).toBe('non-error thrown: boom');
  });
});
