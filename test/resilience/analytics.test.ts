import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { ValidationError } from '../../src/kernel/errors.js';
import { ErrorAnalytics, normalizeMessage, trendOf } from '../../src/resilience/analytics.js';

const MIN = 60_000;

describe('normalizeMessage', () => {
  it('replaces numbers, hex ids, UUIDs, URLs, e-mails and quoted values with placeholders', () => {
    expect(normalizeMessage('timeout after 3000 ms on attempt 2')).toBe(
      'timeout after <n> ms on attempt <n>',
    );
    expect(normalizeMessage('GET https://api.example.com/v1/users/42?x=1 failed: 503')).toBe(
      'GET <url> failed: <n>',
    );
    expect(normalizeMessage('job 550e8400-e29b-41d4-a716-446655440000 not found')).toBe(
      'job <uuid> not found',
    );
    expect(normalizeMessage('document 5f1d7c9e3b2a8c0012345678 missing, ptr 0xDEADBEEF')).toBe(
      'document <hex> missing, ptr <hex>',
    );
    expect(normalizeMessage('cannot mail alice.smith+x@mail.example.org')).toBe('cannot mail <email>');
    expect(normalizeMessage(`column "user_name" of relation 'accounts' does not exist`)).toBe(
      'column <str> of relation <str> does not exist',
    );
    expect(normalizeMessage("can't connect   to\nhost")).toBe("can't connect to host");
    expect(normalizeMessage('x'.repeat(1000), 50)).toHaveLength(50);
  });
});

describe('trendOf', () => {
  it('needs both a ratio and a minimum change', () => {
    expect(trendOf(10, 2)).toBe('rising');
    expect(trendOf(2, 1)).toBe('steady');
    expect(trendOf(2, 10)).toBe('falling');
    expect(trendOf(11, 10)).toBe('steady');
    expect(trendOf(0, 0)).toBe('steady');
  });
});

describe('ErrorAnalytics', () => {
  it('groups errors by pattern and counts them per window, per queue and per dependency', () => {
    const clock = new ManualClock(100 * MIN);
    const a = new ErrorAnalytics({ clock, bucketMs: MIN, buckets: 60, defaultWindowMs: 10 * MIN });
    for (let i = 0; i < 5; i++) {
      a.record({
        queue: 'emails',
        dependency: 'smtp',
        category: 'transient',
        error: new Error(`connect ETIMEDOUT 10.0.0.${i}:25`),
      });
    }
    a.record({ queue: 'emails', category: 'validation', error: new Error('missing field "to"') });
    a.record({
      queue: 'embed',
      dependency: 'openai',
      category: 'rate_limit',
      error: { name: 'RateLimitError', message: 'retry in 20s' },
    });
    a.record({
      queue: 'embed',
      dependency: 'smtp',
      category: 'transient',
      error: new Error('connect ETIMEDOUT 10.9.9.9:25'),
    });

    const top = a.top();
    expect(top[0]).toMatchObject({
      pattern: 'Error: connect ETIMEDOUT <ip>:<n>',
      category: 'transient',
      count: 6,
      total: 6,
      example: 'Error: connect ETIMEDOUT 10.9.9.9:25',
      queues: ['emails', 'embed'],
      dependencies: ['smtp'],
    });
    expect(a.top({ queue: 'emails' }).map((p) => [p.pattern, p.count])).toEqual([
      ['Error: connect ETIMEDOUT <ip>:<n>', 5],
      ['Error: missing field <str>', 1],
    ]);
    expect(a.top({ dependency: 'openai' })).toMatchObject([
      { pattern: 'RateLimitError: retry in <n>s', count: 1 },
    ]);
    expect(a.top({ limit: 1 })).toHaveLength(1);
    expect(a.summary()).toMatchObject({
      total: 8,
      byCategory: { transient: 6, validation: 1, rate_limit: 1, auth: 0 },
      allTime: { total: 8 },
      patterns: 4,
    });
  });

  it('a steady rate is steady whatever the window, even one longer than half the history', () => {
    const clock = new ManualClock(0);
    const a = new ErrorAnalytics({ clock, bucketMs: MIN, buckets: 60 });
    for (let m = 0; m < 120; m++) {
      for (let i = 0; i < 3; i++) a.record({ category: 'transient', error: new Error('upstream 502') });
      clock.advance(MIN);
    }
    for (const minutes of [5, 20, 30, 40, 55, 60]) {
      expect(a.top({ windowMs: minutes * MIN })[0]?.trend, `${minutes} min`).toBe('steady');
    }
    for (let i = 0; i < 300; i++) a.record({ category: 'transient', error: new Error('upstream 502') });
    expect(a.top({ windowMs: 40 * MIN })[0]?.trend).toBe('rising');
  });

  it('computes the trend against the previous window and forgets what left the history', () => {
    const clock = new ManualClock(0);
    const a = new ErrorAnalytics({ clock, bucketMs: MIN, buckets: 30 });
    const boom = (): void => {
      a.record({ category: 'transient', error: new Error('upstream 502') });
    };
    boom();
    clock.advance(5 * MIN);
    for (let i = 0; i < 6; i++) boom();
    expect(a.top({ windowMs: 5 * MIN })[0]).toMatchObject({ count: 6, previousCount: 1, trend: 'rising' });
    clock.advance(5 * MIN);
    boom();
    expect(a.top({ windowMs: 5 * MIN })[0]).toMatchObject({ count: 1, previousCount: 6, trend: 'falling' });
    clock.advance(5 * MIN);
    boom();
    expect(a.top({ windowMs: 5 * MIN })[0]).toMatchObject({ count: 1, previousCount: 1, trend: 'steady' });
    clock.advance(60 * MIN);
    expect(a.top()).toEqual([]);
    expect(a.summary()).toMatchObject({ total: 0, allTime: { total: 9 } });
    // Records given their own time land in their bucket.
    a.record({ category: 'fatal', error: 'disk corrupted', at: clock.now() - 3 * MIN });
    expect(a.top({ windowMs: 2 * MIN })).toEqual([]);
    expect(a.top({ windowMs: 5 * MIN })[0]).toMatchObject({ pattern: 'disk corrupted', count: 1 });
  });

  it('keeps memory bounded: the least recently seen pattern is evicted first', () => {
    const clock = new ManualClock(0);
    const a = new ErrorAnalytics({ clock, maxPatterns: 3 });
    a.record({ category: 'unknown', error: new Error('first') });
    a.record({ category: 'unknown', error: new Error('second') });
    a.record({ category: 'unknown', error: new Error('third') });
    a.record({ category: 'unknown', error: new Error('first') }); // touched: now the most recent
    a.record({ category: 'unknown', error: new Error('fourth') });
    expect(a.summary().patterns).toBe(3);
    expect(
      a
        .top()
        .map((p) => p.pattern)
        .sort(),
    ).toEqual(['Error: first', 'Error: fourth', 'Error: third']);
    // Category totals stay exact whatever was evicted.
    expect(a.summary().byCategory.unknown).toBe(5);
    for (let i = 0; i < 10_000; i++) {
      a.record({
        category: 'unknown',
        error: new Error(
          `distinct ${String.fromCharCode(97 + (i % 26))}${i.toString(36).replace(/\d/g, 'x')}`,
        ),
      });
    }
    expect(a.summary().patterns).toBe(3);
  });

  it('rejects bad input with a ValidationError', () => {
    const a = new ErrorAnalytics();
    expect(() => a.record({ category: 'weird' as never, error: new Error('x') })).toThrow(ValidationError);
    expect(() => a.top({ limit: 0 })).toThrow(ValidationError);
    expect(() => new ErrorAnalytics({ buckets: 1 })).toThrow(ValidationError);
    expect(a.summary().allTime.total).toBe(0);
  });
});
