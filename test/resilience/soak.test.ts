/**
 * Soak: 1,000,000 calls through timeout + retry under one long-lived parent signal must leave no
 * abort listener on that signal and no timer behind.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { retry } from '../../src/resilience/retry.js';
import { timeout } from '../../src/resilience/timeout.js';
import { wrap } from '../../src/resilience/wrap.js';

const CALLS = 1_000_000;
const BATCH = 200;
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('soak', () => {
  it(`${CALLS.toLocaleString('en-US')} calls under one parent signal leave no listeners or timers`, async () => {
    const parent = new AbortController();
    const timersBefore = timers();
    const policy = wrap(
      timeout({ timeoutMs: 60_000 }),
      retry({ maxAttempts: 2, backoff: { type: 'constant', delayMs: 0, jitter: 'none' } }),
    );
    let peakListeners = 0;
    let peakTimers = 0;
    let ok = 0;
    let failedOnce = 0;
    for (let start = 0; start < CALLS; start += BATCH) {
      const batch: Promise<unknown>[] = [];
      for (let i = start; i < start + BATCH; i++) {
        batch.push(
          policy.execute(async (ctx) => {
            // One call in four holds the signal (making the controller, link and timer); one in
            // 5,000 fails once and is retried.
            if (i % 4 === 0 && ctx.signal.aborted) throw new Error('aborted too early');
            if (i % 5000 === 0 && ctx.attempt === 1) {
              failedOnce++;
              throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
            }
            ok++;
          }, parent.signal),
        );
      }
      if (start % 100_000 === 0) {
        peakListeners = Math.max(peakListeners, getEventListeners(parent.signal, 'abort').length);
        peakTimers = Math.max(peakTimers, timers() - timersBefore);
      }
      await Promise.all(batch);
    }
    expect(ok).toBe(CALLS);
    expect(failedOnce).toBe(CALLS / 5000);
    // The checks below mean something: while calls ran, listeners and timers did exist.
    expect(peakListeners).toBeGreaterThan(0);
    expect(peakTimers).toBeGreaterThan(0);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    // ≤: a timer of the test runner's own may have ended meanwhile; a leak would be thousands.
    expect(timers()).toBeLessThanOrEqual(timersBefore);
  }, 120_000);
});
