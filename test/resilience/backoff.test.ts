import { describe, expect, it } from 'vitest';
import { backoffDelay, baseDelay, resolveBackoff } from '../../src/resilience/backoff.js';

describe('backoff', () => {
  it('grows constant, linear and exponential delays, capped', () => {
    const c = resolveBackoff({ type: 'constant', delayMs: 100, jitter: 'none' });
    const l = resolveBackoff({ type: 'linear', delayMs: 100, jitter: 'none' });
    const e = resolveBackoff({ type: 'exponential', delayMs: 100, maxDelayMs: 1000, jitter: 'none' });
    expect([1, 2, 3].map((a) => backoffDelay(c, a))).toEqual([100, 100, 100]);
    expect([1, 2, 3].map((a) => backoffDelay(l, a))).toEqual([100, 200, 300]);
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(e, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('applies the cap before jitter and never yields NaN or overflow', () => {
    const e = resolveBackoff({ delayMs: 1000, maxDelayMs: 5000, jitter: 'full' });
    for (const attempt of [1, 10, 1075, 1e6, Number.MAX_SAFE_INTEGER]) {
      expect(baseDelay(e, attempt)).toBeLessThanOrEqual(5000);
      for (const r of [0, 0.5, 0.999999]) {
        const d = backoffDelay(e, attempt, () => r);
        expect(Number.isFinite(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(5000);
      }
    }
    expect(backoffDelay(resolveBackoff({ delayMs: 0 }), 5000)).toBe(0);
  });

  it('spreads with full, equal and decorrelated jitter', () => {
    const full = resolveBackoff({ delayMs: 1000, jitter: 'full', maxDelayMs: 60_000 });
    const equal = resolveBackoff({ delayMs: 1000, jitter: 'equal', maxDelayMs: 60_000 });
    const dec = resolveBackoff({ delayMs: 1000, jitter: 'decorrelated', maxDelayMs: 60_000 });
    expect(backoffDelay(full, 3, () => 0)).toBe(0);
    expect(backoffDelay(full, 3, () => 0.5)).toBe(2000);
    expect(backoffDelay(equal, 3, () => 0)).toBe(2000);
    expect(backoffDelay(equal, 3, () => 0.999)).toBeLessThanOrEqual(4000);
    expect(backoffDelay(dec, 1, () => 0)).toBe(1000);
    expect(backoffDelay(dec, 2, () => 1, 2000)).toBe(6000);
  });
});
