/** The worker's options and events: the shape users configure and listen to. */
import { z } from 'zod';
import { ValidationError, type ErrorCategory } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/logger.js';
import { zPositiveInt, zText } from '../../kernel/validate.js';
import type { FailureAction, RetentionRule } from '../../store/types.js';
import type { Job } from '../job.js';
import { zRetention, type QueueEvents } from '../queue.js';
import type { AdaptiveLimiterOptions } from '../../resilience/adaptive-limiter.js';
import type { DependencyGate, DependencySource, JobContext } from './context.js';
import { zFateOptions, type FateOptions } from './fate.js';

export type { DependencyGate, DependencySource };

export type Handler<T = unknown, R = unknown> = (ctx: JobContext<T>) => Promise<R> | R;

/** An adaptive concurrency limit for a worker: `max` is required (the most jobs at once). */
export type AdaptiveConcurrency = Omit<AdaptiveLimiterOptions, 'max' | 'name'> & { max: number };

/** A failure as the worker reports it to analytics. */
export interface FailureRecord {
  queue: string;
  dependency?: string;
  category: ErrorCategory;
  error: unknown;
  at: number;
}

/** Where a worker records every failure; a resilience `ErrorAnalytics` is one. */
export interface FailureRecorder {
  record(failure: FailureRecord): unknown;
}

export interface WorkerOptions extends FateOptions {
  /**
   * Jobs run at once by this worker: a number, or `{ adaptive: { min, max, … } }` for a limit found
   * from the jobs' latency and congestion errors (`resource`, `dependency`, timeouts), between min and
   * max (see `adaptiveLimiter` in bulwark/resilience for every option). @default 1
   */
  concurrency?: number | { adaptive: AdaptiveConcurrency };
  /** Most jobs taken in one claim. @default 1000 */
  batchSize?: number;
  /**
   * Jobs claimed ahead of a free slot and held in a local buffer (leased and heartbeated), so that
   * short jobs do not wait a round trip each. `'auto'` holds about 100 ms of work at the handlers'
   * measured pace (up to 1000 jobs); 0 claims only for free slots. @default 'auto'
   */
  prefetch?: number | 'auto';
  /**
   * A buffered job that has not started within this many ms goes back to the queue, its attempt
   * untouched: the most a job of higher priority added meanwhile can be held up. @default 2000
   */
  prefetchMaxWaitMs?: number;
  /** How long a claim is valid without a heartbeat, in ms. @default 30000 */
  leaseMs?: number;
  /** How often leases are extended, in ms. @default leaseMs / 3 */
  heartbeatMs?: number;
  /** Idle poll, the fallback when no wake-up arrives (other processes, lost notifications). @default 1000 */
  pollIntervalMs?: number;
  /** How often expired leases of this queue are recovered, in ms. @default leaseMs / 2 */
  reapIntervalMs?: number;
  /** On close, how long running jobs may finish before their signals abort, in ms. @default 10000 */
  shutdownGraceMs?: number;
  /**
   * On close, how long writing the outcomes may take after the grace period (a store that is down is
   * retried until then; jobs whose outcome could not be written are recovered after their lease).
   * @default 3000
   */
  settleTimeoutMs?: number;
  /**
   * A handler still running this long after its signal aborted (timeout, lost lease, shutdown) is
   * reported as a zombie (`job:zombie`, a warning). It keeps its slot until it returns. @default 5000
   */
  zombieAfterMs?: number;
  /**
   * Retention applied every `cleanupIntervalMs`; false to keep everything.
   * @default completed and cancelled: 1 day, 10,000 jobs; dead: 14 days, 100,000 jobs
   */
  retention?: readonly RetentionRule[] | false;
  /** @default 60000 */
  cleanupIntervalMs?: number;
  /** @default `${hostname}:${pid}:${random}` */
  workerId?: string;
  logger?: Logger;
  /** Start claiming at once. @default true */
  autostart?: boolean;
  /** Source of randomness for jitter (tests). @default Math.random */
  random?: () => number;
  /**
   * Names of the dependencies (in `registry`) the handler calls. While any of them refuses calls (its
   * breaker is open), the worker claims nothing; it resumes when the breaker may half-open.
   */
  dependencies?: readonly string[];
  /** The dependencies' registry; `ctx.dependency(name)` looks names up in it. */
  registry?: DependencySource;
  /** Records every failed attempt (category, pattern, dependency) for error analytics. */
  analytics?: FailureRecorder;
  /** The pipeline stage this worker runs, carried on every log line and in the job scope. */
  stage?: string;
  /** Fire the queue's cron schedules while running (every worker may; each tick adds one job). @default true */
  schedules?: boolean;
}

/**
 * Looks up the declared dependencies in the registry once, so an unknown name is a ValidationError
 * when the options are given, not when a job first runs.
 */
export function dependencyGates(options: WorkerOptions): { name: string; gate: DependencyGate }[] {
  return (options.dependencies ?? []).map((name) => {
    try {
      return { name, gate: options.registry!.get(name) };
    } catch (e) {
      throw new ValidationError(`[bulwark] worker options.dependencies: '${name}' is not in the registry`, {
        path: 'dependencies',
        cause: e,
      });
    }
  });
}

export const DEFAULT_RETENTION: readonly RetentionRule[] = [
  { state: 'completed', maxAgeMs: 86_400_000, maxCount: 10_000 },
  { state: 'cancelled', maxAgeMs: 86_400_000, maxCount: 10_000 },
  { state: 'dead', maxAgeMs: 14 * 86_400_000, maxCount: 100_000 },
];

export const zWorkerOptions = zFateOptions
  .extend({
    concurrency: z
      .union([
        zPositiveInt.max(10_000),
        z
          .object({
            adaptive: z
              .object({ min: zPositiveInt.max(10_000).optional(), max: zPositiveInt.max(10_000) })
              .passthrough(),
          })
          .strict(),
      ])
      .optional(),
    batchSize: zPositiveInt.max(10_000).optional(),
    prefetch: z.union([z.literal('auto'), z.number().int().min(0).max(10_000)]).optional(),
    prefetchMaxWaitMs: zPositiveInt.min(10).max(3_600_000).optional(),
    leaseMs: zPositiveInt.min(50).max(86_400_000).optional(),
    heartbeatMs: zPositiveInt.optional(),
    pollIntervalMs: zPositiveInt.max(3_600_000).optional(),
    reapIntervalMs: zPositiveInt.optional(),
    shutdownGraceMs: z.number().int().nonnegative().max(86_400_000).optional(),
    settleTimeoutMs: z.number().int().nonnegative().max(3_600_000).optional(),
    zombieAfterMs: zPositiveInt.max(86_400_000).optional(),
    retention: z.union([z.literal(false), zRetention]).optional(),
    cleanupIntervalMs: zPositiveInt.optional(),
    workerId: zText.min(1).max(200).optional(),
    logger: z
      .custom<Logger>((l) => typeof (l as Logger)?.child === 'function', 'expected a logger')
      .optional(),
    autostart: z.boolean().optional(),
    random: z.custom<() => number>((f) => typeof f === 'function').optional(),
    dependencies: z.array(zText.min(1).max(200)).max(100).optional(),
    stage: zText.min(1).max(200).optional(),
    schedules: z.boolean().optional(),
    registry: z
      .custom<DependencySource>(
        (r) => typeof (r as DependencySource)?.get === 'function',
        'expected a registry with get(name)',
      )
      .optional(),
    analytics: z
      .custom<FailureRecorder>(
        (a) => typeof (a as FailureRecorder)?.record === 'function',
        'expected an analytics recorder with record(failure)',
      )
      .optional(),
  })
  .strict()
  .refine((o) => o.heartbeatMs === undefined || o.heartbeatMs < (o.leaseMs ?? 30_000), {
    message: 'heartbeatMs must be shorter than leaseMs',
    path: ['heartbeatMs'],
  })
  .refine((o) => o.prefetchMaxWaitMs === undefined || o.prefetchMaxWaitMs < (o.leaseMs ?? 30_000), {
    message: 'prefetchMaxWaitMs must be shorter than leaseMs',
    path: ['prefetchMaxWaitMs'],
  })
  .refine((o) => !o.dependencies?.length || o.registry !== undefined, {
    message: 'dependencies need a registry to look them up in',
    path: ['registry'],
  });

export interface FailureInfo {
  job: Job;
  error: Error;
  category: ErrorCategory;
  delayMs: number;
  /** The table's action for the category. */
  action: FailureAction;
}

/** What `worker.close()` left behind. */
export interface CloseResult {
  /** Handlers that ignored their abort and were still running (each still holds its slot). */
  zombies: number;
  /** Outcomes that could not be written before `settleTimeoutMs` (those jobs are reaped after their lease). */
  unwritten: number;
}

/** The events a worker emits itself. */
export interface WorkerOwnEvents {
  'job:active': { job: Job };
  'job:completed': { job: Job; result: unknown; durationMs: number };
  'job:retrying': FailureInfo;
  'job:snoozed': FailureInfo;
  'job:dead': FailureInfo & { reason: string };
  /** The store refused this attempt's outcome: its lease was lost (expired, cancelled, taken over). */
  'job:stale': { job: Job };
  'job:progress': { job: Job; progress: unknown };
  'job:stalled': { queue: string; requeued: string[]; dead: string[] };
  /**
   * A handler ignores its abort: still running `sinceAbortMs` after its signal fired. Its outcome is
   * already settled (the job was retried or given back); it holds its slot until it returns.
   */
  'job:zombie': { job: Job; cause: 'timeout' | 'lease_lost' | 'shutdown'; sinceAbortMs: number };
  'worker:error': { error: Error; during: string };
  /** A dependency refuses calls (breaker open): the worker stops claiming for about `forMs`. */
  'worker:blocked': { dependency: string; forMs: number };
  /** The dependencies take calls again: claiming resumes. */
  'worker:unblocked': { blockedMs: number };
  'worker:stopping': { reason: string };
  'worker:closed': { workerId: string } & CloseResult;
}

/**
 * What `worker.on()` offers: the worker's own events, and its queue's `queue:*` events (emitted once,
 * by the Queue object, whoever paused or throttled it: a listener on either sees each event once).
 */
export type WorkerEvents = WorkerOwnEvents & QueueEvents;
