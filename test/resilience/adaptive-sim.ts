/**
 * A discrete-event simulation of a dependency that serves `capacity` calls at once and queues the
 * rest (first in, first out), driven by closed-loop callers through an adaptive limiter. Time is a
 * ManualClock: the limiter's decisions are checked without a single real timer.
 */
import { ManualClock } from '../../src/kernel/clock.js';
import {
  AdaptiveLimiter,
  type AdaptiveLimiterOptions,
  type AdaptivePermit,
} from '../../src/resilience/adaptive-limiter.js';
import { betaOf } from '../../src/resilience/adaptive-vegas.js';

export interface SimOptions {
  /** Servers of the dependency, possibly changing over time. */
  capacity: number | ((now: number) => number);
  /** Service time of one call, in ms (or a function of a random number in [0, 1)). */
  serviceMs: number | ((u: number) => number);
  /** Closed-loop callers: each starts a new call as soon as its last one ends and a permit is free. */
  callers: number;
  /** Simulated time to run, in ms. */
  durationMs: number;
  /** Deterministic randomness for the service time. @default a fixed-seed generator */
  random?: () => number;
  /**
   * Time between the dependency answering and the caller seeing it, in ms, as a function of a
   * random number in [0, 1): a busy caller's event loop. @default none
   */
  lagMs?: (u: number, now: number) => number;
  /** Called with the clock time on each completed call (to change things mid-run). */
  onTick?: (now: number) => void;
  limiter?: AdaptiveLimiterOptions;
  /** Sees the limiter before the run (to subscribe to its events). */
  onLimiter?: (limiter: AdaptiveLimiter) => void;
}

export interface SimResult {
  limiter: AdaptiveLimiter;
  /** Clock time the run started at. */
  origin: number;
  clock: ManualClock;
  /** [time, limit] after every completed call. */
  limits: [number, number][];
  /** Latency of every completed call, with its end time. */
  calls: { at: number; ms: number }[];
  /** Most permits held at once. */
  maxInflight: number;
  /** Whether a permit was ever granted above the limit of its moment. */
  overLimit: boolean;
}

/** A seeded generator (a 32-bit linear congruential one: plenty for service-time noise), so a failing case replays. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 32;
  };
}

const ORIGIN = 1_000;

interface Call {
  permit: AdaptivePermit;
  startedAt: number;
}

export function simulate(o: SimOptions): SimResult {
  const clock = new ManualClock(ORIGIN);
  const limiter = new AdaptiveLimiter({ clock, ...o.limiter });
  o.onLimiter?.(limiter);
  const random = o.random ?? seeded(42);
  const capacity = typeof o.capacity === 'number' ? () => o.capacity as number : o.capacity;
  const service = typeof o.serviceMs === 'number' ? () => o.serviceMs as number : o.serviceMs;
  // Events kept sorted by time (a binary insert; a few hundred pending at most): the dependency
  // answers ('done'), then the caller sees the answer ('seen').
  const pending: { at: number; call: Call; kind: 'done' | 'seen' }[] = [];
  const schedule = (at: number, call: Call, kind: 'done' | 'seen'): void => {
    let lo = 0;
    let hi = pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pending[mid]!.at <= at) lo = mid + 1;
      else hi = mid;
    }
    pending.splice(lo, 0, { at, call, kind });
  };
  const line: Call[] = [];
  let busy = 0;
  let active = 0;
  let maxInflight = 0;
  let overLimit = false;
  const limits: [number, number][] = [];
  const calls: { at: number; ms: number }[] = [];
  const end = clock.now() + o.durationMs;

  const serve = (call: Call): void => {
    busy++;
    schedule(clock.now() + service(random()), call, 'done');
  };
  const start = (): void => {
    while (active < o.callers) {
      const permit = limiter.tryAcquire();
      if (permit === undefined) break;
      if (limiter.inflight > limiter.limit) overLimit = true;
      active++;
      maxInflight = Math.max(maxInflight, limiter.inflight);
      const call = { permit, startedAt: clock.now() };
      if (busy < capacity(clock.now())) serve(call);
      else line.push(call);
    }
  };

  start();
  while (pending.length > 0 && clock.now() < end) {
    const { at, call, kind } = pending.shift()!;
    clock.set(at);
    if (kind === 'done') {
      busy--;
      while (line.length > 0 && busy < capacity(clock.now())) serve(line.shift()!);
      if (o.lagMs !== undefined) {
        schedule(at + o.lagMs(random(), at), call, 'seen');
        continue;
      }
    }
    active--;
    calls.push({ at, ms: at - call.startedAt });
    call.permit.success();
    limits.push([at, limiter.limit]);
    o.onTick?.(at);
    start();
  }
  return { limiter, origin: ORIGIN, clock, limits, calls, maxInflight, overLimit };
}

/** Limits seen in [from, to) of simulated time. */
export function limitsBetween(r: SimResult, from: number, to: number): number[] {
  return r.limits.filter(([at]) => at - r.origin >= from && at - r.origin < to).map(([, l]) => l);
}

/** Calls completed in [from, to) of simulated time, per second. */
export function throughputBetween(r: SimResult, from: number, to: number): number {
  const n = r.calls.filter(({ at }) => at - r.origin >= from && at - r.origin < to).length;
  return (n / (to - from)) * 1000;
}

/** The mean limit over [from, to) of simulated time. */
export function meanLimit(r: SimResult, from: number, to: number): number {
  const limits = limitsBetween(r, from, to);
  return limits.reduce((a, b) => a + b, 0) / limits.length;
}

/** A service time of mean `ms`, spread uniformly by ±`spread` of it. */
export const noisy =
  (ms: number, spread: number) =>
  (u: number): number =>
    ms * (1 + spread * (2 * u - 1));

/**
 * The highest mean limit expected for a dependency of `capacity`: the queue allowance (beta, at up
 * to twice the capacity), what a service-time `spread` makes look like a queue, and a few calls
 * more since the limit is lowered only for a queue seen in two windows of three.
 */
export const highestLimit = (capacity: number, spread: number): number =>
  capacity * (1 + spread) + betaOf(capacity * 2) + 4;
