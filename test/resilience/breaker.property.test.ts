/** Property tests of the breaker's state machine (fast-check), with a manual clock. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { circuitBreaker, type BreakerTransition } from '../../src/resilience/breaker.js';
import { flush } from './fake-time.js';

class Ignored extends Error {}

type Action =
  | { type: 'call' }
  | { type: 'settle'; index: number; outcome: 'ok' | 'fail' | 'ignore' }
  | { type: 'advance'; ms: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constant<Action>({ type: 'call' }), weight: 4 },
  {
    arbitrary: fc.record({
      type: fc.constant('settle' as const),
      index: fc.nat(),
      outcome: fc.constantFrom('ok' as const, 'fail' as const, 'fail' as const, 'ignore' as const),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
    weight: 1,
  },
);

describe('breaker state machine (property)', () => {
  it('never has more than N half-open probes in flight, and closes only through half-open', async () => {
    let mostProbesSeen = 0;
    let closes = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }).chain((probes) =>
          fc.record({
            probes: fc.constant(probes),
            threshold: fc.integer({ min: 1, max: probes }),
            consecutive: fc.integer({ min: 1, max: 3 }),
            maxWait: fc.integer({ min: 200, max: 3000 }),
            actions: fc.array(action, { minLength: 20, maxLength: 200 }),
          }),
        ),
        async ({ probes, threshold, consecutive, maxWait, actions }) => {
          const clock = new ManualClock(0);
          const b = circuitBreaker({
            consecutiveFailures: consecutive,
            breakDurationMs: 1000,
            breakDurationFactor: 2,
            maxBreakDurationMs: 4000,
            halfOpenProbes: probes,
            halfOpenSuccessThreshold: threshold,
            halfOpenMaxWaitMs: maxWait,
            ignore: (e) => e instanceof Ignored,
            clock,
          });
          const transitions: BreakerTransition[] = [];
          let period = new Set<number>();
          b.on('state', (t) => {
            transitions.push(t);
            period = new Set();
          });
          const pending: {
            id: number;
            settle: (o: 'ok' | 'fail' | 'ignore') => void;
            done: Promise<unknown>;
          }[] = [];
          let nextId = 0;
          for (const a of actions) {
            if (a.type === 'advance') {
              clock.advance(a.ms);
            } else if (a.type === 'call') {
              const id = nextId++;
              const halfOpen = b.state === 'half_open';
              let settle!: (o: 'ok' | 'fail' | 'ignore') => void;
              let admitted = false;
              const done = b
                .execute(() => {
                  admitted = true;
                  return new Promise<string>((resolve, reject) => {
                    settle = (o) =>
                      o === 'ok' ? resolve('ok') : reject(o === 'fail' ? new Error('down') : new Ignored());
                  });
                })
                .catch(() => undefined);
              if (admitted) {
                if (halfOpen) period.add(id);
                pending.push({ id, settle, done });
              }
            } else if (pending.length > 0) {
              const [call] = pending.splice(a.index % pending.length, 1);
              call!.settle(a.outcome);
              await call!.done;
              period.delete(call!.id);
            }
            await flush();
            const state = b.state;
            if (state === 'half_open') {
              expect(period.size).toBeLessThanOrEqual(probes);
              mostProbesSeen = Math.max(mostProbesSeen, period.size);
              expect(b.stats().halfOpen!.inFlight).toBeLessThanOrEqual(probes);
            }
          }
          for (const t of transitions) {
            if (t.to === 'closed') {
              expect(t.from).toBe('half_open');
              closes++;
            }
            if (t.to === 'half_open') expect(t.from).toBe('open');
          }
          for (const p of pending) p.settle('ok');
        },
      ),
      { numRuns: 150 },
    );
    // The runs did reach the interesting states.
    expect(mostProbesSeen).toBeGreaterThanOrEqual(2);
    expect(closes).toBeGreaterThan(0);
  });

  it('opens exactly when the failure rate reaches the threshold with at least minimumCalls', () => {
    fc.assert(
      fc.property(
        fc.record({
          size: fc.integer({ min: 1, max: 20 }),
          minimumCalls: fc.integer({ min: 1, max: 25 }),
          threshold: fc.constantFrom(0.1, 0.25, 0.5, 0.6, 0.75, 1),
          outcomes: fc.array(fc.boolean(), { maxLength: 200 }),
        }),
        ({ size, minimumCalls, threshold, outcomes }) => {
          const clock = new ManualClock(0);
          const b = circuitBreaker({
            failureRateThreshold: threshold,
            window: { type: 'count', size },
            minimumCalls,
            breakDurationMs: 1000,
            clock,
          });
          let window: boolean[] = [];
          for (const failed of outcomes) {
            if (b.state !== 'closed') {
              // Wait out the break and close through a successful probe; the model starts over.
              clock.advance(b.availableInMs());
              void b.execute(() => 'ok');
              expect(b.state).toBe('closed');
              window = [];
            }
            try {
              b.execute(() => {
                if (failed) throw new Error('down');
                return 'ok';
              }).catch(() => undefined);
            } catch {
              // execute never throws synchronously
            }
            window.push(failed);
            if (window.length > size) window.shift();
            const failures = window.filter(Boolean).length;
            const shouldOpen = window.length >= minimumCalls && failures / window.length >= threshold;
            expect(b.state).toBe(shouldOpen ? 'open' : 'closed');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('over a time window too: only calls in the live buckets count', () => {
    fc.assert(
      fc.property(
        fc.record({
          buckets: fc.integer({ min: 1, max: 10 }),
          bucketMs: fc.integer({ min: 1, max: 1000 }),
          minimumCalls: fc.integer({ min: 1, max: 10 }),
          threshold: fc.constantFrom(0.2, 0.5, 0.75, 1),
          steps: fc.array(fc.record({ failed: fc.boolean(), gapMs: fc.integer({ min: 0, max: 1500 }) }), {
            maxLength: 150,
          }),
        }),
        ({ buckets, bucketMs, minimumCalls, threshold, steps }) => {
          const clock = new ManualClock(0);
          const b = circuitBreaker({
            failureRateThreshold: threshold,
            window: { type: 'time', ms: buckets * bucketMs, buckets },
            minimumCalls,
            breakDurationMs: 1,
            clock,
          });
          let calls: { at: number; failed: boolean }[] = [];
          for (const { failed, gapMs } of steps) {
            clock.advance(gapMs);
            if (b.state !== 'closed') {
              clock.advance(b.availableInMs());
              void b.execute(() => 'ok');
              expect(b.state).toBe('closed');
              calls = [];
            }
            const now = clock.now();
            void b
              .execute(() => {
                if (failed) throw new Error('down');
              })
              .catch(() => undefined);
            calls.push({ at: now, failed });
            const head = Math.floor(now / bucketMs);
            const live = calls.filter((c) => Math.floor(c.at / bucketMs) > head - buckets);
            const failures = live.filter((c) => c.failed).length;
            const shouldOpen = live.length >= minimumCalls && failures / live.length >= threshold;
            expect(b.state).toBe(shouldOpen ? 'open' : 'closed');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('opens exactly at N consecutive failures', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.boolean(), { maxLength: 100 }),
        (n, outcomes) => {
          const b = circuitBreaker({
            consecutiveFailures: n,
            breakDurationMs: 1000,
            clock: new ManualClock(0),
          });
          let run = 0;
          for (const failed of outcomes) {
            if (b.state === 'open') return;
            void b
              .execute(() => {
                if (failed) throw new Error('down');
              })
              .catch(() => undefined);
            run = failed ? run + 1 : 0;
            expect(b.state).toBe(run >= n ? 'open' : 'closed');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
