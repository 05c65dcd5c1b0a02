/**
 * Health: per-processor success rate over a sliding window turned into a status, and a system
 * verdict that also weighs dependency breakers and queues paused by auth failures.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../kernel/clock.js';
import { ValidationError } from '../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import type { Queue } from '../core/queue.js';
import { parseOptions, zPositiveInt } from '../kernel/validate.js';
import type { Worker } from '../core/worker/worker.js';
import { OutcomeWindow, type WindowStats } from './window.js';

export const HEALTH_STATUSES = ['HEALTHY', 'DEGRADED', 'UNHEALTHY', 'UNKNOWN'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** Anything with a name and a breaker state ('closed', 'open', 'half-open', 'isolated', …). */
export interface BreakerSource {
  readonly name: string;
  readonly state: string;
}
/** Called at every check: the breakers to weigh. Structural, so any breaker registry fits. */
export type BreakerProvider = () => Iterable<BreakerSource>;

export interface HealthThresholds {
  /** Success rate at or above which a processor is HEALTHY. @default 0.95 */
  healthy?: number;
  /** Success rate at or above which a processor is DEGRADED (below: UNHEALTHY). @default 0.8 */
  degraded?: number;
}

export type HealthWindow =
  /** The last `calls` outcomes. */
  | { calls: number }
  /** Outcomes of the last `ms` milliseconds: the latest `maxCalls` of them (default 1000) when there are more. */
  | { ms: number; maxCalls?: number };

export interface HealthMonitorOptions {
  /** The sliding window a success rate is computed over. @default { calls: 100 } */
  window?: HealthWindow;
  thresholds?: HealthThresholds;
  /** Checks kept by `history()`. @default 100 */
  historySize?: number;
  /** Most distinct processors tracked. @default 1000 */
  maxProcessors?: number;
  /** Dependency breakers: an open one makes the system DEGRADED. */
  breakers?: BreakerProvider;
  clock?: Clock;
}

const zRate = z.number().min(0).max(1);
const zOptions = z
  .object({
    window: z
      .union([
        z.object({ calls: zPositiveInt.max(100_000) }).strict(),
        z
          .object({ ms: zPositiveInt.max(7 * 86_400_000), maxCalls: zPositiveInt.max(1_000_000).optional() })
          .strict(),
      ])
      .optional(),
    thresholds: z
      .object({ healthy: zRate.optional(), degraded: zRate.optional() })
      .strict()
      .refine((t) => (t.healthy ?? 0.95) >= (t.degraded ?? 0.8), 'healthy must be at least degraded')
      .optional(),
    historySize: zPositiveInt.max(100_000).optional(),
    maxProcessors: zPositiveInt.max(100_000).optional(),
    breakers: z.custom<BreakerProvider>((f) => typeof f === 'function', 'expected a function').optional(),
    clock: z.custom<Clock>((c) => typeof (c as Clock)?.now === 'function', 'expected a clock').optional(),
  })
  .strict();

const zName = z.string().min(1).max(200);
/** Rates within this of a threshold count as reaching it (19/20 must be exactly 95%). */
const EPSILON = 1e-9;
const MAX_ERROR_CHARS = 500;

export interface ProcessorHealth {
  name: string;
  status: HealthStatus;
  /** The sliding window: calls, successes, failures, success rate, average and p95 time in ms. */
  window: WindowStats;
  totals: { calls: number; successes: number; failures: number };
  /**
   * Warnings recorded since start (or `reset()`): things that went wrong without failing a call,
   * such as a snoozed attempt or a lost lease of a watched worker, or `warn()` calls.
   */
  warnings: number;
  lastWarning: string | null;
  /** Epoch ms (monitor clock) of the last warning; null if none yet. */
  lastWarningAt: number | null;
  /** Epoch ms (monitor clock) of the last success / failure; null if none yet. */
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
}

export interface BreakerHealth {
  name: string;
  /** Normalized: lower case, `_` between words ('half-open' → 'half_open'). */
  state: string;
  status: HealthStatus;
}

export interface QueueHealth {
  name: string;
  paused: boolean;
  pauseReason: string | null;
  /** UNHEALTHY when paused by an auth failure; UNKNOWN when its status could not be read. */
  status: HealthStatus;
}

export interface SystemHealth {
  status: HealthStatus;
  /** Epoch ms (monitor clock). */
  checkedAt: number;
  /** Successes over calls in every processor's window together; null without calls. */
  successRate: number | null;
  /** Warnings of every processor together (each processor has its own count). */
  warnings: number;
  /** Processors by status. */
  counts: Record<HealthStatus, number>;
  processors: ProcessorHealth[];
  /** Names of UNHEALTHY and DEGRADED processors. */
  unhealthy: string[];
  degraded: string[];
  breakers: BreakerHealth[];
  queues: QueueHealth[];
  /** Why the status is what it is, one line per cause. */
  reasons: string[];
}

/** One entry of the check history. */
export interface HealthCheckRecord {
  checkedAt: number;
  status: HealthStatus;
  successRate: number | null;
  counts: Record<HealthStatus, number>;
  unhealthy: string[];
  degraded: string[];
  reasons: string[];
}

/** A queue paused by bulwark because of an auth failure has a reason starting with `auth:`. */
export function isAuthPause(reason: string | null | undefined): boolean {
  return typeof reason === 'string' && reason.startsWith('auth:');
}

const OPEN_STATES = new Set(['open', 'isolated', 'forced_open']);

/** 'half-open', 'halfOpen', 'HALF_OPEN' → 'half_open'. */
export function normalizeBreakerState(state: unknown): string {
  return String(state)
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function text(error: unknown): string {
  const text =
    error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
  return (text ?? String(error)).slice(0, MAX_ERROR_CHARS);
}

const emptyCounts = (): Record<HealthStatus, number> => ({
  HEALTHY: 0,
  DEGRADED: 0,
  UNHEALTHY: 0,
  UNKNOWN: 0,
});

/** A status that changed between two `check()`s: of one processor, or of the whole system. */
export interface HealthTransition {
  /** The processor's name, or null for the system status. */
  processor: string | null;
  from: HealthStatus;
  to: HealthStatus;
  checkedAt: number;
  reasons: string[];
}

export interface HealthMonitorEvents {
  transition: HealthTransition;
}

/** Health of one processor (a queue's handler, or a pipeline stage). Record into it on the hot path. */
export class ProcessorMonitor {
  private calls = 0;
  private successes = 0;
  private lastSuccessAt: number | null = null;
  private lastFailureAt: number | null = null;
  private lastError: string | null = null;
  private warnings = 0;
  private lastWarning: string | null = null;
  private lastWarningAt: number | null = null;

  /** @internal */
  constructor(
    readonly name: string,
    private readonly window: OutcomeWindow,
    private readonly clock: Clock,
    private readonly statusOf: (rate: number | null) => HealthStatus,
  ) {}

  success(durationMs: number): void {
    const now = this.clock.now();
    this.calls++;
    this.successes++;
    this.lastSuccessAt = now;
    this.window.push(true, durationMs, now);
  }

  failure(durationMs: number, error?: unknown): void {
    const now = this.clock.now();
    this.calls++;
    this.lastFailureAt = now;
    if (error !== undefined) this.lastError = text(error);
    this.window.push(false, durationMs, now);
  }

  /** Records a warning: something went wrong without failing a call (it does not move the status). */
  warning(message?: unknown): void {
    this.warnings++;
    this.lastWarningAt = this.clock.now();
    if (message !== undefined) this.lastWarning = text(message);
  }

  health(): ProcessorHealth {
    const window = this.window.stats(this.clock.now());
    return {
      name: this.name,
      status: this.statusOf(window.successRate),
      window,
      totals: { calls: this.calls, successes: this.successes, failures: this.calls - this.successes },
      warnings: this.warnings,
      lastWarning: this.lastWarning,
      lastWarningAt: this.lastWarningAt,
      lastSuccessAt: this.lastSuccessAt,
      lastFailureAt: this.lastFailureAt,
      lastError: this.lastError,
    };
  }

  /** Forgets the window, the totals and the warnings. */
  reset(): void {
    this.window.clear();
    this.calls = this.successes = this.warnings = 0;
    this.lastSuccessAt = this.lastFailureAt = this.lastWarningAt = null;
    this.lastError = this.lastWarning = null;
  }
}

interface TrackedQueue {
  paused: boolean;
  pauseReason: string | null;
  readable: boolean;
  /** Where to read the status from at each check; absent for queues known only by events. */
  source: Pick<Queue, 'status'> | undefined;
  watchers: number;
}

type WatchedWorker = Pick<Worker, 'on' | 'queue'>;

/**
 * Tracks processors, breakers and queues; `snapshot()` evaluates them now, `check()` also reads
 * the queues' pause state from the store and records the result in the history.
 */
export class HealthMonitor {
  private readonly clock: Clock;
  private readonly healthyRate: number;
  private readonly degradedRate: number;
  private readonly windowCalls: number;
  private readonly windowMs: number | undefined;
  private readonly historySize: number;
  private readonly maxProcessors: number;
  private readonly breakers: BreakerProvider | undefined;
  private readonly processors = new Map<string, ProcessorMonitor>();
  private readonly queues = new Map<string, TrackedQueue>();
  private readonly records: HealthCheckRecord[] = [];
  private readonly events = new TypedEmitter<HealthMonitorEvents>();
  /** Statuses at the last check, to tell transitions (null key: the system). */
  private readonly lastStatuses = new Map<string | null, HealthStatus>();

  constructor(options: HealthMonitorOptions = {}) {
    const o = parseOptions(zOptions, options, 'health monitor options');
    this.clock = o.clock ?? systemClock;
    this.healthyRate = o.thresholds?.healthy ?? 0.95;
    this.degradedRate = o.thresholds?.degraded ?? 0.8;
    const w = o.window ?? { calls: 100 };
    if ('calls' in w) {
      this.windowCalls = w.calls;
    } else {
      this.windowMs = w.ms;
      this.windowCalls = w.maxCalls ?? 1000;
    }
    this.historySize = o.historySize ?? 100;
    this.maxProcessors = o.maxProcessors ?? 1000;
    this.breakers = o.breakers;
  }

  /** The status a success rate maps to under this monitor's thresholds. */
  statusOf = (rate: number | null): HealthStatus => {
    if (rate === null) return 'UNKNOWN';
    if (rate + EPSILON >= this.healthyRate) return 'HEALTHY';
    if (rate + EPSILON >= this.degradedRate) return 'DEGRADED';
    return 'UNHEALTHY';
  };

  /** The processor of this name, created on first use. */
  processor(name: string): ProcessorMonitor {
    let p = this.processors.get(name);
    if (p) return p;
    parseOptions(zName, name, 'processor name');
    if (this.processors.size >= this.maxProcessors) {
      throw new ValidationError(
        `[bulwark] [health] too many processors (maxProcessors ${this.maxProcessors}); not tracking ${JSON.stringify(name)}`,
        { path: 'processor name' },
      );
    }
    p = new ProcessorMonitor(
      name,
      new OutcomeWindow(this.windowCalls, this.windowMs),
      this.clock,
      this.statusOf,
    );
    this.processors.set(name, p);
    return p;
  }

  /**
   * Subscribes to status changes, seen at each `check()` (a processor's or the system's; a
   * processor's first check is a change from UNKNOWN). Returns a disposer.
   */
  on<K extends keyof HealthMonitorEvents>(event: K, listener: Listener<HealthMonitorEvents[K]>): Disposer {
    return this.events.on(event, listener);
  }

  /** Records a warning for processor `name` (created on first use). */
  warn(name: string, message?: unknown): void {
    this.processor(name).warning(message);
  }

  /** Records one call of `name`. */
  record(name: string, outcome: { ok: boolean; durationMs: number; error?: unknown }): void {
    if (typeof outcome !== 'object' || outcome === null || !Number.isFinite(outcome.durationMs)) {
      throw new ValidationError('[bulwark] [health] record expects { ok, durationMs, error? }', {
        path: 'outcome',
      });
    }
    const p = this.processor(name);
    if (outcome.ok) p.success(outcome.durationMs);
    else p.failure(outcome.durationMs, outcome.error);
  }

  /** Runs `fn` and records its outcome and time under `name` (for stage handlers and other calls). */
  async track<R>(name: string, fn: () => Promise<R> | R): Promise<R> {
    const p = this.processor(name);
    const t0 = this.clock.now();
    try {
      const r = await fn();
      p.success(this.clock.now() - t0);
      return r;
    } catch (e) {
      p.failure(this.clock.now() - t0, e);
      throw e;
    }
  }

  /**
   * Follows a worker: completed jobs are successes, retried and dead-lettered ones failures; snoozes
   * (no attempt was judged) and lost leases are warnings. Its queue's auth pauses make the system UNHEALTHY until the
   * queue is resumed (seen through the worker's Queue object, or read from the store by `check()`).
   */
  watch(worker: WatchedWorker, options: { name?: string } = {}): Disposer {
    if (typeof worker !== 'object' || worker === null || typeof worker.on !== 'function' || !worker.queue) {
      throw new ValidationError('[bulwark] [health] watch expects a Worker', { path: 'worker' });
    }
    const name =
      options.name === undefined ? worker.queue.name : parseOptions(zName, options.name, 'processor name');
    const p = this.processor(name);
    const clock = worker.queue.clock;
    const elapsed = (startedAt: number | null): number =>
      startedAt === null ? 0 : Math.max(0, clock.now() - startedAt);
    const offQueue = this.watchQueue(worker.queue);
    const offs = [
      worker.on('job:completed', (e) => p.success(e.durationMs)),
      worker.on('job:retrying', (e) => p.failure(elapsed(e.job.startedAt), e.error)),
      worker.on('job:dead', (e) => p.failure(elapsed(e.job.startedAt), e.error)),
      worker.on('job:snoozed', (e) => p.warning(`snoozed (${e.category}): ${e.error.message}`)),
      worker.on('job:stale', (e) => p.warning(`job ${e.job.id} lost its lease`)),
      worker.on('queue:paused', (e) => this.setPaused(e.queue, true, e.reason)),
      worker.queue.on('queue:paused', (e) => this.setPaused(e.queue, true, e.reason)),
      worker.queue.on('queue:resumed', (e) => this.setPaused(e.queue, false, null)),
    ];
    return once(() => {
      for (const off of offs) off();
      offQueue();
    });
  }

  /** Follows a queue's pause and resume events, and reads its status at each `check()`. */
  watchQueue(queue: Pick<Queue, 'on' | 'name' | 'status'>): Disposer {
    if (typeof queue !== 'object' || queue === null || typeof queue.on !== 'function') {
      throw new ValidationError('[bulwark] [health] watchQueue expects a Queue', { path: 'queue' });
    }
    const offQueue = this.trackQueue(queue.name, queue);
    const offs = [
      queue.on('queue:paused', (e) => this.setPaused(e.queue, true, e.reason)),
      queue.on('queue:resumed', (e) => this.setPaused(e.queue, false, null)),
    ];
    return once(() => {
      for (const off of offs) off();
      offQueue();
    });
  }

  private trackQueue(name: string, source: Pick<Queue, 'status'>): Disposer {
    let q = this.queues.get(name);
    if (!q) {
      q = { paused: false, pauseReason: null, readable: true, source, watchers: 0 };
      this.queues.set(name, q);
    }
    q.watchers++;
    const tracked = q;
    return () => {
      if (--tracked.watchers === 0 && this.queues.get(name) === tracked) this.queues.delete(name);
    };
  }

  /** Tells the monitor a queue was paused or resumed (for queues it learns about by other means). */
  setPaused(queue: string, paused: boolean, reason: string | null = null): void {
    let q = this.queues.get(queue);
    if (!q) {
      q = { paused, pauseReason: reason, readable: true, source: undefined, watchers: 0 };
      this.queues.set(queue, q);
    }
    q.paused = paused;
    q.pauseReason = paused ? reason : null;
  }

  /** The health of every processor, breaker and queue as of now (queues as last known). */
  snapshot(): SystemHealth {
    const processors = [...this.processors.values()].map((p) => p.health());
    let calls = 0;
    let successes = 0;
    let warnings = 0;
    for (const p of processors) {
      calls += p.window.calls;
      successes += p.window.successes;
      warnings += p.warnings;
    }
    const counts = emptyCounts();
    const unhealthy: string[] = [];
    const degraded: string[] = [];
    const reasons: string[] = [];
    for (const p of processors) {
      counts[p.status]++;
      if (p.status === 'UNHEALTHY' || p.status === 'DEGRADED') {
        (p.status === 'UNHEALTHY' ? unhealthy : degraded).push(p.name);
        reasons.push(
          `processor ${p.name} is ${p.status}: ${pct(p.window.successRate)} success over the last ${p.window.calls} calls` +
            (p.lastError === null ? '' : ` (last error: ${p.lastError})`),
        );
      }
    }
    const breakers = this.readBreakers(reasons);
    const queues: QueueHealth[] = [];
    for (const [name, q] of this.queues) {
      const authPaused = q.paused && isAuthPause(q.pauseReason);
      const status: HealthStatus = authPaused ? 'UNHEALTHY' : q.readable ? 'HEALTHY' : 'UNKNOWN';
      queues.push({ name, paused: q.paused, pauseReason: q.pauseReason, status });
      if (authPaused) reasons.push(`queue ${name} is paused by an auth failure: ${q.pauseReason}`);
    }

    let status: HealthStatus;
    if (unhealthy.length > 0 || queues.some((q) => q.status === 'UNHEALTHY')) status = 'UNHEALTHY';
    else if (degraded.length > 0 || breakers.some((b) => b.status === 'DEGRADED')) status = 'DEGRADED';
    else if (counts.HEALTHY > 0 || breakers.length > 0) status = 'HEALTHY';
    else status = 'UNKNOWN';

    return {
      status,
      checkedAt: this.clock.now(),
      successRate: calls === 0 ? null : successes / calls,
      warnings,
      counts,
      processors,
      unhealthy,
      degraded,
      breakers,
      queues,
      reasons,
    };
  }

  private readBreakers(reasons: string[]): BreakerHealth[] {
    if (!this.breakers) return [];
    const out: BreakerHealth[] = [];
    try {
      for (const b of this.breakers()) {
        const state = normalizeBreakerState(b.state);
        const open = OPEN_STATES.has(state);
        out.push({ name: String(b.name), state, status: open ? 'DEGRADED' : 'HEALTHY' });
        if (open) reasons.push(`breaker ${b.name} is ${state}`);
      }
    } catch (e) {
      reasons.push(`breakers could not be read: ${text(e)}`);
    }
    return out;
  }

  /** Reads each watched queue's pause state from its store, evaluates, and records the result. */
  async check(): Promise<SystemHealth> {
    await Promise.all(
      [...this.queues.values()].map(async (q) => {
        if (!q.source) return;
        try {
          const s = await q.source.status();
          q.paused = s.paused;
          q.pauseReason = s.pauseReason;
          q.readable = true;
        } catch {
          q.readable = false;
        }
      }),
    );
    const h = this.snapshot();
    this.transitions(h);
    this.records.push({
      checkedAt: h.checkedAt,
      status: h.status,
      successRate: h.successRate,
      counts: h.counts,
      unhealthy: h.unhealthy,
      degraded: h.degraded,
      reasons: h.reasons,
    });
    if (this.records.length > this.historySize)
      this.records.splice(0, this.records.length - this.historySize);
    return h;
  }

  private transitions(h: SystemHealth): void {
    const changed = (key: string | null, to: HealthStatus): HealthStatus | undefined => {
      const from = this.lastStatuses.get(key) ?? 'UNKNOWN';
      this.lastStatuses.set(key, to);
      return from === to ? undefined : from;
    };
    const emit = this.events.has('transition');
    for (const p of h.processors) {
      const from = changed(p.name, p.status);
      if (from !== undefined && emit) {
        const reasons = h.reasons.filter((r) => r.startsWith(`processor ${p.name} `));
        this.events.emit('transition', {
          processor: p.name,
          from,
          to: p.status,
          checkedAt: h.checkedAt,
          reasons,
        });
      }
    }
    const from = changed(null, h.status);
    if (from !== undefined && emit) {
      this.events.emit('transition', {
        processor: null,
        from,
        to: h.status,
        checkedAt: h.checkedAt,
        reasons: h.reasons,
      });
    }
  }

  /** Past checks, oldest first (at most `historySize`). */
  history(): HealthCheckRecord[] {
    return this.records.slice();
  }

  /** The current health (from `snapshot()`) as readable text or as JSON. */
  report(format: 'text' | 'json' = 'text'): string {
    if (format !== 'text' && format !== 'json') {
      throw new ValidationError(`[bulwark] [health] unknown report format ${JSON.stringify(format)}`, {
        path: 'format',
      });
    }
    const h = this.snapshot();
    return format === 'json' ? JSON.stringify(h) : formatHealth(h);
  }
}

function pct(rate: number | null): string {
  return rate === null ? 'n/a' : `${(rate * 100).toFixed(1)}%`;
}

const ms = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(1)} ms`);
const time = (t: number | null): string => (t === null ? 'never' : new Date(t).toISOString());

/** A system health report as lines of text. */
export function formatHealth(h: SystemHealth): string {
  const c = h.counts;
  const lines = [
    `system: ${h.status} at ${time(h.checkedAt)} — ${pct(h.successRate)} success, ${h.warnings} warnings — processors: ${c.HEALTHY} healthy, ${c.DEGRADED} degraded, ${c.UNHEALTHY} unhealthy, ${c.UNKNOWN} unknown`,
  ];
  for (const p of h.processors) {
    const w = p.window;
    lines.push(
      `  processor ${p.name}: ${p.status}, ${pct(w.successRate)} of ${w.calls} calls (${w.failures} failed), avg ${ms(w.avgMs)}, p95 ${ms(w.p95Ms)}; ` +
        `total ${p.totals.calls} (${p.totals.failures} failed); last success ${time(p.lastSuccessAt)}, last failure ${time(p.lastFailureAt)}` +
        (p.lastError === null ? '' : `: ${p.lastError}`) +
        `; ${p.warnings} warnings` +
        (p.lastWarning === null ? '' : ` (last: ${p.lastWarning})`),
    );
  }
  for (const b of h.breakers) lines.push(`  breaker ${b.name}: ${b.state} (${b.status})`);
  for (const q of h.queues) {
    lines.push(
      `  queue ${q.name}: ${q.paused ? `paused (${q.pauseReason ?? 'no reason'})` : 'running'} (${q.status})`,
    );
  }
  if (h.reasons.length > 0) lines.push('  because:', ...h.reasons.map((r) => `    - ${r}`));
  return lines.join('\n');
}

function once(fn: () => void): Disposer {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
