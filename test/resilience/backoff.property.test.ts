/** Property tests of backoff bounds: within [0, cap], finite, expected value never decreasing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  baseDelay,
  resolveBackoff,
  type BackoffOptions,
} from '../../src/resilience/backoff.js';
import { retry } from '../../src/resilience/retry.js';

const options: fc.Arbitrary<BackoffOptions> = fc.record({
  type: fc.constantFrom('constant' as const, 'linear' as const, 'exponential' as const),
  delayMs: fc.integer({ min: 0, max: 10_000_000 }),
  maxDelayMs: fc.integer({ min: 0, max: 100_000_000 }),
  factor: fc.double({ min: 1, max: 100, noNaN: true }),
  jitter: fc.constantFrom('none' as const, 'full' as const, 'equal' as const, 'decorrelated' as const),
});
const attempt = fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom(1e6, Number.MAX_SAFE_INTEGER));
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
/** A fixed grid of random draws: its mean is the expected value of a uniform draw, deterministically. */
const GRID = Array.from({ length: 32 }, (_, i) => (i + 0.5) / 32);

describe('backoff bounds (property)', () => {
  it('is always a finite integer within [0, maxDelayMs], at any attempt', () => {
    fc.assert(
      fc.property(options, attempt, unit, fc.option(fc.integer({ min: 0, max: 1e9 })), (o, a, r, prev) => {
        const b = resolveBackoff(o);
        const d = backoffDelay(b, a, () => r, prev ?? undefined);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(b.maxDelayMs);
        const base = baseDelay(b, a);
        expect(Number.isFinite(base)).toBe(true);
        expect(base).toBeLessThanOrEqual(b.maxDelayMs);
      }),
      { numRuns: 2000 },
    );
  });

  it('has an expected value that never decreases with the attempt number', () => {
    fc.assert(
      fc.property(
        options.filter((o) => o.jitter !== 'decorrelated'),
        attempt,
        attempt,
        (o, a1, a2) => {
          const b = resolveBackoff(o);
          const [lo, hi] = a1 <= a2 ? [a1, a2] : [a2, a1];
          const mean = (a: number): number =>
            GRID.reduce((s, r) => s + backoffDelay(b, a, () => r), 0) / GRID.length;
          expect(baseDelay(b, lo)).toBeLessThanOrEqual(baseDelay(b, hi));
          expect(mean(lo)).toBeLessThanOrEqual(mean(hi));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a retry policy with a custom backoff stays within its cap', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: false }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.constantFrom('none' as const, 'full' as const, 'equal' as const, 'decorrelated' as const),
        attempt,
        (raw, cap, jitter, a) => {
          const p = retry({ backoff: { type: 'custom', delay: () => raw, maxDelayMs: cap, jitter } });
          const d = p.delayMs(a);
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(cap);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
