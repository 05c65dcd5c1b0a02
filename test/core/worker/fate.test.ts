import { describe, expect, it } from 'vitest';
import { AuthError, FatalError, RateLimitError, TransientError, type Job } from '../../../src/index.js';
import { decideFate } from '../../../src/core/worker/fate.js';
import { resolveBackoff } from '../../../src/resilience/index.js';

const job = (over: Partial<Job> = {}): Job =>
  ({
    id: 'j',
    queue: 'q',
    attempts: 1,
    maxAttempts: 3,
    fence: 7,
    snoozes: 0,
    backoff: resolveBackoff({ delayMs: 100, jitter: 'none' }),
    ...over,
  }) as Job;

describe('decideFate', () => {
  const now = 1_000_000;
  it('retries with the job backoff, then dead-letters on the last attempt', () => {
    const f = decideFate(job(), new TransientError('x'), now, {});
    expect(f.item).toMatchObject({ store: 'retry', runAt: now + 100, token: 7 });
    const last = decideFate(job({ attempts: 3 }), new TransientError('x'), now, {});
    expect(last.item.store).toBe('dead');
    expect(last.item.reason).toMatch(/failed 3 of 3 attempts; last transient: x/);
  });

  it('snoozes a rate limit with escalation when no Retry-After is given, and throttles', () => {
    const a = decideFate(job(), new RateLimitError('x'), now, { rateLimitSnoozeMs: 100 });
    const b = decideFate(job({ snoozes: 3 }), new RateLimitError('x'), now, { rateLimitSnoozeMs: 100 });
    expect([a.delayMs, b.delayMs]).toEqual([100, 800]);
    expect(a.throttleUntil).toBe(now + 100);
    expect(a.item.store).toBe('snooze');
    const capped = decideFate(job({ snoozes: 40 }), new RateLimitError('x'), now, {});
    expect(capped.delayMs).toBe(300_000);
  });

  it('dead-letters a job snoozed too many times', () => {
    const f = decideFate(job({ snoozes: 5 }), new RateLimitError('x'), now, { maxSnoozes: 5 });
    expect(f.item.store).toBe('dead');
    expect(f.item.reason).toMatch(/snoozed 5 times/);
  });

  it('pauses on auth and stops on fatal, both giving the attempt back', () => {
    const a = decideFate(job(), new AuthError('expired'), now, {});
    expect(a).toMatchObject({ action: 'pause', pauseReason: 'auth: expired', delayMs: 0 });
    expect(a.item.store).toBe('snooze');
    const f = decideFate(job(), new FatalError('broken'), now, {});
    expect(f).toMatchObject({ action: 'stop', then: 'stop' });
    expect(f.item.store).toBe('snooze');
  });

  it('records a bounded message and the category in the error record', () => {
    const f = decideFate(job(), new TransientError('m'.repeat(5000)), now, {});
    expect(f.item.error.message.length).toBeLessThanOrEqual(2001);
    expect(f.item.error).toMatchObject({
      attempt: 1,
      category: 'transient',
      action: 'retry',
      name: 'TransientError',
      at: now,
    });
  });
});
