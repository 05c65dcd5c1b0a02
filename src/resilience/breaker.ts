/**
 * Circuit breaker. Opens on consecutive failures, on a failure rate or a slow-call rate over the
 * last N calls or the last T milliseconds (once a minimum number of calls is seen); after a break
 * (growing with each reopening, up to a maximum) it lets N probes through half-open and closes when
 * enough succeed. Transitions are computed when the breaker is next used or read: it holds no timer.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../kernel/clock.js';
import { ValidationError } from '../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import { brokenCircuit, isLocalRejection } from './errors.js';
import type { CallContext } from './policy.js';
import { Policy, next, rejectSoon, zClock, zFunction, type Task } from './policy.js';
import { CountRing, FAILED, SLOW, TimeBuckets } from './window.js';

export type BreakerState = 'closed' | 'open' | 'half_open' | 'isolated';
/** How a settled call counts: ignored outcomes count as nothing and give a half-open permit back. */
export type Outcome = 'success' | 'failure' | 'ignored';

export type BreakerWindow = { type: 'count'; size: number } | { type: 'time'; ms: number; buckets?: number };

export interface BreakerOptions {
  /** The dependency this breaker guards; named in errors and events. */
  name?: string;
  /** Open after this many failures in a row. @default 5 when no rate threshold is set */
  consecutiveFailures?: number;
  /** Open when failed (or slow) calls / calls ≥ this (0 < x ≤ 1), over `window`. */
  failureRateThreshold?: number;
  /** A call slower than this counts as slow. */
  slowCallMs?: number;
  /**
   * Open when slow calls / calls ≥ this, over `window`. When unset, a slow call simply counts as a
   * failure (in the failure rate, the consecutive count and half-open probes).
   */
  slowCallRateThreshold?: number;
  /** The window rates are computed over. @default { type: 'count', size: 100 } */
  window?: BreakerWindow;
  /** A rate applies only once the window holds this many calls. @default 10 */
  minimumCalls?: number;
  /** How long the breaker stays open the first time. @default 30000 */
  breakDurationMs?: number;
  /** Each reopening without a close multiplies the break by this… @default 2 */
  breakDurationFactor?: number;
  /** …up to this. @default breakDurationMs (no escalation) */
  maxBreakDurationMs?: number;
  /** Calls let through while half-open. @default 1 */
  halfOpenProbes?: number;
  /** Successful probes needed to close. @default halfOpenProbes */
  halfOpenSuccessThreshold?: number;
  /** A probe that has not reported after this long counts as failed. @default 60000 */
  halfOpenMaxWaitMs?: number;
  /** Errors that count as nothing (the local bulkhead's and rate limiter's rejections always do). */
  ignore?: (error: unknown) => boolean;
  /** Return false for errors that prove the dependency works (e.g. a 404): they count as successes. */
  isFailure?: (error: unknown) => boolean;
  /** @default systemClock */
  clock?: Clock;
}

export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  /** Clock time of the transition. */
  at: number;
  /** Why: `consecutive`, `failure_rate`, `slow_call_rate`, `probe_failed`, `probe_timeout`, `break_elapsed`, `probes_succeeded`, `isolated`, `released`. */
  reason: string;
  /** For `open`: how long it stays open. */
  retryAfterMs?: number;
}

export interface BreakerEvents {
  open: BreakerTransition;
  half_open: BreakerTransition;
  close: BreakerTransition;
  isolate: BreakerTransition;
  /** Every transition, whatever its kind. */
  state: BreakerTransition;
}

/** Returned by `isolate()`: the breaker stays isolated until every handle is disposed. */
export interface IsolationHandle extends Disposable {
  dispose(): void;
}

export interface BreakerStats {
  state: BreakerState;
  /** Calls, failures and slow calls in the current window (closed state). */
  calls: number;
  failures: number;
  slowCalls: number;
  consecutiveFailures: number;
  /** How many times it opened since it last closed (drives the growing break). */
  openCount: number;
  openUntil: number | undefined;
  halfOpen: { permits: number; inFlight: number; successes: number; failures: number } | undefined;
}

/** What `toJSON()` returns and `restore()` reads. */
export interface BreakerSnapshot {
  v: 1;
  state: 'closed' | 'open' | 'half_open';
  isolated: boolean;
  openedAt: number | null;
  openUntil: number | null;
  openCount: number;
  consecutive: number;
  window: { outcomes: number[] } | { head: number | null; counts: number[] } | null;
  halfOpen: { successes: number; failures: number } | null;
}

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const ISOLATED = 3;
const STATE_NAMES: readonly BreakerState[] = ['closed', 'open', 'half_open', 'isolated'];
const EVENT_NAMES: readonly (keyof BreakerEvents)[] = ['close', 'open', 'half_open', 'isolate'];

const zPos = z.number().int().positive();
const zMs = z.number().int().nonnegative().max(2_147_483_647);
const zRate = z.number().gt(0).max(1);

const zBreakerOptions = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    consecutiveFailures: zPos.optional(),
    failureRateThreshold: zRate.optional(),
    slowCallMs: zMs.optional(),
    slowCallRateThreshold: zRate.optional(),
    window: z
      .discriminatedUnion('type', [
        z.strictObject({ type: z.literal('count'), size: zPos.max(100_000) }),
        z.strictObject({ type: z.literal('time'), ms: zPos, buckets: zPos.max(1000).optional() }),
      ])
      .optional(),
    minimumCalls: zPos.optional(),
    breakDurationMs: zMs.optional(),
    breakDurationFactor: z.number().min(1).max(1000).optional(),
    maxBreakDurationMs: zMs.optional(),
    halfOpenProbes: zPos.max(10_000).optional(),
    halfOpenSuccessThreshold: zPos.optional(),
    halfOpenMaxWaitMs: zMs.optional(),
    ignore: zFunction<(error: unknown) => boolean>().optional(),
    isFailure: zFunction<(error: unknown) => boolean>().optional(),
    clock: zClock.optional(),
  })
  .superRefine((o, ctx) => {
    if (o.halfOpenSuccessThreshold !== undefined && o.halfOpenSuccessThreshold > (o.halfOpenProbes ?? 1)) {
      ctx.addIssue({
        code: 'custom',
        path: ['halfOpenSuccessThreshold'],
        message: 'must not exceed halfOpenProbes',
      });
    }
    const rated = o.failureRateThreshold !== undefined || o.slowCallRateThreshold !== undefined;
    for (const key of ['window', 'minimumCalls'] as const) {
      if (o[key] !== undefined && !rated) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'counts only with failureRateThreshold or slowCallRateThreshold (none is set)',
        });
      }
    }
    if (o.slowCallRateThreshold !== undefined && o.slowCallMs === undefined) {
      ctx.addIssue({ code: 'custom', path: ['slowCallMs'], message: 'is needed by slowCallRateThreshold' });
    }
    if (o.maxBreakDurationMs !== undefined && o.maxBreakDurationMs < (o.breakDurationMs ?? 30_000)) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxBreakDurationMs'],
        message: 'must be at least breakDurationMs',
      });
    }
  });

const zSnapshot = z.strictObject({
  v: z.literal(1),
  state: z.enum(['closed', 'open', 'half_open']),
  isolated: z.boolean(),
  openedAt: z.number().finite().nullable(),
  openUntil: z.number().finite().nullable(),
  openCount: z.number().int().nonnegative(),
  consecutive: z.number().int().nonnegative(),
  window: z
    .union([
      z.strictObject({ outcomes: z.array(z.number().int().min(0).max(3)) }),
      z.strictObject({ head: z.number().int().nullable(), counts: z.array(z.number().nonnegative()) }),
    ])
    .nullable(),
  halfOpen: z
    .strictObject({ successes: z.number().int().nonnegative(), failures: z.number().int().nonnegative() })
    .nullable(),
});

/** Window fields of a time window. */
const W_CALLS = 0;
const W_FAILED = 1;
const W_SLOW = 2;

const OUTCOME_IGNORED = -1;

export class CircuitBreaker extends Policy {
  readonly name: string | undefined;
  private readonly clock: Clock;
  private readonly events = new TypedEmitter<BreakerEvents>(undefined, {
    open: true,
    half_open: true,
    close: true,
    isolate: true,
    state: true,
  });
  private readonly message: string;
  private readonly isolatedMessage: string;

  private readonly consecutiveLimit: number;
  private readonly failureRate: number;
  private readonly slowRate: number;
  private readonly slowMs: number;
  /** Slow calls count as failures (no separate slow-call rate). */
  private readonly slowIsFailure: boolean;
  private readonly minimumCalls: number;
  private readonly ring: CountRing | undefined;
  private readonly buckets: TimeBuckets | undefined;
  private readonly breakMs: number;
  private readonly breakFactor: number;
  private readonly maxBreakMs: number;
  private readonly probes: number;
  private readonly successThreshold: number;
  private readonly maxWaitMs: number;
  private readonly ignore: ((error: unknown) => boolean) | undefined;
  private readonly isFailure: ((error: unknown) => boolean) | undefined;

  private st = CLOSED;
  private consecutive = 0;
  private openedAt = 0;
  private openUntil = 0;
  private openCount = 0;
  private issued = 0;
  private inFlight = 0;
  private successes = 0;
  private failures = 0;
  private nextProbeId = 1;
  private readonly probeIds: number[] = [];
  private readonly probeStarts: number[] = [];
  private isolations = 0;
  private isolationEpoch = 0;
  /**
   * Sees every error of a call the breaker admitted, with how it counted (the registry feeds error
   * analytics from it; nothing runs on success).
   * @internal
   */
  observer: ((error: unknown, outcome: Outcome) => void) | undefined = undefined;

  constructor(options: BreakerOptions = {}) {
    super();
    const o = parseOptions(zBreakerOptions, options, 'breaker');
    this.name = o.name;
    const who = o.name === undefined ? 'circuit' : `'${o.name}'`;
    this.message = `[bulwark] [breaker] ${who} is open`;
    this.isolatedMessage = `[bulwark] [breaker] ${who} is isolated`;
    this.clock = o.clock ?? systemClock;
    const rated = o.failureRateThreshold !== undefined || o.slowCallRateThreshold !== undefined;
    this.consecutiveLimit = o.consecutiveFailures ?? (rated ? Infinity : 5);
    this.failureRate = o.failureRateThreshold ?? Infinity;
    this.slowMs = o.slowCallMs ?? Infinity;
    this.slowRate = o.slowCallRateThreshold ?? Infinity;
    this.slowIsFailure = o.slowCallMs !== undefined && o.slowCallRateThreshold === undefined;
    this.minimumCalls = o.minimumCalls ?? 10;
    if (rated) {
      const w = o.window ?? { type: 'count', size: 100 };
      if (w.type === 'count') this.ring = new CountRing(w.size);
      else this.buckets = new TimeBuckets(w.ms, w.buckets ?? 10, 3);
    }
    this.breakMs = o.breakDurationMs ?? 30_000;
    this.breakFactor = o.breakDurationFactor ?? 2;
    this.maxBreakMs = o.maxBreakDurationMs ?? this.breakMs;
    this.probes = o.halfOpenProbes ?? 1;
    this.successThreshold = o.halfOpenSuccessThreshold ?? this.probes;
    this.maxWaitMs = o.halfOpenMaxWaitMs ?? 60_000;
    this.ignore = o.ignore;
    this.isFailure = o.isFailure;
  }

  /** Subscribes to a transition; returns a disposer. */
  on<K extends keyof BreakerEvents>(event: K, listener: Listener<BreakerEvents[K]>): Disposer {
    return this.events.on(event, listener);
  }

  /** The state now (a due transition happens on this read). */
  get state(): BreakerState {
    if (this.st !== CLOSED) this.refresh(this.clock.now());
    return STATE_NAMES[this.st]!;
  }

  /**
   * Milliseconds until a call may be admitted: 0 when closed or half-open with a free probe permit;
   * the rest of the break when open; while every half-open permit is taken, the time until the
   * oldest probe's wait runs out (a lower bound: a probe may settle it sooner); Infinity when isolated.
   */
  availableInMs(now: number = this.clock.now()): number {
    if (this.st === CLOSED) return 0;
    this.refresh(now);
    switch (this.st) {
      case OPEN:
        return Math.max(0, this.openUntil - now);
      case HALF_OPEN:
        return this.issued < this.probes ? 0 : this.probeWaitMs(now);
      case ISOLATED:
        return Infinity;
      default:
        return 0;
    }
  }

  /** Counts and state for dashboards. */
  stats(): BreakerStats {
    const now = this.clock.now();
    const state = this.state;
    let calls = 0;
    let failures = 0;
    let slowCalls = 0;
    if (this.ring) {
      calls = this.ring.calls;
      failures = this.ring.failures;
      slowCalls = this.ring.slow;
    } else if (this.buckets) {
      calls = this.buckets.total(now, W_CALLS);
      failures = this.buckets.total(now, W_FAILED);
      slowCalls = this.buckets.total(now, W_SLOW);
    }
    return {
      state,
      calls,
      failures,
      slowCalls,
      consecutiveFailures: this.consecutive,
      openCount: this.openCount,
      openUntil: this.st === OPEN ? this.openUntil : undefined,
      halfOpen:
        this.st === HALF_OPEN
          ? {
              permits: this.probes - this.issued,
              inFlight: this.inFlight,
              successes: this.successes,
              failures: this.failures,
            }
          : undefined,
    };
  }

  /**
   * Holds the breaker open by hand (every call is rejected) until the returned handle is disposed;
   * with several handles, until the last one is. Releasing closes the breaker.
   */
  isolate(): IsolationHandle {
    const now = this.clock.now();
    this.isolations++;
    if (this.isolations === 1) this.transition(ISOLATED, now, 'isolated');
    let released = false;
    const epoch = this.isolationEpoch;
    const dispose = (): void => {
      if (released || epoch !== this.isolationEpoch) return;
      released = true;
      this.isolations--;
      if (this.isolations === 0 && this.st === ISOLATED) this.close(this.clock.now(), 'released');
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  /** The state as plain JSON, to persist and `restore()` later (in-flight probes are not kept). */
  toJSON(): BreakerSnapshot {
    const now = this.clock.now();
    if (this.st !== CLOSED) this.refresh(now);
    const st = this.st === ISOLATED ? CLOSED : this.st;
    return {
      v: 1,
      state: STATE_NAMES[st] as BreakerSnapshot['state'],
      isolated: this.st === ISOLATED,
      openedAt: st === CLOSED ? null : this.openedAt,
      openUntil: st === OPEN ? this.openUntil : null,
      openCount: this.openCount,
      consecutive: this.consecutive,
      window: this.ring ? this.ring.toJSON() : this.buckets ? this.buckets.toJSON() : null,
      halfOpen: st === HALF_OPEN ? { successes: this.successes, failures: this.failures } : null,
    };
  }

  /**
   * Loads a `toJSON()` snapshot (no events are emitted). A snapshot taken while isolated isolates
   * the breaker again and returns the new handle.
   */
  restore(snapshot: BreakerSnapshot): IsolationHandle | undefined {
    const s = parseOptions(zSnapshot, snapshot, 'snapshot');
    if (s.state === 'open' && s.openUntil === null) {
      throw new ValidationError('[bulwark] invalid snapshot.openUntil: an open breaker needs it', {
        path: 'snapshot.openUntil',
      });
    }
    this.isolations = 0;
    this.isolationEpoch++; // handles from before the restore no longer count
    this.st = s.state === 'open' ? OPEN : s.state === 'half_open' ? HALF_OPEN : CLOSED;
    this.openedAt = s.openedAt ?? 0;
    this.openUntil = s.openUntil ?? 0;
    this.openCount = s.openCount;
    this.consecutive = s.consecutive;
    this.clearProbes();
    if (s.halfOpen) {
      this.successes = Math.min(s.halfOpen.successes, this.successThreshold - 1);
      this.failures = Math.min(s.halfOpen.failures, this.probes - this.successThreshold);
      this.issued = this.successes + this.failures;
    }
    if (this.ring && s.window && 'outcomes' in s.window) this.ring.restore(s.window);
    else if (this.buckets && s.window && 'counts' in s.window) this.buckets.restore(s.window);
    else {
      this.ring?.reset();
      this.buckets?.reset();
    }
    return s.isolated ? this.isolate() : undefined;
  }

  /** @internal */
  step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    if (this.st === CLOSED && this.slowMs === Infinity) {
      // The hot path: closed, untimed. Outcomes go to pre-bound handlers, no closure per call.
      let r: unknown;
      try {
        r = next(chain, i, fn, ctx);
      } catch (error) {
        this.closedFailure(error);
        throw error;
      }
      if (r instanceof Promise) return r.then(this.closedSuccess, this.closedFailureThrow);
      this.closedSuccess(r);
      return r;
    }
    return this.stepSlow(chain, i, fn, ctx);
  }

  private stepSlow(
    chain: readonly Policy<unknown>[],
    i: number,
    fn: Task<unknown>,
    ctx: CallContext,
  ): unknown {
    const now = this.clock.now();
    if (this.st !== CLOSED) this.refresh(now);
    switch (this.st) {
      case CLOSED:
        return this.run(chain, i, fn, ctx, now, 0, 0);
      case HALF_OPEN: {
        if (this.issued >= this.probes) return rejectSoon(this.rejection(this.probeWaitMs(now), false));
        this.issued++;
        this.inFlight++;
        const id = this.nextProbeId++;
        let slot = this.probeIds.indexOf(0);
        if (slot < 0) slot = this.probeIds.push(0) - 1;
        this.probeIds[slot] = id;
        this.probeStarts[slot] = now;
        return this.run(chain, i, fn, ctx, now, id, slot);
      }
      // Rejected promises rather than throws: a throw costs more than the whole rejection.
      case OPEN:
        return rejectSoon(this.rejection(Math.max(0, this.openUntil - now), false));
      default:
        return rejectSoon(this.rejection(undefined, true));
    }
  }

  /** Runs a timed call (closed with slow-call tracking) or a half-open probe (`probeId` > 0). */
  private run(
    chain: readonly Policy<unknown>[],
    i: number,
    fn: Task<unknown>,
    ctx: CallContext,
    start: number,
    probeId: number,
    slot: number,
  ): unknown {
    let r: unknown;
    try {
      r = next(chain, i, fn, ctx);
    } catch (error) {
      this.settle(this.outcomeOf(error), start, probeId, slot);
      throw error;
    }
    if (r instanceof Promise) {
      return r.then(
        (value: unknown) => {
          this.settle(0, start, probeId, slot);
          return value;
        },
        (error: unknown) => {
          this.settle(this.outcomeOf(error), start, probeId, slot);
          throw error;
        },
      );
    }
    this.settle(0, start, probeId, slot);
    return r;
  }

  private rejection(retryAfterMs: number | undefined, isolated: boolean): Error {
    return brokenCircuit(isolated ? this.isolatedMessage : this.message, this.name, retryAfterMs, isolated);
  }

  /** 0 = success, FAILED = failure, OUTCOME_IGNORED = ignored. */
  private outcomeOf(error: unknown): number {
    let outcome: number;
    if (isLocalRejection(error) || (this.ignore !== undefined && this.ignore(error)))
      outcome = OUTCOME_IGNORED;
    else if (this.isFailure !== undefined && !this.isFailure(error)) outcome = 0;
    else outcome = FAILED;
    if (this.observer !== undefined) {
      this.observer(error, outcome === OUTCOME_IGNORED ? 'ignored' : outcome === 0 ? 'success' : 'failure');
    }
    return outcome;
  }

  /** Records a call that was admitted while closed (untimed fast path). */
  private readonly closedSuccess = (value: unknown): unknown => {
    if (this.st === CLOSED) this.record(0, NaN);
    return value;
  };

  private closedFailure(error: unknown): void {
    const outcome = this.outcomeOf(error);
    if (this.st === CLOSED && outcome !== OUTCOME_IGNORED) this.record(outcome, NaN);
  }

  private readonly closedFailureThrow = (error: unknown): never => {
    this.closedFailure(error);
    throw error;
  };

  private settle(outcome: number, start: number, probeId: number, slot: number): void {
    let now = NaN;
    let flags = outcome === OUTCOME_IGNORED ? 0 : outcome;
    if (this.slowMs !== Infinity || probeId !== 0) {
      now = this.clock.now();
      if (outcome !== OUTCOME_IGNORED && now - start >= this.slowMs) flags |= SLOW;
    }
    if (probeId === 0) {
      // A call admitted while closed counts only if the breaker is still closed.
      if (this.st === CLOSED && outcome !== OUTCOME_IGNORED) this.record(flags, now);
      return;
    }
    if (this.st !== HALF_OPEN || this.probeIds[slot] !== probeId) return; // stale or timed out
    this.probeIds[slot] = 0;
    this.inFlight--;
    if (outcome === OUTCOME_IGNORED) {
      this.issued--;
      return;
    }
    const bad = (flags & FAILED) !== 0 || ((flags & SLOW) !== 0 && this.slowMs !== Infinity);
    this.probeVerdict(bad, now, bad ? 'probe_failed' : 'probes_succeeded');
  }

  private probeVerdict(bad: boolean, now: number, reason: string): void {
    if (bad) this.failures++;
    else this.successes++;
    if (this.successes >= this.successThreshold) this.close(now, reason);
    else if (this.failures > this.probes - this.successThreshold) this.open(now, reason);
  }

  /** Counts one outcome while closed and opens the breaker when a threshold is met. `now` may be NaN (not read yet). */
  private record(flags: number, now: number): void {
    const bad = (flags & FAILED) !== 0 || (this.slowIsFailure && (flags & SLOW) !== 0);
    if (bad) this.consecutive++;
    else this.consecutive = 0;
    if (this.ring !== undefined || this.buckets !== undefined) {
      let calls: number, failures: number, slow: number;
      const rateFlags = bad ? flags | FAILED : flags;
      if (this.ring !== undefined) {
        this.ring.push(rateFlags);
        calls = this.ring.calls;
        failures = this.ring.failures;
        slow = this.ring.slow;
      } else {
        const b = this.buckets!;
        if (now !== now) now = this.clock.now();
        b.add(now, W_CALLS);
        if (rateFlags & FAILED) b.add(now, W_FAILED);
        if (rateFlags & SLOW) b.add(now, W_SLOW);
        calls = b.total(now, W_CALLS);
        failures = b.total(now, W_FAILED);
        slow = b.total(now, W_SLOW);
      }
      if (calls >= this.minimumCalls) {
        // Division, not `rate * calls`: 0.1 * 30 is 3.0000000000000004 and would miss 3 of 30.
        if (failures / calls >= this.failureRate) return this.open(this.timeOr(now), 'failure_rate');
        if (slow / calls >= this.slowRate) return this.open(this.timeOr(now), 'slow_call_rate');
      }
    }
    if (this.consecutive >= this.consecutiveLimit) this.open(this.timeOr(now), 'consecutive');
  }

  private timeOr(now: number): number {
    return now === now ? now : this.clock.now();
  }

  /** Lazy transitions: open → half-open when the break is over; expired probes count as failed. */
  private refresh(now: number): void {
    if (this.st === OPEN) {
      if (now >= this.openUntil) {
        this.clearProbes();
        this.transition(HALF_OPEN, now, 'break_elapsed');
      }
      return;
    }
    if (this.st === HALF_OPEN && this.inFlight > 0) {
      for (let s = 0; s < this.probeIds.length && this.st === HALF_OPEN; s++) {
        if (this.probeIds[s] !== 0 && now - this.probeStarts[s]! >= this.maxWaitMs) {
          this.probeIds[s] = 0;
          this.inFlight--;
          this.probeVerdict(true, now, 'probe_timeout');
        }
      }
    }
  }

  private probeWaitMs(now: number): number {
    let min = Infinity;
    for (let s = 0; s < this.probeIds.length; s++) {
      if (this.probeIds[s] !== 0) min = Math.min(min, this.probeStarts[s]! + this.maxWaitMs - now);
    }
    return min === Infinity ? 0 : Math.max(0, min);
  }

  private open(now: number, reason: string): void {
    const factor = Math.pow(this.breakFactor, this.openCount);
    const raw = this.breakMs * factor;
    const duration = Number.isFinite(raw) ? Math.min(raw, this.maxBreakMs) : this.maxBreakMs;
    this.openCount++;
    this.openedAt = now;
    this.openUntil = now + duration;
    this.resetWindow();
    this.clearProbes();
    this.transition(OPEN, now, reason, duration);
  }

  private close(now: number, reason: string): void {
    this.openCount = 0;
    this.resetWindow();
    this.clearProbes();
    this.transition(CLOSED, now, reason);
  }

  private resetWindow(): void {
    this.consecutive = 0;
    this.ring?.reset();
    this.buckets?.reset();
  }

  private clearProbes(): void {
    this.issued = 0;
    this.inFlight = 0;
    this.successes = 0;
    this.failures = 0;
    this.probeIds.fill(0);
  }

  private transition(to: number, now: number, reason: string, retryAfterMs?: number): void {
    const from = this.st;
    this.st = to;
    const event: BreakerTransition = { from: STATE_NAMES[from]!, to: STATE_NAMES[to]!, at: now, reason };
    if (retryAfterMs !== undefined) event.retryAfterMs = retryAfterMs;
    this.events.emit(EVENT_NAMES[to]!, event);
    this.events.emit('state', event);
  }
}

/**
 * A circuit breaker. Without a threshold (`circuitBreaker()` or `circuitBreaker({})`) it opens after
 * 5 consecutive failures and stays open 30 s: working defaults, as opossum's and Polly's, rather than
 * a required strategy as cockatiel's. Unknown keys and bad values are refused (ValidationError).
 */
export function circuitBreaker(options?: BreakerOptions): CircuitBreaker {
  return new CircuitBreaker(options);
}
