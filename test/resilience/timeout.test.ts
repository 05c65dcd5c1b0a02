import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TimeoutError, ValidationError, isTimeoutError } from '../../src/kernel/errors.js';
import { retry } from '../../src/resilience/retry.js';
import { timeout, type TimeoutEvents } from '../../src/resilience/timeout.js';
import { wrap } from '../../src/resilience/wrap.js';
import { FakeTime, flush } from './fake-time.js';

/** Resolves when `signal` aborts, with its reason; never otherwise. */
const untilAborted = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
  );

describe('timeout', () => {
  it('cooperative: aborts the signal at the deadline and turns the abort into a TimeoutError', async () => {
    const time = new FakeTime();
    const t = timeout({ timeoutMs: 1000, clock: time, timers: time, name: 'smtp' });
    const events: TimeoutEvents['timeout'][] = [];
    t.on('timeout', (e) => events.push(e));
    let seen: AbortSignal | undefined;
    const p = t.execute(({ signal }) => {
      seen = signal;
      return untilAborted(signal);
    });
    const check = expect(p).rejects.toBeInstanceOf(TimeoutError);
    expect(time.pending).toBe(1);
    await time.tick(999);
    expect(seen!.aborted).toBe(false);
    await time.tick(1);
    await check;
    expect(seen!.aborted).toBe(true);
    expect(isTimeoutError(seen!.reason)).toBe(true);
    const err = await p.catch((e: unknown) => e);
    // The signal's own reason comes back as is, not wrapped in another TimeoutError.
    expect(err).toBe(seen!.reason);
    expect(err).toMatchObject({
      timeoutMs: 1000,
      message: expect.stringContaining("'smtp' timed out after 1000 ms"),
    });
    expect(events).toEqual([{ timeoutMs: 1000, strategy: 'cooperative', late: false }]);
    expect(time.pending).toBe(0);
  });

  it('cooperative: a function that finishes late keeps its value (the timeout is reported as late)', async () => {
    const time = new FakeTime();
    const t = timeout({ timeoutMs: 100, clock: time, timers: time });
    const late: boolean[] = [];
    t.on('timeout', (e) => late.push(e.late));
    const p = t.execute(async () => {
      await time.tick(150);
      return 'done anyway';
    });
    await expect(p).resolves.toBe('done anyway');
    expect(late).toEqual([true]);
  });

  it('makes no AbortController and no timer when the function never reads the signal', async () => {
    const time = new FakeTime();
    const t = timeout({ timeoutMs: 100, clock: time, timers: time });
    const original = globalThis.AbortController;
    let made = 0;
    globalThis.AbortController = class extends original {
      constructor() {
        super();
        made++;
      }
    };
    try {
      await t.execute(async () => 'fast');
      expect(made).toBe(0);
      expect(time.pending).toBe(0);
      await t.execute(async ({ signal }) => signal.aborted);
      expect(made).toBe(1);
      expect(time.pending).toBe(0); // cleared on settle
    } finally {
      globalThis.AbortController = original;
    }
  });

  it('a signal first read after the deadline is already aborted', async () => {
    const time = new FakeTime();
    const t = timeout({ timeoutMs: 100, clock: time, timers: time });
    const p = t.execute(async (ctx) => {
      await time.tick(200);
      return ctx.signal.aborted;
    });
    await expect(p).resolves.toBe(true);
    expect(time.pending).toBe(0);
  });

  it('aggressive: rejects at the deadline while the function runs on', async () => {
    const time = new FakeTime();
    const t = timeout({ timeoutMs: 500, strategy: 'aggressive', clock: time, timers: time });
    let finished = false;
    let signal: AbortSignal | undefined;
    let release!: () => void;
    const work = new Promise<void>((r) => (release = r));
    const p = t.execute(async (ctx) => {
      signal = ctx.signal;
      await work;
      finished = true;
      return 'too late';
    });
    const check = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await time.tick(500);
    await check;
    expect(finished).toBe(false);
    expect(signal!.aborted).toBe(true);
    release();
    await flush();
    expect(finished).toBe(true);
    expect(time.pending).toBe(0);
  });

  it('follows the caller signal and unhooks from it afterwards', async () => {
    const time = new FakeTime();
    for (const strategy of ['cooperative', 'aggressive'] as const) {
      const parent = new AbortController();
      const t = timeout({ timeoutMs: 10_000, strategy, clock: time, timers: time });
      await t.execute(async ({ signal }) => signal.aborted, parent.signal);
      expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
      const p = t.execute(({ signal }) => untilAborted(signal), parent.signal);
      await flush();
      expect(getEventListeners(parent.signal, 'abort').length).toBeGreaterThan(0);
      const local = new AbortController();
      const q = t.execute(({ signal }) => untilAborted(signal), local.signal);
      local.abort(new Error('caller gave up'));
      // The caller's own reason, not a TimeoutError.
      await expect(q).rejects.toThrow('caller gave up');
      parent.abort(new Error('stop'));
      await expect(p).rejects.toThrow('stop');
      expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
      expect(time.pending).toBe(0);
    }
  });

  it('aggressive: a function that never settles leaves nothing on the caller signal after the deadline', async () => {
    const time = new FakeTime();
    const parent = new AbortController();
    const t = timeout({ timeoutMs: 100, strategy: 'aggressive', clock: time, timers: time });
    const p = t.execute(({ signal }) => new Promise(() => void signal), parent.signal);
    const check = expect(p).rejects.toBeInstanceOf(TimeoutError);
    expect(getEventListeners(parent.signal, 'abort').length).toBeGreaterThan(0);
    await time.tick(100);
    await check;
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    expect(time.pending).toBe(0);
  });

  it('bounds a whole retry loop when placed outside it', async () => {
    const time = new FakeTime();
    let calls = 0;
    const p = wrap(
      timeout({ timeoutMs: 250, clock: time, timers: time }),
      retry({ maxAttempts: 10, backoff: { type: 'constant', delayMs: 100, jitter: 'none' }, timers: time }),
    ).execute(() => {
      calls++;
      throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    });
    const check = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await time.tick(1000);
    await check;
    expect(calls).toBe(3); // at 0, 100, 200; the pause after the third is cut by the deadline
    expect(time.pending).toBe(0);
  });

  it('validates its options', () => {
    expect(() => timeout(0)).toThrow(ValidationError);
    expect(() => timeout({ timeoutMs: 10, strategy: 'brutal' as never })).toThrow(ValidationError);
  });
});
