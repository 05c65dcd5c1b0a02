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
    errors: [],
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
    expect(a).toMatchObject({ action: 'pause', then: 'pause', pauseReason: 'auth: expired', delayMs: 0 });
    // A pause or a stop is not the job's fault: the attempt is given back without counting a snooze.
    expect(a.item.store).toBe('release');
    const f = decideFate(job(), new FatalError('broken'), now, {});
    expect(f).toMatchObject({ action: 'stop', then: 'stop' });
    expect(f.item.store).toBe('release');
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

  it('honours a Retry-After longer than the escalation cap, up to maxRetryAfterMs', () => {
    const hour = 3_600_000;
    const f = decideFate(job(), new RateLimitError('x', { retryAfterMs: hour }), now, {});
    expect(f.delayMs).toBe(hour);
    expect(f.throttleUntil).toBe(now + hour);
    const capped = decideFate(job(), new RateLimitError('x', { retryAfterMs: 30 * 86_400_000 }), now, {});
    expect(capped.delayMs).toBe(86_400_000);
    const own = decideFate(job(), new RateLimitError('x', { retryAfterMs: hour }), now, {
      maxRetryAfterMs: 60_000,
    });
    expect(own.delayMs).toBe(60_000);
  });

  it('grows decorrelated jitter from the delay the last retry waited', () => {
    const backoff = resolveBackoff({ delayMs: 100, maxDelayMs: 1_000_000, jitter: 'decorrelated' });
    const top = () => 0.999999; // the top of each range: base + (3 * previous - base)
    const delays: number[] = [];
    let errors: Job['errors'] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const f = decideFate(
        job({ attempts: attempt, maxAttempts: 10, backoff, errors }),
        new TransientError('x'),
        now,
        {},
        top,
      );
      delays.push(f.delayMs);
      errors = [...errors, f.item.error];
    }
    expect(delays[0]).toBeCloseTo(300, -1);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1]! * 2.5);
  });
});
