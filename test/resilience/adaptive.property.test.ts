/**
 * Property tests of the adaptive limiter (fast-check): bookkeeping under any sequence of calls, and
 * convergence against a simulated dependency (simulated time: no timed assertion).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import {
  DependencyError,
  PermanentError,
  ResourceError,
  TimeoutError,
  TransientError,
  ValidationError,
} from '../../src/kernel/errors.js';
import { AdaptiveLimiter, type AdaptivePermit } from '../../src/resilience/adaptive-limiter.js';
import { highestLimit, meanLimit, noisy, seeded, simulate, throughputBetween } from './adaptive-sim.js';
import { flush } from './fake-time.js';

const ERRORS = {
  resource: () => new ResourceError('full'),
  dependency: () => new DependencyError('open'),
  timeout: () => new TimeoutError('late'),
  validation: () => new ValidationError('bad'),
  permanent: () => new PermanentError('no'),
  transient: () => new TransientError('reset'),
};
type ErrorKind = keyof typeof ERRORS;
const CONGESTION = new Set<ErrorKind>(['resource', 'dependency', 'timeout']);

type Action =
  | { type: 'try' }
  | { type: 'acquire'; abortable: boolean }
  | { type: 'abort'; index: number }
  | { type: 'end'; index: number; how: 'success' | 'release' | ErrorKind }
  | { type: 'advance'; ms: number }
  | { type: 'set'; limit: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constant<Action>({ type: 'try' }), weight: 4 },
  { arbitrary: fc.record({ type: fc.constant('acquire' as const), abortable: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('abort' as const), index: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      type: fc.constant('end' as const),
      index: fc.nat(),
      how: fc.constantFrom<'success' | 'release' | ErrorKind>(
        'success',
        'success',
        'success',
        'release',
        ...(Object.keys(ERRORS) as ErrorKind[]),
      ),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 50 }) }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ type: fc.constant('set' as const), limit: fc.integer({ min: 1, max: 40 }) }),
    weight: 1,
  },
);

describe('adaptive limiter bookkeeping (property)', () => {
  it('never grants above the limit, keeps the limit in [min, max], loses no permit and no waiter', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          min: fc.integer({ min: 1, max: 5 }),
          span: fc.integer({ min: 0, max: 30 }),
          minWindowCalls: fc.integer({ min: 1, max: 8 }),
        }),
        fc.array(action, { minLength: 1, maxLength: 300 }),
        async ({ min, span, minWindowCalls }, actions) => {
          const clock = new ManualClock(0);
          const max = min + span;
          const l = new AdaptiveLimiter({
            min,
            max,
            initial: min,
            minWindowCalls,
            clock,
            probeIntervalMs: 200,
          });
          const held: AdaptivePermit[] = [];
          const waiting: { ac: AbortController | undefined; settled: boolean; p: Promise<void> }[] = [];
          for (const a of actions) {
            const limitBefore = l.limit;
            if (a.type === 'try') {
              const p = l.tryAcquire();
              if (p) {
                expect(l.inflight).toBeLessThanOrEqual(limitBefore);
                held.push(p);
              } else {
                expect(l.inflight >= l.limit || l.queued > 0).toBe(true);
              }
            } else if (a.type === 'acquire') {
              const ac = a.abortable ? new AbortController() : undefined;
              const w = { ac, settled: false, p: Promise.resolve() };
              w.p = l.acquire(ac?.signal).then(
                (p) => {
                  w.settled = true;
                  held.push(p);
                },
                () => {
                  w.settled = true;
                },
              );
              waiting.push(w);
            } else if (a.type === 'abort') {
              const open = waiting.filter((w) => !w.settled && w.ac);
              if (open.length) open[a.index % open.length]!.ac!.abort();
            } else if (a.type === 'end') {
              if (held.length) {
                const [p] = held.splice(a.index % held.length, 1);
                if (a.how === 'success') p!.success();
                else if (a.how === 'release') p!.release();
                else p!.failure(ERRORS[a.how]());
              }
            } else if (a.type === 'advance') {
              clock.advance(a.ms);
            } else {
              l.setLimit(a.limit);
            }
            await flush();
            expect(l.limit).toBeGreaterThanOrEqual(min);
            expect(l.limit).toBeLessThanOrEqual(max);
            expect(l.inflight).toBe(held.length);
            expect(l.queued).toBe(waiting.filter((w) => !w.settled).length);
            // Nobody waits while a permit is free.
            if (l.queued > 0) expect(l.inflight).toBeGreaterThanOrEqual(l.limit);
          }
          // Ending everything serves every waiter.
          while (held.length || waiting.some((w) => !w.settled)) {
            for (const p of held.splice(0)) p.success();
            await flush();
          }
          expect([l.inflight, l.queued]).toEqual([0, 0]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('congestion errors never raise the limit; other errors never move it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.constantFrom(...(Object.keys(ERRORS) as ErrorKind[])), { minLength: 1, maxLength: 500 }),
        (initial, kinds) => {
          const l = new AdaptiveLimiter({ initial, minWindowCalls: 1, clock: new ManualClock(0) });
          let last = l.limit;
          for (const kind of kinds) {
            const p = l.tryAcquire();
            if (!p) break;
            p.failure(ERRORS[kind]());
            if (CONGESTION.has(kind)) expect(l.limit).toBeLessThanOrEqual(last);
            else expect(l.limit).toBe(last);
            last = l.limit;
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('adaptive limiter against a simulated dependency (property)', () => {
  const setup = fc.record({
    capacity: fc.integer({ min: 4, max: 120 }),
    serviceMs: fc.integer({ min: 1, max: 200 }),
    /** Spread of the service time around its mean, as a fraction of it. */
    spread: fc.constantFrom(0, 0.2, 0.6),
    seed: fc.nat(),
  });

  it('keeps the dependency busy with a small queue: throughput ≥ 0.9× its capacity, limit ≤ capacity + beta', () => {
    fc.assert(
      fc.property(setup, ({ capacity, serviceMs, spread, seed }) => {
        const r = simulate({
          capacity,
          serviceMs: noisy(serviceMs, spread),
          callers: capacity * 4,
          durationMs: serviceMs * 600,
          random: seeded(seed),
        });
        const from = serviceMs * 300;
        const to = serviceMs * 600;
        const best = (capacity / serviceMs) * 1000;
        expect(r.overLimit).toBe(false);
        expect(throughputBetween(r, from, to)).toBeGreaterThanOrEqual(0.9 * best);
        expect(meanLimit(r, from, to)).toBeLessThanOrEqual(highestLimit(capacity, spread));
      }),
      // A dependency in lockstep (no spread) whose queued calls wait whole service times: the noise
      // allowance hid its queue of 16 and the limit stayed at 128 (found by this property).
      { numRuns: 40, examples: [[{ capacity: 112, serviceMs: 1, spread: 0, seed: 0 }]] },
    );
  });

  it('settles near the new capacity soon after the dependency loses capacity', () => {
    fc.assert(
      fc.property(setup, fc.integer({ min: 2, max: 8 }), ({ capacity, serviceMs, spread, seed }, divisor) => {
        const after = Math.max(1, Math.floor(capacity / divisor));
        const dropAt = serviceMs * 200;
        const r = simulate({
          capacity: (now) => (now - 1_000 < dropAt ? capacity : after),
          serviceMs: noisy(serviceMs, spread),
          callers: capacity * 4,
          durationMs: serviceMs * 500,
          random: seeded(seed),
        });
        // Within 100 service times of the drop, the limit is down to the new capacity's band.
        expect(meanLimit(r, dropAt + serviceMs * 100, serviceMs * 500)).toBeLessThanOrEqual(
          highestLimit(after, spread),
        );
        expect(throughputBetween(r, dropAt + serviceMs * 100, serviceMs * 500)).toBeGreaterThanOrEqual(
          0.85 * (after / serviceMs) * 1000,
        );
      }),
      { numRuns: 40 },
    );
  });

  it('recovers from a start far above the capacity: probes drain the queue and find the true baseline', () => {
    fc.assert(
      fc.property(setup, fc.integer({ min: 2, max: 5 }), ({ capacity, serviceMs, spread, seed }, times) => {
        const r = simulate({
          capacity,
          serviceMs: noisy(serviceMs, spread),
          callers: capacity * 8,
          durationMs: serviceMs * 3000,
          random: seeded(seed),
          limiter: { initial: capacity * times, probeIntervalMs: serviceMs * 100 },
        });
        expect(meanLimit(r, serviceMs * 2000, serviceMs * 3000)).toBeLessThanOrEqual(
          highestLimit(capacity, spread),
        );
        expect(r.limiter.stats().baselineMs).toBeLessThanOrEqual(serviceMs * (1 + spread) * 1.2);
      }),
      { numRuns: 30 },
    );
  });

  it("does not mistake the caller's own stalls for a queue at the dependency", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 80 }),
        fc.integer({ min: 1, max: 20 }),
        fc.nat(),
        (capacity, serviceMs, seed) => {
          // The caller's event loop stalls for 4 service times once every 20, at a random moment:
          // the calls in flight are seen late, all together.
          const period = serviceMs * 20;
          const stall = serviceMs * 4;
          const phase = seeded(seed);
          const starts: number[] = [];
          const lag = (_u: number, now: number): number => {
            const k = Math.floor(now / period);
            while (starts.length <= k) starts.push(starts.length * period + phase() * (period - stall));
            const a = starts[k]!;
            return now >= a && now < a + stall ? a + stall - now : 0;
          };
          const r = simulate({
            capacity,
            serviceMs,
            callers: capacity * 4,
            durationMs: serviceMs * 3000,
            random: seeded(seed),
            lagMs: lag,
          });
          expect(meanLimit(r, serviceMs * 1500, serviceMs * 3000)).toBeGreaterThanOrEqual(capacity * 0.8);
        },
      ),
      { numRuns: 30 },
    );
  });
});
