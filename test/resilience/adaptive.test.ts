/** The adaptive limiter: permits, the line, congestion, growth, probes, events, the policy; no real time. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import {
  DependencyError,
  PermanentError,
  ResourceError,
  TimeoutError,
  TransientError,
  ValidationError,
} from '../../src/kernel/errors.js';
import { adaptive } from '../../src/resilience/adaptive.js';
import {
  AdaptiveLimiter,
  type AdaptivePermit,
  type LimitChange,
} from '../../src/resilience/adaptive-limiter.js';
import { BulkheadRejectedError, isBulkheadRejectedError } from '../../src/resilience/errors.js';
import { simulate } from './adaptive-sim.js';
import { flush } from './fake-time.js';

/** A limiter on a manual clock; probes only when a test asks for them. */
function limiter(options: ConstructorParameters<typeof AdaptiveLimiter>[0] = {}) {
  const clock = new ManualClock(1_000);
  const l = new AdaptiveLimiter({ clock, probeIntervalMs: 86_400_000, ...options });
  const changes: LimitChange[] = [];
  l.on('limit', (e) => changes.push(e));
  return { clock, l, changes };
}

/**
 * After an idle `gapMs` (long enough for the calls of the last change to be measured), takes `n`
 * permits, moves time by `ms`, and ends them all with `end`.
 */
function round(
  l: AdaptiveLimiter,
  clock: ManualClock,
  n: number,
  ms: number,
  end: (p: AdaptivePermit) => void = (p) => p.success(),
  gapMs = 1000,
): void {
  clock.advance(gapMs);
  const permits: AdaptivePermit[] = [];
  for (let i = 0; i < n; i++) {
    const p = l.tryAcquire();
    if (p === undefined) break;
    permits.push(p);
  }
  clock.advance(ms);
  for (const p of permits) end(p);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('adaptive limiter: options', () => {
  it.each([
    [{ min: 0 }],
    [{ min: 10, max: 5 }],
    [{ initial: 50, max: 20 }],
    [{ initial: 1, min: 2 }],
    [{ max: 1.5 }],
    [{ maxQueue: -1 }],
    [{ backoffRatio: 1 }],
    [{ backoffRatio: 0 }],
    [{ minWindowCalls: 0 }],
    [{ probeIntervalMs: 0 }],
    [{ isCongestion: 'yes' }],
    [{ clock: {} }],
    [{ name: '' }],
    [{ nope: 1 }],
  ])('rejects %j with a ValidationError', (options) => {
    expect(() => new AdaptiveLimiter(options as never)).toThrow(ValidationError);
  });

  it('defaults: min 1, max 1000, starting at 4, an unbounded line', () => {
    const l = new AdaptiveLimiter();
    expect(l.stats()).toMatchObject({ limit: 4, min: 1, max: 1000, inflight: 0, queued: 0, slowStart: true });
    expect(l.maxQueue).toBe(Infinity);
    expect(new AdaptiveLimiter({ max: 2 }).limit).toBe(2);
    expect(new AdaptiveLimiter({ min: 20 }).limit).toBe(20);
  });

  it('setLimit and reduce validate their input and change nothing when it is bad', () => {
    const { l } = limiter({ initial: 8 });
    expect(() => l.setLimit(Number.NaN)).toThrow(ValidationError);
    expect(() => l.setLimit(-1)).toThrow(ValidationError);
    expect(() => l.reduce(0)).toThrow(ValidationError);
    expect(() => l.reduce(1.5)).toThrow(ValidationError);
    expect(l.limit).toBe(8);
    l.setLimit(5000);
    expect(l.limit).toBe(1000);
    l.reduce(0.5);
    expect(l.limit).toBe(500);
  });
});

describe('adaptive limiter: permits', () => {
  it('hands out at most `limit` permits; a permit reports once', () => {
    const { l } = limiter({ initial: 2 });
    const a = l.tryAcquire()!;
    const b = l.tryAcquire()!;
    expect(l.tryAcquire()).toBeUndefined();
    expect([l.inflight, l.available]).toEqual([2, 0]);
    a.success();
    a.failure(new Error('again'));
    a.release();
    expect(l.inflight).toBe(1);
    b.release();
    expect([l.inflight, l.available]).toEqual([0, 2]);
  });

  it('acquire waits in line, first come first served; an aborted wait leaves the line', async () => {
    const { l } = limiter({ initial: 1 });
    const first = l.tryAcquire()!;
    const order: string[] = [];
    const ac = new AbortController();
    const a = l.acquire().then((p) => (order.push('a'), p));
    const b = l.acquire(ac.signal).then(
      (p) => (order.push('b'), p),
      (e: unknown) => (order.push('b aborted'), e),
    );
    const c = l.acquire().then((p) => (order.push('c'), p));
    expect([l.queued, l.available]).toEqual([3, 0]);
    // A caller arriving now does not jump the line.
    expect(l.tryAcquire()).toBeUndefined();
    ac.abort(new Error('gave up'));
    await flush();
    expect(l.queued).toBe(2);
    first.release();
    (await a).release();
    (await c).release();
    await b;
    expect(order).toEqual(['b aborted', 'a', 'c']);
    expect([l.inflight, l.queued]).toEqual([0, 0]);
    await expect(l.acquire(AbortSignal.abort(new Error('before')))).rejects.toThrow('before');
  });

  it('rejects with a BulkheadRejectedError when the line is full', async () => {
    const { l } = limiter({ initial: 1, maxQueue: 1, name: 'ocr' });
    l.tryAcquire();
    const waiting = l.acquire();
    const e = await l.acquire().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BulkheadRejectedError);
    expect(isBulkheadRejectedError(e)).toBe(true);
    expect(e).toMatchObject({ dependency: 'ocr', category: 'resource' });
    expect(l.queued).toBe(1);
    void waiting;
  });

  it('tells `available` listeners when permits free up with nobody in line', () => {
    const { l } = limiter({ initial: 1 });
    const seen: number[] = [];
    const off = l.on('available', (e) => seen.push(e.available));
    const p = l.tryAcquire()!;
    p.success();
    off();
    l.tryAcquire()!.success();
    expect(seen).toEqual([1]);
  });

  it('uses no timer, ever', () => {
    vi.useFakeTimers();
    const r = simulate({ capacity: 10, serviceMs: 5, callers: 50, durationMs: 30_000 });
    expect(r.calls.length).toBeGreaterThan(1000);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('adaptive limiter: decisions', () => {
  it('grows while latency stays at its baseline and the limit is used, doubling until the first queue', () => {
    const { l, clock, changes } = limiter({ initial: 4, minWindowCalls: 4 });
    for (let i = 0; i < 4; i++) round(l, clock, l.limit, 10);
    expect(changes.map((c) => [c.from, c.to, c.reason])).toEqual([
      [4, 8, 'grow'],
      [8, 16, 'grow'],
      [16, 32, 'grow'],
      [32, 64, 'grow'],
    ]);
    expect(changes[3]).toMatchObject({ baselineMs: 10, rttMs: 10, queue: 0 });
  });

  it('does not grow a limit its callers do not use', () => {
    const { l, clock, changes } = limiter({ initial: 10, minWindowCalls: 5 });
    for (let i = 0; i < 100; i++) round(l, clock, 2, 10);
    expect(changes).toEqual([]);
    expect(l.limit).toBe(10);
  });

  it('shrinks to the estimated capacity plus a small queue when latency shows queueing', () => {
    const { l, clock, changes } = limiter({ initial: 40, minWindowCalls: 10 });
    round(l, clock, 40, 5); // baseline 5 ms; grows to 80
    expect(l.limit).toBe(80);
    // 80 in flight take 20 ms: the dependency serves 20 at the no-load speed, 60 wait. One such
    // window could be the caller's own stall: the limit moves on the second.
    round(l, clock, 80, 20);
    expect(l.limit).toBe(80);
    round(l, clock, 80, 20);
    expect(changes.at(-1)).toMatchObject({
      from: 80,
      reason: 'queueing',
      baselineMs: 5,
      rttMs: 20,
      queue: 60,
    });
    // 20 served + the middle of the allowance (3 × log10(80) ≈ 5.7) = 25.7, but at most halving.
    expect(l.limit).toBe(40);
    round(l, clock, 40, 10);
    expect(l.limit).toBe(24);
    expect(l.stats().slowStart).toBe(false);
  });

  it.each([
    ['resource', new ResourceError('disk full')],
    ['dependency', new DependencyError('breaker open', { dependency: 'x' })],
    ['a timeout', new TimeoutError('late', { timeoutMs: 100 })],
  ])('a window with %s errors cuts the limit by backoffRatio', (_, error) => {
    const { l, clock, changes } = limiter({ initial: 20, minWindowCalls: 5 });
    round(l, clock, 20, 5, (p) => p.failure(error));
    expect(changes).toEqual([expect.objectContaining({ from: 20, to: 18, reason: 'congestion' })]);
  });

  it.each([
    ['validation', new ValidationError('bad payload')],
    ['permanent', new PermanentError('unsupported')],
    ['transient', new TransientError('reset')],
  ])('%s errors are neither congestion nor latency samples', (_, error) => {
    const { l, clock, changes } = limiter({ initial: 10, minWindowCalls: 5 });
    round(l, clock, 10, 10); // baseline 10 ms, grows to 20
    for (let i = 0; i < 50; i++) round(l, clock, 20, 0.01, (p) => p.failure(error));
    expect(changes.map((c) => c.reason)).toEqual(['grow']);
    expect(l.stats()).toMatchObject({ limit: 20, baselineMs: 10 });
  });

  it('takes a custom congestion test and classification rules', () => {
    const { l, clock, changes } = limiter({
      initial: 10,
      minWindowCalls: 5,
      classifyRules: [(e) => ((e as Error).message === 'overloaded' ? 'resource' : undefined)],
    });
    round(l, clock, 10, 5, (p) => p.failure(new Error('overloaded')));
    expect(changes.at(-1)?.reason).toBe('congestion');
    const custom = limiter({ initial: 10, minWindowCalls: 5, isCongestion: (_e, c) => c === 'transient' });
    round(custom.l, custom.clock, 10, 5, (p) => p.failure(new TransientError('x')));
    expect(custom.changes.at(-1)?.reason).toBe('congestion');
  });

  it('after a change, does not measure calls ending within twice the longest call of the last window', () => {
    const { l, clock, changes } = limiter({ initial: 4, minWindowCalls: 4 });
    round(l, clock, 4, 5); // baseline 5 ms; doubles to 8
    expect(l.limit).toBe(8);
    // Calls ending within 10 ms of the change may have queued under the old limit: however slow
    // they look, they are not counted.
    const early = [l.tryAcquire()!, l.tryAcquire()!, l.tryAcquire()!, l.tryAcquire()!];
    clock.advance(9);
    for (const p of early) p.success();
    round(l, clock, 8, 0.5, undefined, 0);
    expect(changes).toHaveLength(1);
    round(l, clock, 8, 5);
    expect(changes.map((c) => c.reason)).toEqual(['grow', 'grow']);
  });

  it('re-measures the baseline every probeIntervalMs: halves the limit for one window, restores', () => {
    const { l, clock, changes } = limiter({ initial: 10, minWindowCalls: 2, probeIntervalMs: 5000 });
    round(l, clock, 10, 5); // baseline 5; grows to 20
    // The dependency is now slower for good: every window reads 4× the baseline.
    for (let i = 0; i < 200 && !changes.some((c) => c.reason === 'probe'); i++) round(l, clock, l.limit, 20);
    const probe = changes.findIndex((c) => c.reason === 'probe');
    expect(probe).toBeGreaterThan(0);
    const before = changes[probe]!.from;
    expect(changes[probe]!.to).toBe(Math.max(1, Math.floor(before / 2)));
    round(l, clock, l.limit, 20);
    expect(changes.at(-1)).toMatchObject({ reason: 'restore', to: before });
    expect(l.stats().baselineMs).toBe(20);
    // With the new baseline it grows again.
    round(l, clock, l.limit, 20);
    expect(changes.at(-1)?.reason).toBe('grow');
  });

  it('reduce() and setLimit() are manual changes; permits above a lowered limit finish normally', () => {
    const { l, changes } = limiter({ initial: 10 });
    const held = [l.tryAcquire()!, l.tryAcquire()!, l.tryAcquire()!];
    l.reduce(0.2);
    expect(changes.at(-1)).toMatchObject({ from: 10, to: 2, reason: 'manual' });
    expect([l.inflight, l.available]).toEqual([3, 0]);
    for (const p of held) p.success();
    expect(l.available).toBe(2);
  });
});

describe('adaptive policy', () => {
  it('runs calls under the limit, queues the rest, and feeds the limiter', async () => {
    const clock = new ManualClock(0);
    const policy = adaptive({ initial: 2, clock, name: 'api' });
    const gates: (() => void)[] = [];
    const started: number[] = [];
    const calls = [0, 1, 2, 3].map((i) =>
      policy.execute(
        () =>
          new Promise<number>((resolve) => {
            started.push(i);
            gates.push(() => resolve(i));
          }),
      ),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    expect([policy.inflight, policy.queued, policy.limit]).toEqual([2, 2, 2]);
    gates[0]!();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates.slice(1)) g();
    await flush();
    gates[3]!();
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3]);
    expect([policy.inflight, policy.queued]).toEqual([0, 0]);
    expect(policy.name).toBe('api');
  });

  it('frees the permit on a synchronous throw and on a rejection; reports the error', async () => {
    const policy = adaptive({ initial: 1, minWindowCalls: 1, clock: new ManualClock(0) });
    const changes: string[] = [];
    policy.on('limit', (e) => changes.push(e.reason));
    await expect(
      policy.execute(() => {
        throw new ResourceError('no memory');
      }),
    ).rejects.toThrow('no memory');
    await expect(policy.execute(() => Promise.reject(new ValidationError('bad')))).rejects.toThrow('bad');
    expect(policy.inflight).toBe(0);
    expect(changes).toEqual([]); // at the minimum already: congestion cannot lower it
    await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('a call waiting for a permit leaves when its signal aborts; a full line rejects', async () => {
    const policy = adaptive({ initial: 1, maxQueue: 1 });
    let open!: () => void;
    const running = policy.execute(() => new Promise<void>((r) => (open = r)));
    const ac = new AbortController();
    const waiting = policy.execute(() => 'late', ac.signal);
    await expect(policy.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadRejectedError);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(policy.queued).toBe(0);
    open();
    await running;
    expect(policy.inflight).toBe(0);
  });

  it('shares a limiter given to it', () => {
    const l = new AdaptiveLimiter({ initial: 3 });
    const policy = adaptive(l);
    l.tryAcquire();
    expect([policy.limiter, policy.inflight, policy.stats().limit]).toEqual([l, 1, 3]);
  });
});
