import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { DependencyError, ValidationError, classify } from '../../src/resilience/index.js';
import { circuitBreaker, type BreakerTransition } from '../../src/resilience/breaker.js';
import { BrokenCircuitError, isBrokenCircuitError } from '../../src/resilience/errors.js';

const fail = (): never => {
  throw new Error('down');
};
const ok = (): string => 'ok';
const swallow = (): void => {};

/** A call the test settles by hand. */
function deferred(): {
  promise: Promise<string>;
  resolve: (v: string) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: string) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('circuit breaker', () => {
  it('opens after N consecutive failures; a success resets the count', async () => {
    const clock = new ManualClock(0);
    const b = circuitBreaker({ consecutiveFailures: 3, breakDurationMs: 1000, clock });
    await b.execute(fail).catch(swallow);
    await b.execute(fail).catch(swallow);
    await b.execute(ok);
    await b.execute(fail).catch(swallow);
    await b.execute(fail).catch(swallow);
    expect(b.state).toBe('closed');
    await b.execute(fail).catch(swallow);
    expect(b.state).toBe('open');
    expect(b.availableInMs()).toBe(1000);
  });

  it('rejects cheaply while open with a BrokenCircuitError carrying retryAfterMs', async () => {
    const clock = new ManualClock(5000);
    const b = circuitBreaker({ name: 'openai', consecutiveFailures: 1, breakDurationMs: 1000, clock });
    await b.execute(fail).catch(swallow);
    clock.advance(250);
    let ran = false;
    const err = await b
      .execute(() => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(BrokenCircuitError);
    expect(err).toBeInstanceOf(DependencyError);
    expect(err).toBeInstanceOf(Error);
    expect(isBrokenCircuitError(err)).toBe(true);
    expect(err).toMatchObject({
      dependency: 'openai',
      retryAfterMs: 750,
      category: 'dependency',
      isolated: false,
    });
    expect((err as Error).message).toContain("'openai' is open");
    expect(classify(err).category).toBe('dependency');
    expect(classify(err).retryAfterMs).toBe(750);
  });

  it('half-opens lazily when the break is over, with no timer', async () => {
    const clock = new ManualClock(0);
    const events: string[] = [];
    const b = circuitBreaker({ consecutiveFailures: 1, breakDurationMs: 1000, clock });
    b.on('state', (e) => events.push(`${e.from}->${e.to}:${e.reason}`));
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    await b.execute(fail).catch(swallow);
    expect(timers()).toBeLessThanOrEqual(before);
    clock.advance(999);
    expect(b.state).toBe('open');
    clock.advance(1);
    expect(events).toEqual(['closed->open:consecutive']);
    expect(b.state).toBe('half_open');
    expect(b.availableInMs()).toBe(0);
    await b.execute(ok);
    expect(b.state).toBe('closed');
    expect(events).toEqual([
      'closed->open:consecutive',
      'open->half_open:break_elapsed',
      'half_open->closed:probes_succeeded',
    ]);
  });

  it('lets at most N probes through and closes after the success threshold', async () => {
    const clock = new ManualClock(0);
    const b = circuitBreaker({
      consecutiveFailures: 1,
      breakDurationMs: 100,
      halfOpenProbes: 3,
      halfOpenSuccessThreshold: 2,
      clock,
    });
    await b.execute(fail).catch(swallow);
    clock.advance(100);
    const calls = [deferred(), deferred(), deferred()];
    const running = calls.map((d) => b.execute(() => d.promise));
    const fourth = await b.execute(ok).catch((e: unknown) => e);
    expect(isBrokenCircuitError(fourth)).toBe(true);
    expect(b.stats().halfOpen).toEqual({ permits: 0, inFlight: 3, successes: 0, failures: 0 });
    calls[0]!.resolve('a');
    await running[0];
    expect(b.state).toBe('half_open');
    calls[1]!.resolve('b');
    await running[1];
    expect(b.state).toBe('closed');
    // The third probe reports after the verdict: it changes nothing.
    calls[2]!.reject(new Error('late'));
    await running[2]!.catch(swallow);
    expect(b.state).toBe('closed');
    expect(b.stats().failures).toBe(0);
  });

  it('reopens when a probe fails, with an escalating break, reset on close', async () => {
    const clock = new ManualClock(0);
    const opens: number[] = [];
    const b = circuitBreaker({
      consecutiveFailures: 1,
      breakDurationMs: 100,
      breakDurationFactor: 2,
      maxBreakDurationMs: 350,
      clock,
    });
    b.on('open', (e) => opens.push(e.retryAfterMs!));
    await b.execute(fail).catch(swallow);
    for (let i = 0; i < 3; i++) {
      clock.advance(b.availableInMs());
      await b.execute(fail).catch(swallow);
    }
    expect(opens).toEqual([100, 200, 350, 350]);
    clock.advance(b.availableInMs());
    await b.execute(ok);
    expect(b.state).toBe('closed');
    await b.execute(fail).catch(swallow);
    expect(opens.at(-1)).toBe(100);
  });

  it('a probe that never reports counts as failed after halfOpenMaxWaitMs', async () => {
    const clock = new ManualClock(0);
    const b = circuitBreaker({ consecutiveFailures: 1, breakDurationMs: 100, halfOpenMaxWaitMs: 500, clock });
    await b.execute(fail).catch(swallow);
    clock.advance(100);
    const stuck = deferred();
    const probe = b.execute(() => stuck.promise);
    expect(b.state).toBe('half_open');
    expect(b.availableInMs()).toBe(500);
    clock.advance(499);
    expect(b.state).toBe('half_open');
    clock.advance(1);
    expect(b.state).toBe('open');
    // Its late answer is dropped.
    stuck.resolve('finally');
    await probe;
    expect(b.state).toBe('open');
  });

  it('opens on failure rate over a count window only with minimumCalls', async () => {
    const b = circuitBreaker({
      failureRateThreshold: 0.5,
      window: { type: 'count', size: 10 },
      minimumCalls: 4,
    });
    await b.execute(fail).catch(swallow);
    await b.execute(fail).catch(swallow);
    await b.execute(fail).catch(swallow);
    expect(b.state).toBe('closed'); // 3 calls < minimumCalls
    await b.execute(ok);
    expect(b.state).toBe('open'); // 3 of 4 failed
    // The window slides: old successes drop out (cumulatively it would be 3 of 7).
    const c = circuitBreaker({
      failureRateThreshold: 0.75,
      window: { type: 'count', size: 4 },
      minimumCalls: 4,
    });
    for (const f of [ok, ok, ok, ok, fail, fail]) await c.execute(f).catch(swallow);
    expect(c.state).toBe('closed');
    expect(c.stats()).toMatchObject({ calls: 4, failures: 2 });
    await c.execute(fail).catch(swallow);
    expect(c.state).toBe('open');
  });

  it('forgets old calls in a time window', async () => {
    const clock = new ManualClock(0);
    const b = circuitBreaker({
      failureRateThreshold: 0.5,
      window: { type: 'time', ms: 10_000, buckets: 10 },
      minimumCalls: 4,
      clock,
    });
    for (let i = 0; i < 3; i++) await b.execute(fail).catch(swallow);
    clock.advance(10_000);
    await b.execute(fail).catch(swallow);
    expect(b.stats()).toMatchObject({ calls: 1, failures: 1 });
    for (let i = 0; i < 3; i++) await b.execute(ok);
    expect(b.state).toBe('closed'); // 1 of 4
    await b.execute(fail).catch(swallow);
    expect(b.state).toBe('closed'); // 2 of 5
    await b.execute(fail).catch(swallow);
    expect(b.state).toBe('open'); // 3 of 6
  });

  it('counts slow calls: as failures, or by their own rate', async () => {
    const clock = new ManualClock(0);
    const slow = async (): Promise<string> => {
      clock.advance(300);
      return 'late';
    };
    const a = circuitBreaker({ consecutiveFailures: 2, slowCallMs: 200, clock });
    await a.execute(slow);
    await a.execute(slow);
    expect(a.state).toBe('open');
    const b = circuitBreaker({
      failureRateThreshold: 1,
      slowCallMs: 200,
      slowCallRateThreshold: 0.5,
      window: { type: 'count', size: 10 },
      minimumCalls: 4,
      clock,
    });
    const reasons: string[] = [];
    b.on('open', (e) => reasons.push(e.reason));
    await b.execute(ok);
    await b.execute(ok);
    await b.execute(slow);
    expect(b.state).toBe('closed');
    await b.execute(slow);
    expect(b.state).toBe('open');
    expect(reasons).toEqual(['slow_call_rate']);
  });

  it('three-way outcome: ignored errors count as nothing and give the probe permit back', async () => {
    const clock = new ManualClock(0);
    class Ignored extends Error {}
    class NotAFailure extends Error {}
    const b = circuitBreaker({
      consecutiveFailures: 2,
      breakDurationMs: 100,
      ignore: (e) => e instanceof Ignored,
      isFailure: (e) => !(e instanceof NotAFailure),
      clock,
    });
    const throwing = (e: Error) => () => {
      throw e;
    };
    await b.execute(fail).catch(swallow);
    await b.execute(throwing(new Ignored())).catch(swallow);
    expect(b.stats().consecutiveFailures).toBe(1);
    await b.execute(throwing(new NotAFailure())).catch(swallow);
    expect(b.stats().consecutiveFailures).toBe(0);
    await b.execute(fail).catch(swallow);
    await b.execute(fail).catch(swallow);
    clock.advance(100);
    await b.execute(throwing(new Ignored())).catch(swallow);
    expect(b.state).toBe('half_open');
    expect(b.availableInMs()).toBe(0); // permit given back
    await b.execute(ok);
    expect(b.state).toBe('closed');
  });

  it('isolate() holds it open until every handle is disposed', async () => {
    const b = circuitBreaker();
    const seen: BreakerTransition[] = [];
    b.on('isolate', (e) => seen.push(e));
    const h1 = b.isolate();
    const h2 = b.isolate();
    expect(b.state).toBe('isolated');
    expect(b.availableInMs()).toBe(Infinity);
    const err = await b.execute(ok).catch((e: unknown) => e);
    expect(err).toMatchObject({ isolated: true, retryAfterMs: undefined });
    h1.dispose();
    h1.dispose();
    expect(b.state).toBe('isolated');
    h2[Symbol.dispose]();
    expect(b.state).toBe('closed');
    expect(seen).toHaveLength(1);
    await expect(b.execute(ok)).resolves.toBe('ok');
  });

  it('serializes and restores its state', async () => {
    const clock = new ManualClock(1000);
    const options = {
      failureRateThreshold: 0.5,
      window: { type: 'count', size: 10 } as const,
      minimumCalls: 4,
      clock,
    };
    const a = circuitBreaker(options);
    await a.execute(fail).catch(swallow);
    await a.execute(ok);
    const snap = JSON.parse(JSON.stringify(a)) as ReturnType<typeof a.toJSON>;
    const b = circuitBreaker(options);
    b.restore(snap);
    expect(b.stats()).toMatchObject({ calls: 2, failures: 1 });
    await b.execute(fail).catch(swallow);
    await b.execute(fail).catch(swallow);
    expect(b.state).toBe('open');
    const open = b.toJSON();
    const c = circuitBreaker(options);
    c.restore(open);
    expect(c.state).toBe('open');
    expect(c.availableInMs()).toBe(30_000);
    const iso = circuitBreaker({ clock });
    iso.isolate();
    const d = circuitBreaker({ clock });
    const handle = d.restore(iso.toJSON());
    expect(d.state).toBe('isolated');
    handle!.dispose();
    expect(d.state).toBe('closed');
    // A consecutive-only breaker keeps its count; handles from before a restore are void.
    const e = circuitBreaker({ consecutiveFailures: 3, clock });
    await e.execute(fail).catch(swallow);
    await e.execute(fail).catch(swallow);
    const f = circuitBreaker({ consecutiveFailures: 3, clock });
    const before = f.isolate();
    f.restore(e.toJSON());
    before.dispose();
    expect(f.stats().consecutiveFailures).toBe(2);
    await f.execute(fail).catch(swallow);
    expect(f.state).toBe('open');
    expect(() => d.restore({ ...open, state: 'sideways' as never })).toThrow(ValidationError);
    expect(d.state).toBe('closed');
  });

  it('validates its options', () => {
    expect(() => circuitBreaker({ consecutiveFailures: 0 })).toThrow(ValidationError);
    expect(() => circuitBreaker({ failureRateThreshold: 1.5 })).toThrow(ValidationError);
    expect(() => circuitBreaker({ halfOpenProbes: 2, halfOpenSuccessThreshold: 3 })).toThrow(ValidationError);
    expect(() => circuitBreaker({ slowCallRateThreshold: 0.5 })).toThrow(ValidationError);
    expect(() => circuitBreaker({ breakDurationMs: 100, maxBreakDurationMs: 50 })).toThrow(ValidationError);
  });
});
