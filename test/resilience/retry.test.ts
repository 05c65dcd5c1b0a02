import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { AuthError, RateLimitError, TransientError, ValidationError } from '../../src/kernel/errors.js';
import { RetryBudget, retry, type RetryEvents } from '../../src/resilience/retry.js';
import { FakeTime, flush } from './fake-time.js';

const transient = (): Error => Object.assign(new Error('reset'), { code: 'ECONNRESET' });

describe('retry', () => {
  it('retries transient failures up to maxAttempts, passing the attempt number', async () => {
    const time = new FakeTime();
    const r = retry({
      maxAttempts: 4,
      backoff: { type: 'constant', delayMs: 100, jitter: 'none' },
      clock: time,
      timers: time,
    });
    const seen: number[] = [];
    const p = r.execute(({ attempt }) => {
      seen.push(attempt);
      if (attempt < 3) throw transient();
      return `ok@${attempt}`;
    });
    await time.tick(99);
    expect(seen).toEqual([1]);
    await time.tick(1);
    expect(seen).toEqual([1, 2]);
    await time.tick(100);
    await expect(p).resolves.toBe('ok@3');
    expect(time.pending).toBe(0);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const time = new FakeTime();
    const r = retry({
      maxAttempts: 3,
      backoff: { type: 'constant', delayMs: 10, jitter: 'none' },
      timers: time,
    });
    let calls = 0;
    const p = r.execute(async () => {
      calls++;
      throw new TransientError(`fail ${calls}`);
    });
    const check = expect(p).rejects.toThrow('fail 3');
    await time.tick(10);
    await time.tick(10);
    await check;
    expect(calls).toBe(3);
  });

  it('does not retry validation, auth or permanent errors by default', async () => {
    for (const err of [
      new ValidationError('bad'),
      new AuthError('nope'),
      Object.assign(new Error('x'), { status: 404 }),
    ]) {
      let calls = 0;
      const r = retry({ maxAttempts: 5, backoff: { delayMs: 0 } });
      await expect(
        r.execute(() => {
          calls++;
          throw err;
        }),
      ).rejects.toBe(err);
      expect(calls).toBe(1);
    }
  });

  it('grows delays exponentially, capped before jitter', async () => {
    const time = new FakeTime();
    const events: RetryEvents['retry'][] = [];
    const r = retry({
      maxAttempts: 6,
      backoff: { type: 'exponential', delayMs: 100, maxDelayMs: 500, jitter: 'none' },
      timers: time,
    });
    r.on('retry', (e) => events.push(e));
    const p = r.execute(() => {
      throw transient();
    });
    const check = expect(p).rejects.toThrow('reset');
    await time.tick(100 + 200 + 400 + 500 + 500);
    await check;
    expect(events.map((e) => e.delayMs)).toEqual([100, 200, 400, 500, 500]);
    expect(events.map((e) => e.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(events.every((e) => e.category === 'transient')).toBe(true);
  });

  it('supports linear and custom backoff', () => {
    const lin = retry({ backoff: { type: 'linear', delayMs: 50, jitter: 'none' } });
    expect([1, 2, 3].map((a) => lin.delayMs(a))).toEqual([50, 100, 150]);
    const custom = retry({ backoff: { type: 'custom', delay: (a) => a * a * 10, maxDelayMs: 300 } });
    expect([1, 2, 3, 10, 1e6].map((a) => custom.delayMs(a))).toEqual([10, 40, 90, 300, 300]);
    const broken = retry({ backoff: { type: 'custom', delay: () => NaN } });
    expect(broken.delayMs(1)).toBe(0);
  });

  it('retries by error class, by predicate and by result', async () => {
    class Flaky extends Error {}
    let n = 0;
    const byClass = retry({ maxAttempts: 3, backoff: { delayMs: 0 }, retryOn: { errors: [Flaky] } });
    await expect(
      byClass.execute(() => {
        if (++n < 3) throw new Flaky('flaky');
        return n;
      }),
    ).resolves.toBe(3);

    n = 0;
    const byWhen = retry({
      maxAttempts: 3,
      backoff: { delayMs: 0 },
      retryOn: { when: (e) => (e as Error).message === 'again' },
    });
    await expect(
      byWhen.execute(() => {
        if (++n < 2) throw new Error('again');
        return n;
      }),
    ).resolves.toBe(2);

    const onlyClass = retry({ maxAttempts: 3, backoff: { delayMs: 0 }, retryOn: { errors: [Flaky] } });
    n = 0;
    await expect(
      onlyClass.execute(() => {
        n++;
        throw transient();
      }),
    ).rejects.toThrow('reset');
    expect(n).toBe(1);

    n = 0;
    const byResult = retry({
      maxAttempts: 4,
      backoff: { delayMs: 0 },
      retryOnResult: (v) => v === 'pending',
    });
    await expect(byResult.execute(async () => (++n < 3 ? 'pending' : 'done'))).resolves.toBe('done');
    n = 0;
    await expect(byResult.execute(() => (++n, 'pending'))).resolves.toBe('pending');
    expect(n).toBe(4);
  });

  it('honours retryAfterMs and gives up when it is too long', async () => {
    const time = new FakeTime();
    const r = retry({
      maxAttempts: 3,
      backoff: { type: 'constant', delayMs: 10, jitter: 'none' },
      maxRetryAfterMs: 5000,
      timers: time,
    });
    let calls = 0;
    const p = r.execute(() => {
      if (++calls === 1) throw new RateLimitError('slow down', { retryAfterMs: 2000 });
      return calls;
    });
    await time.tick(1999);
    expect(calls).toBe(1);
    await time.tick(1);
    await expect(p).resolves.toBe(2);

    const giveUps: string[] = [];
    r.on('give_up', (e) => giveUps.push(e.reason));
    await expect(
      r.execute(() => {
        throw new RateLimitError('come back tomorrow', { retryAfterMs: 86_400_000 });
      }),
    ).rejects.toThrow('tomorrow');
    expect(giveUps).toEqual(['retry_after_too_long']);
  });

  it('keeps retries within the budget: retries ≤ ratio × calls over the window', async () => {
    const clock = new ManualClock(1_000_000);
    const budget = new RetryBudget({ ratio: 0.5, windowMs: 10_000, clock });
    const r = retry({ maxAttempts: 10, backoff: { delayMs: 0 }, budget, clock });
    const reasons: string[] = [];
    r.on('give_up', (e) => reasons.push(e.reason));
    for (let i = 0; i < 4; i++) await r.execute(() => 'ok');
    // 4 calls → 2 retries allowed. The 5th call makes it 5 calls → 2.5: still 2 retries in all.
    let tries = 0;
    await expect(
      r.execute(() => {
        tries++;
        throw transient();
      }),
    ).rejects.toThrow();
    expect(tries).toBe(3);
    expect(budget.usage()).toEqual({ calls: 5, retries: 2 });
    expect(reasons).toEqual(['budget']);
    // After the window the budget starts again from nothing.
    clock.advance(10_001);
    expect(budget.usage()).toEqual({ calls: 0, retries: 0 });
    expect(budget.tryRetry()).toBe(false);
  });

  it('stops when the caller aborts, including during a pause, leaving nothing behind', async () => {
    const time = new FakeTime();
    const r = retry({
      maxAttempts: 5,
      backoff: { type: 'constant', delayMs: 1000, jitter: 'none' },
      timers: time,
    });
    const ac = new AbortController();
    let calls = 0;
    const p = r.execute(() => {
      calls++;
      throw transient();
    }, ac.signal);
    const check = expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await flush();
    expect(time.pending).toBe(1);
    ac.abort();
    await check;
    expect(calls).toBe(1);
    expect(time.pending).toBe(0);
    await expect(r.execute(() => 1, ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects bad options with a ValidationError', () => {
    expect(() => retry({ maxAttempts: 0 })).toThrow(ValidationError);
    expect(() => retry({ backoff: { delayMs: -1 } })).toThrow(ValidationError);
    expect(() => retry({ budget: { ratio: -1 } })).toThrow(ValidationError);
    expect(() => retry({ retryOn: { categories: ['nope' as never] } })).toThrow(ValidationError);
  });
});
