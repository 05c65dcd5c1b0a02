/**
 * An adaptive concurrency limiter: how many calls to one dependency may run at once, found from
 * the calls' latency and errors (the algorithm and why it is Vegas: adaptive-vegas.ts).
 *
 * It is driven only by its callers: `tryAcquire()` / `acquire()` hand out permits, and a permit's
 * `success()` / `failure(error)` / `release()` feed the measurements. Every decision is taken when
 * a permit is released, so an idle limiter holds no timer and costs nothing. Time comes from
 * `clock` (a high-resolution one by default: a 5 ms call needs sub-millisecond readings).
 *
 * Samples are grouped in windows of at least `minWindowCalls` calls (and at least the limit: about
 * one round of calls). After a change, calls ending within twice the longest call of the last window
 * are not measured (they ran, or queued, under the old limit), so the effect of one change is seen
 * before the next (as TCP changes its window once per round trip). Every call ending later counts:
 * counting only calls started after the change would close the window on the first of them to end,
 * the short ones, and bias the latency low.
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Clock } from '../kernel/clock.js';
import { isTimeoutError, type ErrorCategory } from '../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import {
  NOISE_Z,
  alphaOf,
  baselineOf,
  betaOf,
  nextLimit,
  queueEstimate,
  shrunk,
  type LimitReason,
  type VegasBounds,
  type VegasWindow,
} from './adaptive-vegas.js';
import { classify, type ClassifyRule } from './classify.js';
import { BulkheadRejectedError } from './errors.js';
import { abortReason, zClock } from './policy.js';

export interface AdaptiveLimiterOptions {
  /** Lowest limit. @default 1 */
  min?: number;
  /** Highest limit. @default 1000 */
  max?: number;
  /**
   * Limit to start from: it doubles per window until the first sign of a queue. Keep it at or below
   * what the dependency surely serves at once: the first windows measure its no-load latency.
   * @default clamp(4, min, max)
   */
  initial?: number;
  /** Callers that may wait in line for a permit in `acquire()`; past that it rejects with BulkheadRejectedError. @default Infinity */
  maxQueue?: number;
  /** What the limit is multiplied by after a window with congestion errors. @default 0.9 */
  backoffRatio?: number;
  /** Fewest calls in a measuring window. @default 10 */
  minWindowCalls?: number;
  /**
   * How often the no-load baseline is measured again, in ms: the limit is halved for one window
   * (again while that keeps moving the latency), which costs about two rounds of calls at half the
   * limit. Never less than 200 times the baseline latency. @default 10000
   */
  probeIntervalMs?: number;
  /**
   * Whether a failed call is a sign of congestion (lowers the limit). Other failures are neither
   * latency samples nor congestion.
   * @default category `resource` or `dependency`, or a TimeoutError
   */
  isCongestion?: (error: unknown, category: ErrorCategory) => boolean;
  /** Rules to classify errors with before `isCongestion` sees them. */
  classifyRules?: readonly ClassifyRule[];
  /** Named in errors and events. */
  name?: string;
  /** Where latency is read from, in ms. @default performance.now */
  clock?: Clock;
}

/** A change of the limit. */
export interface LimitChange {
  from: number;
  to: number;
  reason: LimitReason;
  /** The no-load latency the limiter compares with, in ms (null before the first window). */
  baselineMs: number | null;
  /** The average latency of the window that decided, in ms (null for manual changes). */
  rttMs: number | null;
  /** The estimated queue at the dependency in that window, in calls. */
  queue: number;
}

export interface AdaptiveLimiterEvents {
  limit: LimitChange;
  /** Permits are free and nobody waits in line: after a release or a raised limit (emitted only while someone listens). */
  available: { available: number };
}

export interface AdaptiveLimiterStats {
  limit: number;
  inflight: number;
  queued: number;
  min: number;
  max: number;
  baselineMs: number | null;
  /** The average latency of the last closed window, in ms. */
  lastRttMs: number | null;
  probing: boolean;
  slowStart: boolean;
}

/** A right to run one call. Report how it went exactly once; later reports are ignored. */
export interface AdaptivePermit {
  /** The call succeeded: its latency is a sample. */
  success(): void;
  /** The call failed: a congestion error lowers the limit, any other is ignored. */
  failure(error: unknown): void;
  /** Gives the permit back without a verdict (cancelled, snoozed, never called the dependency). */
  release(): void;
}

const hrClock: Clock = { now: () => performance.now() };

const CONGESTION: ReadonlySet<ErrorCategory> = new Set(['resource', 'dependency']);
const defaultCongestion = (error: unknown, category: ErrorCategory): boolean =>
  CONGESTION.has(category) || isTimeoutError(error);

/**
 * After a change, calls ending within this many of the last window's longest call are not measured:
 * the calls in flight at the change end within one, and calls queued behind them (first in, first
 * out) within two.
 */
const SETTLE_RTTS = 2;
/** Weight of the newest window in the smoothed latency the baseline is taken from. */
const SMOOTHING = 0.25;
/** A probe halves again while each halving moves the latency by more than this (and more than its noise). */
const PROBE_GAIN = 0.1;
/** Probes are at least this many baseline latencies apart (a probe costs about two rounds at half the limit). */
const PROBE_RTTS = 200;

const zLimit = z.number().int().positive().max(1_000_000);
const zOptions = z
  .strictObject({
    min: zLimit.optional(),
    max: zLimit.optional(),
    initial: zLimit.optional(),
    maxQueue: z.union([z.number().int().nonnegative(), z.literal(Infinity)]).optional(),
    backoffRatio: z.number().min(0.1).max(0.99).optional(),
    minWindowCalls: z.number().int().min(1).max(100_000).optional(),
    probeIntervalMs: z.number().positive().max(86_400_000).optional(),
    isCongestion: z
      .custom<(error: unknown, category: ErrorCategory) => boolean>(
        (f) => typeof f === 'function',
        'expected a function',
      )
      .optional(),
    classifyRules: z
      .array(z.custom<ClassifyRule>((f) => typeof f === 'function', 'expected a function'))
      .optional(),
    name: z.string().min(1).max(200).optional(),
    clock: zClock.optional(),
  })
  .refine((o) => (o.min ?? 1) <= (o.max ?? Math.max(1000, o.min ?? 1)), {
    message: 'min must not be above max',
    path: ['min'],
  })
  .refine(
    (o) =>
      o.initial === undefined ||
      (o.initial >= (o.min ?? 1) && o.initial <= (o.max ?? Math.max(1000, o.min ?? 1))),
    { message: 'initial must be between min and max', path: ['initial'] },
  );

interface Waiter {
  resolve: (permit: AdaptivePermit) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

class Permit implements AdaptivePermit {
  private done = false;
  constructor(
    private readonly owner: AdaptiveLimiter,
    readonly startedAt: number,
  ) {}

  success(): void {
    if (this.done) return;
    this.done = true;
    this.owner.settle(this.startedAt, 'success', undefined);
  }

  failure(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.owner.settle(this.startedAt, 'failure', error);
  }

  release(): void {
    if (this.done) return;
    this.done = true;
    this.owner.settle(this.startedAt, 'release', undefined);
  }
}

export class AdaptiveLimiter {
  readonly name: string | undefined;
  readonly min: number;
  readonly max: number;
  readonly maxQueue: number;
  private readonly bounds: VegasBounds;
  private readonly minWindow: number;
  private readonly probeIntervalMs: number;
  private readonly isCongestion: (error: unknown, category: ErrorCategory) => boolean;
  private readonly rules: readonly ClassifyRule[];
  private readonly clock: Clock;
  private readonly events = new TypedEmitter<AdaptiveLimiterEvents>(undefined, {
    limit: true,
    available: true,
  });
  private readonly message: string;

  /** The limit as a real number; `limit` is its whole part. */
  private estimate: number;
  private running = 0;
  /** Callers waiting for a permit, first in first out (a Set: leaving the line is O(1)). */
  private readonly line = new Set<Waiter>();
  /** Calls ending before this (twice the longest call of the last window after the last change) are not measured. */
  private measureFrom = -Infinity;
  /** The longest call of the last closed window, in ms. */
  private lastMaxRttMs = 0;
  private slowStart = true;
  private baselineMs = Infinity;
  /** The windows' latency (as offered for the baseline), smoothed across windows. */
  private smoothedMs = Infinity;
  /** When the last probe started (or the first window closed). */
  private probedAt = 0;
  private lastRttMs: number | null = null;
  private probing = false;
  private probeRestore = 0;
  /** The window before the probe's first halving: its average latency and calls in flight. */
  private beforeProbeRttMs = 0;
  private beforeProbeInflight = 0;
  /** The latency (and its standard error) of the window before the probe's last halving. */
  private probeRttMs = 0;
  private probeStdErrMs = 0;
  /** The last three windows, one bit each (1: it showed a queue), the latest lowest. */
  private queued3 = 0;

  // The open window.
  private wSamples = 0;
  private wRttSum = 0;
  private wRttSqSum = 0;
  private wRttMax = 0;
  /**
   * Calls in flight integrated over the window's busy time (Little's law wants the time average;
   * idle stretches would dilute it).
   */
  private wArea = 0;
  private wBusy = 0;
  private wLastAt = 0;
  private wMaxInflight = 0;
  private wDrops = 0;

  constructor(options: AdaptiveLimiterOptions = {}) {
    const o = parseOptions(zOptions, options, 'adaptive limiter options');
    this.min = o.min ?? 1;
    this.max = o.max ?? Math.max(1000, this.min);
    this.estimate = o.initial ?? Math.min(this.max, Math.max(this.min, 4));
    this.maxQueue = o.maxQueue ?? Infinity;
    this.bounds = { min: this.min, max: this.max, backoffRatio: o.backoffRatio ?? 0.9 };
    this.minWindow = o.minWindowCalls ?? 10;
    this.probeIntervalMs = o.probeIntervalMs ?? 10_000;
    this.isCongestion = o.isCongestion ?? defaultCongestion;
    this.rules = o.classifyRules ?? [];
    this.clock = o.clock ?? hrClock;
    this.name = o.name;
    this.message = `[bulwark] [adaptive] ${o.name === undefined ? 'limiter' : `'${o.name}'`} is at its limit and its line is full`;
  }

  on<K extends keyof AdaptiveLimiterEvents>(
    event: K,
    listener: Listener<AdaptiveLimiterEvents[K]>,
  ): Disposer {
    return this.events.on(event, listener);
  }

  /** Calls that may run at once now. */
  get limit(): number {
    return Math.floor(this.estimate);
  }

  /** Permits held now. */
  get inflight(): number {
    return this.running;
  }

  /** Callers waiting in `acquire()`. */
  get queued(): number {
    return this.line.size;
  }

  /** Permits `tryAcquire()` would hand out now (those waiting in line come first). */
  get available(): number {
    return Math.max(0, this.limit - this.running - this.line.size);
  }

  /** A permit if one is free now and nobody waits ahead; otherwise undefined. Never waits. */
  tryAcquire(): AdaptivePermit | undefined {
    if (this.line.size > 0 || this.running >= this.limit) return undefined;
    return this.grant();
  }

  /**
   * A permit, waiting in line (first come, first served) while the limit is reached. Rejects with
   * BulkheadRejectedError when the line is full, and with the signal's reason when it aborts.
   */
  acquire(signal?: AbortSignal): Promise<AdaptivePermit> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const now = this.tryAcquire();
    if (now !== undefined) return Promise.resolve(now);
    if (this.line.size >= this.maxQueue) return Promise.reject(this.rejection());
    return new Promise<AdaptivePermit>((resolve, reject) => {
      const w: Waiter = { resolve, signal, onAbort: undefined };
      if (signal !== undefined) {
        w.onAbort = () => {
          this.line.delete(w);
          reject(abortReason(signal));
          // The caller that left may have been the one blocking those behind it.
          this.drain();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.line.add(w);
    });
  }

  /** @internal The error `acquire()` rejects with when the line is full. */
  rejection(): BulkheadRejectedError {
    return new BulkheadRejectedError(this.message, this.name === undefined ? {} : { dependency: this.name });
  }

  /** Sets the limit by hand (clamped to [min, max]); measuring starts over from it. */
  setLimit(limit: number): void {
    parseOptions(z.number().finite().positive(), limit, 'limit');
    this.probing = false;
    this.change(Math.min(this.max, Math.max(this.min, limit)), 'manual', null, 0);
    this.drain();
  }

  /** Multiplies the limit by `ratio` (0 < ratio ≤ 1), e.g. when a breaker opens. */
  reduce(ratio: number): void {
    parseOptions(z.number().gt(0).max(1), ratio, 'ratio');
    this.slowStart = false;
    this.setLimit(this.estimate * ratio);
  }

  stats(): AdaptiveLimiterStats {
    return {
      limit: this.limit,
      inflight: this.running,
      queued: this.line.size,
      min: this.min,
      max: this.max,
      baselineMs: Number.isFinite(this.baselineMs) ? this.baselineMs : null,
      lastRttMs: this.lastRttMs,
      probing: this.probing,
      slowStart: this.slowStart,
    };
  }

  private grant(): Permit {
    const now = this.clock.now();
    this.accrue(now);
    this.running++;
    if (this.running > this.wMaxInflight) this.wMaxInflight = this.running;
    return new Permit(this, now);
  }

  private accrue(now: number): void {
    if (now > this.wLastAt) {
      if (this.running > 0) {
        this.wArea += this.running * (now - this.wLastAt);
        this.wBusy += now - this.wLastAt;
      }
      this.wLastAt = now;
    }
  }

  /** @internal Called once per permit, by the permit. */
  settle(startedAt: number, how: 'success' | 'failure' | 'release', error: unknown): void {
    const now = this.clock.now();
    this.accrue(now);
    const inflight = this.running;
    this.running--;
    if (now < this.measureFrom) {
      // The calls ending now may have run (or queued) under the old limit: the window starts after them.
      this.resetWindow();
    } else {
      if (how === 'success') {
        this.wSamples++;
        const rtt = Math.max(0, now - startedAt);
        this.wRttSum += rtt;
        this.wRttSqSum += rtt * rtt;
        if (rtt > this.wRttMax) this.wRttMax = rtt;
      } else if (how === 'failure' && this.isCongestion(error, classify(error, this.rules).category)) {
        this.wDrops++;
      }
      if (this.wSamples + this.wDrops >= Math.max(this.minWindow, this.limit))
        this.closeWindow(now, inflight);
    }
    this.drain();
  }

  /** `inflight`: calls in flight just before the call that closed the window ended (for a window of no duration). */
  private closeWindow(now: number, inflight: number): void {
    const n = this.wSamples;
    const mean = n > 0 ? this.wRttSum / n : 0;
    const variance = n > 1 ? Math.max(0, (this.wRttSqSum - n * mean * mean) / (n - 1)) : 0;
    const w: VegasWindow = {
      samples: n,
      avgRttMs: mean,
      rttStdErrMs: n > 1 ? Math.sqrt(variance / n) : 0,
      avgInflight: this.wBusy > 0 ? this.wArea / this.wBusy : inflight,
      maxInflight: this.wMaxInflight,
      drops: this.wDrops,
    };
    const maxRtt = this.wRttMax;
    this.resetWindow();
    if (w.samples > 0) {
      this.lastRttMs = w.avgRttMs;
      this.lastMaxRttMs = maxRtt;
    }
    if (this.probing) {
      this.probing = false;
      if (w.drops === 0 && w.samples > 0) {
        if (this.estimate > this.min && this.probeMoved(w)) {
          // Halving the limit still cut the latency (a queue is left to drain), or the latency
          // rose (the dependency changed under the probe): halve again before trusting it.
          this.startProbe(w, this.probeRestore, 0);
          return;
        }
        // Halving no longer helps: the queue is drained and this latency is the no-load one.
        this.baselineMs = this.smoothedMs = baselineOf(w);
        this.change(this.restoreTo(), 'restore', w.avgRttMs, 0);
        return;
      }
    } else if (w.samples > 0) {
      // The baseline is the lowest *smoothed* latency: one calm window among noisy ones (a caller
      // busy at times) must not set a baseline that every ordinary window then reads as a queue.
      const b = baselineOf(w);
      this.smoothedMs = Number.isFinite(this.smoothedMs)
        ? this.smoothedMs + SMOOTHING * (b - this.smoothedMs)
        : b;
      if (this.smoothedMs < this.baselineMs) {
        if (!Number.isFinite(this.baselineMs)) this.probedAt = now;
        this.baselineMs = this.smoothedMs;
      }
    }
    const d = nextLimit(this.estimate, this.baselineMs, w, this.slowStart, this.bounds);
    if (
      this.slowStart &&
      (d.reason === 'congestion' || d.reason === 'queueing' || d.queue >= alphaOf(this.estimate))
    ) {
      this.slowStart = false;
      // The baseline so far comes from the first, smallest windows: measure it again soon.
      this.probedAt = -Infinity;
    }
    // A queue must show in two of the last three windows. A caller whose event loop stalls sees the
    // whole round of calls in flight late, all at once: one window that looks queued (however long
    // the stall, since no call starts during it); a dependency that really queues keeps doing so.
    this.queued3 = ((this.queued3 << 1) | (d.reason === 'queueing' ? 1 : 0)) & 0b111;
    const queuedWindows = (this.queued3 & 1) + ((this.queued3 >> 1) & 1) + (this.queued3 >> 2);
    if (d.reason === 'queueing' && queuedWindows < 2) return;
    const decreasing = d.reason === 'congestion' || d.reason === 'queueing';
    const interval = Math.max(this.probeIntervalMs, PROBE_RTTS * this.baselineMs);
    // Probes run on a schedule, not when the baseline "looks stale": a baseline measured with a
    // queue (a start above capacity) is confirmed by every later window that has the same queue.
    if (!decreasing && w.drops === 0 && w.samples > 0 && now - this.probedAt >= interval) {
      this.startProbe(w, this.estimate, d.queue);
      return;
    }
    if (d.reason !== undefined) this.change(d.limit, d.reason, w.avgRttMs, d.queue);
  }

  /** Halves the limit for one window; `restore` is the limit to go back to after the probe. */
  private startProbe(w: VegasWindow, restore: number, queue: number): void {
    if (!this.probing && restore === this.estimate) {
      this.beforeProbeRttMs = w.avgRttMs;
      this.beforeProbeInflight = w.avgInflight;
    }
    this.probing = true;
    this.probedAt = this.clock.now();
    this.probeRestore = restore;
    this.probeRttMs = w.avgRttMs;
    this.probeStdErrMs = w.rttStdErrMs;
    this.change(Math.max(this.min, this.estimate / 2), 'probe', w.avgRttMs, queue);
  }

  /**
   * The limit after a probe. With the no-load latency just measured, the window before the probe is
   * judged again on its plain average: a queue the noise allowance hid then (a dependency in lockstep,
   * its calls waiting whole service times) is no longer carried back in.
   */
  private restoreTo(): number {
    const to = this.probeRestore;
    const queue = queueEstimate(this.beforeProbeInflight, this.baselineMs, this.beforeProbeRttMs);
    return queue > betaOf(to) ? shrunk(to, this.beforeProbeInflight, queue, this.bounds) : to;
  }

  /** Whether the probe window's latency differs from the one before beyond noise and PROBE_GAIN. */
  private probeMoved(w: VegasWindow): boolean {
    const noise = NOISE_Z * Math.hypot(w.rttStdErrMs, this.probeStdErrMs);
    return Math.abs(w.avgRttMs - this.probeRttMs) > Math.max(PROBE_GAIN * this.probeRttMs, noise);
  }

  private change(to: number, reason: LimitReason, rttMs: number | null, queue: number): void {
    const from = this.limit;
    // A queue that outlives the decrease it caused needs no second confirmation.
    if (reason !== 'queueing') this.queued3 = 0;
    this.estimate = to;
    this.measureFrom = this.clock.now() + SETTLE_RTTS * this.lastMaxRttMs;
    this.resetWindow();
    const next = this.limit;
    if (next !== from && this.events.has('limit')) {
      this.events.emit('limit', {
        from,
        to: next,
        reason,
        baselineMs: Number.isFinite(this.baselineMs) ? this.baselineMs : null,
        rttMs,
        queue,
      });
    }
  }

  private resetWindow(): void {
    this.wSamples = this.wRttSum = this.wRttSqSum = this.wRttMax = this.wArea = this.wBusy = this.wDrops = 0;
    this.wLastAt = this.clock.now();
    this.wMaxInflight = this.running;
  }

  /** Hands free permits to the callers waiting in line, then tells listeners what is left. */
  private drain(): void {
    while (this.line.size > 0 && this.running < this.limit) {
      const w = this.line.values().next().value!;
      this.line.delete(w);
      if (w.onAbort !== undefined) w.signal!.removeEventListener('abort', w.onAbort);
      w.resolve(this.grant());
    }
    if (this.events.has('available')) {
      const available = this.available;
      if (available > 0) this.events.emit('available', { available });
    }
  }
}

/** An adaptive concurrency limiter (use `adaptive()` for the policy around it). */
export function adaptiveLimiter(options?: AdaptiveLimiterOptions): AdaptiveLimiter {
  return new AdaptiveLimiter(options);
}
