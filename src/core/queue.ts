import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../kernel/clock.js';
import { systemClock } from '../kernel/clock.js';
import { NotFoundError, StateError, ValidationError } from '../kernel/errors.js';
import { uuidv7 } from '../kernel/id.js';
import { jobTracer, type JobTracer } from '../kernel/trace.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { freshJob, toJob, type Job } from './job.js';
import { currentJob } from '../kernel/logger.js';
import {
  parseOptions,
  readOptions,
  toJsonText,
  zNonNegativeInt,
  zJsonRecord,
  zPositiveInt,
  zQueueName,
  zText,
} from '../kernel/validate.js';
import { ensureInit, signalLocalReady } from './wake.js';
import { mergeBackoff, type BackoffOptions } from '../resilience/backoff.js';
import {
  dependencyOrder,
  outcomeOf,
  refuseCombination,
  withFeatures,
  zDeadDependency,
  zDependsOn,
  zUnique,
  type UniqueOptions,
} from './add-features.js';
import { groupLimits, zGroupName, zGroups, type GroupsOptions } from './groups.js';
import {
  dueTicks,
  loadSchedule,
  nextTick,
  scheduleInfo,
  scheduleSpec,
  tickJobId,
  zScheduleKey,
  type ScheduleInfo,
  type ScheduleOptions,
} from './schedule.js';
import type {
  AddContext,
  AddResult,
  FinalState,
  JobState,
  ListFilter,
  NewJob,
  QueueStatus,
  RetentionRule,
  StateCounts,
  Store,
  StoredJob,
  DeadDependency,
  GroupLimits,
  GroupStatus,
} from '../store/types.js';
import { FINAL_STATES, JOB_STATES, requireCapability } from '../store/types.js';

const zBackoff = z
  .object({
    type: z.enum(['constant', 'linear', 'exponential']).optional(),
    delayMs: zNonNegativeInt.max(365 * 86_400_000).optional(),
    maxDelayMs: zNonNegativeInt.max(365 * 86_400_000).optional(),
    factor: z.number().min(1).max(100).optional(),
    jitter: z.enum(['none', 'full', 'equal', 'decorrelated']).optional(),
  })
  .strict();

const zJobDefaults = z
  .object({
    priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
    maxAttempts: zPositiveInt.max(10_000).optional(),
    backoff: zBackoff.optional(),
    timeoutMs: zPositiveInt
      .max(7 * 86_400_000)
      .nullable()
      .optional(),
  })
  .strict();

/**
 * The latest run time a job may have: the end of year 9999. Every store keeps run times up to it in
 * claim order (Redis orders ready jobs by a 48-bit run time, which ends in year 10889).
 */
const MAX_RUN_AT = 253_402_300_799_999;

const zAddOptions = zJobDefaults
  .extend({
    id: zText.min(1).max(512).optional(),
    name: zText.min(1).max(200).optional(),
    delayMs: zNonNegativeInt.max(10 * 365 * 86_400_000).optional(),
    runAt: z
      .union([z.date(), zNonNegativeInt])
      .refine(
        (at) => (at instanceof Date ? at.getTime() : at) <= MAX_RUN_AT,
        'must be no later than 9999-12-31',
      )
      .optional(),
    correlationId: zText.min(1).max(200).optional(),
    metadata: zJsonRecord.optional(),
    unique: zUnique.optional(),
    dependsOn: zDependsOn.optional(),
    group: zGroupName.optional(),
    onDependencyDead: zDeadDependency.optional(),
  })
  .strict()
  .refine((o) => o.delayMs === undefined || o.runAt === undefined, 'give delayMs or runAt, not both')
  .superRefine((o, ctx) => {
    const refused = refuseCombination(o);
    if (refused) ctx.addIssue({ code: 'custom', ...refused });
  });

/** Options of one job. Unset fields take the queue's defaults. */
export interface AddOptions {
  /** Idempotency key: adding an id that exists returns the existing job. @default a new time-ordered UUID (v7) */
  id?: string;
  /** A label for dashboards and search. */
  name?: string;
  /** Higher runs first. @default 0 */
  priority?: number;
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /** Run no earlier than this time (Date or epoch ms), at the latest the end of year 9999. */
  runAt?: Date | number;
  /** Attempts before the job is dead-lettered. @default 3 */
  maxAttempts?: number;
  /** Backoff between retries. @default exponential from 1 s, full jitter, capped at 5 min */
  backoff?: BackoffOptions;
  /** Abort an attempt after this long, in ms; null for no limit. @default null */
  timeoutMs?: number | null;
  /** Ties log lines and jobs together; taken from the running job, if any. @default a random UUID */
  correlationId?: string;
  /** Free-form JSON data kept with the job. */
  metadata?: Record<string, unknown>;
  /**
   * One job per key: `drop` a new job while one with the key is unfinished, `debounce` (the waiting job
   * takes the new payload and runs `delayMs` after the last add) or `throttle` (one job per `windowMs`).
   * The returned job's `outcome` says which happened. See the README's table next to `id`.
   */
  unique?: UniqueOptions;
  /**
   * Flows: ids of jobs of this queue to wait for. The job is `blocked` until every one completed, then
   * runs (`ctx.dependencies()` reads their results). Jobs added earlier in the same `addBulk` count; an
   * unknown id, the job's own id or a cycle is a ValidationError and nothing is added.
   */
  dependsOn?: readonly string[];
  /** What a dead or cancelled dependency does to this job: `fail` it, `ignore` it, or `wait` for a replay. @default 'fail' */
  onDependencyDead?: DeadDependency;
  /**
   * Fair groups: the group (tenant) of the job. Workers of a queue with the `groups` option claim
   * fairly across groups and hold each group to its limits.
   */
  group?: string;
}

export type JobDefaults = Pick<AddOptions, 'priority' | 'maxAttempts' | 'backoff' | 'timeoutMs'>;

export interface QueueOptions {
  /** Where jobs live. */
  store: Store;
  /** Defaults for every job added to this queue. */
  defaults?: JobDefaults;
  /** Largest payload accepted, in bytes (UTF-8 JSON). @default 1048576 */
  maxPayloadBytes?: number;
  /**
   * At most `max` jobs started per `intervalMs` across every worker of this queue, in every process:
   * counted in the store. Give every Queue object of this name the same limit.
   */
  rateLimit?: { max: number; intervalMs: number };
  /**
   * Fair groups: claims are fair across the groups with ready work (jobs added with `group`), each
   * group held to `concurrency` and `rateLimit` (overridable per group), in every process. A rate-limit
   * error throttles the job's group only; an auth error pauses its group (see `onAuthError`). Give every
   * Queue object of this name the same option.
   */
  groups?: GroupsOptions;
  clock?: Clock;
}

const zQueueOptions = z
  .object({
    store: z.custom<Store>(
      (s) => typeof s === 'object' && s !== null && typeof (s as Store).claim === 'function',
      {
        message: 'expected a bulwark Store',
      },
    ),
    defaults: zJobDefaults.optional(),
    maxPayloadBytes: zPositiveInt.max(512 * 1024 * 1024).optional(),
    rateLimit: z
      .object({ max: zPositiveInt.max(1_000_000_000), intervalMs: zPositiveInt.max(86_400_000) })
      .strict()
      .optional(),
    clock: z.custom<Clock>((c) => typeof (c as Clock)?.now === 'function').optional(),
    groups: zGroups.optional(),
  })
  .strict();

/** A queue's events, each emitted once by the Queue object, whoever caused it (a user or a worker). */
export interface QueueEvents {
  'job:added': { queue: string; ids: string[] };
  /** Claiming stopped, by `pause()` or by a worker after an auth failure (once per pause, not per job). */
  'queue:paused': { queue: string; reason: string | null };
  'queue:resumed': { queue: string };
  /** No claims before `untilMs` (a rate limit's Retry-After window, or `throttle()`). */
  'queue:throttled': { queue: string; untilMs: number };
  /** One group stopped being claimed (by `pauseGroup`, or a worker after an auth error in the group). */
  'group:paused': { queue: string; group: string; reason: string | null };
  'group:resumed': { queue: string; group: string };
  /** No claims from the group before `untilMs` (a rate-limit error in the group, or `throttleGroup`). */
  'group:throttled': { queue: string; group: string; untilMs: number };
}

export interface BulkItem<T> {
  payload: T;
  options?: AddOptions;
}

const DEFAULT_MAX_ATTEMPTS = 3;
const zIds = z.array(zText.min(1).max(512)).max(100_000);
const zReason = zText.max(2000);
const zStates = z.array(z.enum(JOB_STATES as [JobState, ...JobState[]]));

/** A named queue on a store: add jobs, look at them, and operate on them. */
export class Queue<T = unknown, R = unknown> {
  readonly name: string;
  readonly store: Store;
  readonly clock: Clock;
  readonly maxPayloadBytes: number;
  readonly rateLimit: { max: number; intervalMs: number } | undefined;
  /** The `groups` option, as given (undefined: plain claims). */
  readonly groups: GroupsOptions | undefined;
  /** @internal What a claim of this queue's workers carries to the store. */
  readonly groupLimits: GroupLimits | undefined;
  private readonly defaults: JobDefaults;
  private readonly backoffText: string;
  private readonly emitter = new TypedEmitter<QueueEvents>();

  constructor(name: string, options: QueueOptions) {
    this.name = parseOptions(zQueueName, name, 'queue name');
    const o = parseOptions(zQueueOptions, options, 'queue options');
    this.store = o.store;
    this.clock = o.clock ?? systemClock;
    this.defaults = o.defaults ?? {};
    this.backoffText = JSON.stringify(mergeBackoff(this.defaults.backoff));
    this.rateLimit = o.rateLimit;
    this.groups = o.groups;
    this.groupLimits = o.groups ? groupLimits(o.groups) : undefined;
    this.maxPayloadBytes = Math.min(o.maxPayloadBytes ?? 1_048_576, this.store.maxPayloadBytes ?? Infinity);
  }

  on<K extends keyof QueueEvents>(event: K, listener: Listener<QueueEvents[K]>): Disposer {
    return this.emitter.on(event, listener);
  }

  /** Adds one job. An existing id returns the existing job unchanged. */
  async add(payload: T, options?: AddOptions, ctx?: AddContext): Promise<Job<T, R>> {
    const [job] = await this.addBulk([{ payload, options }], ctx);
    return job!;
  }

  /** Adds jobs atomically: all are validated first, then written in one operation. */
  async addBulk(items: readonly BulkItem<T>[], ctx?: AddContext): Promise<Job<T, R>[]> {
    if (!Array.isArray(items))
      throw new ValidationError('[bulwark] addBulk expects an array', { path: 'items' });
    if (ctx !== undefined) {
      if (typeof ctx !== 'object' || ctx === null)
        throw new ValidationError('[bulwark] the add context must be { tx? }', { path: 'ctx' });
      if (ctx.tx !== undefined) requireCapability(this.store, 'transactionalEnqueue', 'add(…, { tx })');
    }
    const now = this.clock.now();
    const scope = currentJob();
    const rows = items.map((item, i) => this.toNewJob(item, i, now, scope?.correlationId));
    await ensureInit(this.store);
    const tracer = jobTracer();
    const existing = tracer ? await this.tracedAdd(tracer, rows, ctx) : await this.addInOrder(rows, ctx);
    const jobs: Job<T, R>[] = [];
    const created: string[] = [];
    for (let i = 0; i < rows.length; i++) {
      const found = existing[i];
      const row = rows[i]!;
      let job: Job<T, R>;
      if (found) {
        job = toJob<T, R>(found, now);
      } else {
        created.push(row.id);
        job = freshJob<T, R>(row, items[i]!, now);
        // The store decides whether a job with dependencies starts blocked, ready or dead.
        if (row.dependsOn) await this.refresh(job, now);
      }
      const unique = items[i]!.options?.unique;
      // Plain adds skip the lookup: most jobs use no feature.
      job.outcome = unique === undefined && !found ? 'created' : outcomeOf(row, found ?? null, unique);
      jobs.push(job);
    }
    if (created.length > 0) {
      // Inside a caller's transaction the jobs are not visible yet: the store's own notify covers it.
      if (!ctx?.tx) signalLocalReady(this.store, this.name);
      this.emitter.emit('job:added', { queue: this.name, ids: created });
    }
    return jobs;
  }

  private async refresh(job: Job<T, R>, now: number): Promise<void> {
    const s = await this.store.getJob(this.name, job.id);
    if (!s) return;
    const stored = toJob<T, R>(s, now);
    job.state = stored.state;
    job.reason = stored.reason;
    job.finishedAt = stored.finishedAt;
    job.dependsOn = stored.dependsOn;
  }

  /** Adds rows, a job after the jobs of the same call it depends on; answers in the callers' order. */
  private async addInOrder(rows: NewJob[], ctx: AddContext | undefined): Promise<(StoredJob | null)[]> {
    const order = dependencyOrder(rows);
    if (!order) return this.store.add(rows, ctx);
    const answers = await this.store.add(
      order.map((i) => rows[i]!),
      ctx,
    );
    const out = new Array<StoredJob | null>(rows.length);
    order.forEach((i, k) => (out[i] = answers[k] ?? null));
    return out;
  }

  /** The add inside a producer span; every job carries the span's context in `metadata.traceparent`. */
  private async tracedAdd(
    tracer: JobTracer,
    rows: NewJob[],
    ctx: AddContext | undefined,
  ): Promise<AddResult[]> {
    const span = tracer.send(this.name, rows.length, rows[0]?.id ?? '');
    if (span.traceparent !== undefined) {
      // Last, so that it wins over a traceparent copied from another job's metadata (a pipeline's).
      const field = `"traceparent":${JSON.stringify(span.traceparent)}`;
      for (const row of rows) {
        row.metadata = row.metadata === '{}' ? `{${field}}` : `${row.metadata.slice(0, -1)},${field}}`;
      }
    }
    try {
      const out = await span.within(() => this.addInOrder(rows, ctx));
      span.end();
      return out;
    } catch (e) {
      span.end(e);
      throw e;
    }
  }

  private toNewJob(item: BulkItem<T>, index: number, now: number, inherited: string | undefined): NewJob {
    if (typeof item !== 'object' || item === null) {
      throw new ValidationError(`[bulwark] item ${index} must be { payload, options? }`, {
        path: `items[${index}]`,
      });
    }
    const o = item.options === undefined ? {} : parseOptions(zAddOptions, item.options, `job options`);
    const payload = toJsonText(item.payload, 'payload', this.maxPayloadBytes);
    const metadata =
      o.metadata === undefined ? '{}' : toJsonText(o.metadata, 'options.metadata', this.maxPayloadBytes);
    const d = this.defaults;
    const runAt =
      o.runAt !== undefined
        ? o.runAt instanceof Date
          ? o.runAt.getTime()
          : o.runAt
        : now + (o.delayMs ?? 0);
    const row: NewJob = {
      queue: this.name,
      id: o.id ?? uuidv7(now),
      name: o.name ?? null,
      payload,
      priority: o.priority ?? d.priority ?? 0,
      runAt,
      maxAttempts: o.maxAttempts ?? d.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      backoff: o.backoff ? JSON.stringify(mergeBackoff({ ...d.backoff, ...o.backoff })) : this.backoffText,
      timeoutMs: (o.timeoutMs !== undefined ? o.timeoutMs : d.timeoutMs) ?? null,
      correlationId: o.correlationId ?? inherited ?? randomUUID(),
      metadata,
      createdAt: now,
    };
    if (o.group !== undefined) row.group = o.group;
    return o.unique === undefined && o.dependsOn === undefined ? row : withFeatures(row, o, now);
  }

  /** The job, or null when there is none with this id. */
  async getJob(id: string): Promise<Job<T, R> | null> {
    parseOptions(zText.min(1).max(512), id, 'id');
    await ensureInit(this.store);
    const s = await this.store.getJob(this.name, id);
    return s ? toJob<T, R>(s, this.clock.now()) : null;
  }

  /**
   * The jobs `id` depends on (its `dependsOn`, or the children it waits for), in that order, with their
   * states and results; jobs already deleted are left out.
   */
  async dependencies(id: string): Promise<Job<unknown, unknown>[]> {
    parseOptions(zText.min(1).max(512), id, 'id');
    await ensureInit(this.store);
    const now = this.clock.now();
    return (await this.store.getDependencies(this.name, id)).map((s) => toJob(s, now));
  }

  /** The job; throws NotFoundError when there is none. */
  async inspect(id: string): Promise<Job<T, R>> {
    const job = await this.getJob(id);
    if (!job) throw new NotFoundError(`[bulwark] no job ${JSON.stringify(id)} in queue ${this.name}`);
    return job;
  }

  /** The next jobs a worker would take, in claim order, without taking them. */
  async peek(limit = 10): Promise<Job<T, R>[]> {
    return this.list({ states: ['waiting'], order: 'next', limit });
  }

  async list(filter: ListFilter = {}): Promise<Job<T, R>[]> {
    const f = parseOptions(
      z
        .object({
          states: zStates.optional(),
          search: zText.max(1000).optional(),
          correlationId: zText.max(200).optional(),
          limit: zPositiveInt.max(10_000).optional(),
          offset: zNonNegativeInt.optional(),
          order: z.enum(['asc', 'desc', 'next']).optional(),
        })
        .strict(),
      filter,
      'list filter',
    );
    await ensureInit(this.store);
    const now = this.clock.now();
    return (await this.store.list(this.name, f, now)).map((s) => toJob<T, R>(s, now));
  }

  async counts(): Promise<StateCounts> {
    await ensureInit(this.store);
    return this.store.counts(this.name, this.clock.now());
  }

  /** Jobs not yet finished: waiting + delayed + active. */
  async size(): Promise<number> {
    const c = await this.counts();
    return c.waiting + c.delayed + c.active;
  }

  async status(): Promise<QueueStatus> {
    await ensureInit(this.store);
    return this.store.status(this.name);
  }

  async isPaused(): Promise<boolean> {
    return (await this.status()).paused;
  }

  /** Stops every worker of this queue, in every process, from claiming. Active jobs finish. */
  async pause(reason: string | null = null): Promise<void> {
    if (reason !== null) parseOptions(zReason, reason, 'pause reason');
    await ensureInit(this.store);
    if (await this.store.pause(this.name, reason, this.clock.now())) {
      this.emitter.emit('queue:paused', { queue: this.name, reason });
    }
  }

  /**
   * Holds claims on this queue, in every process, until `until` (a Date or epoch ms); never shortens a
   * window already set. Workers do this for a rate-limit error's Retry-After.
   */
  async throttle(until: Date | number): Promise<void> {
    const untilMs = parseOptions(z.union([z.date(), zNonNegativeInt]), until, 'throttle until');
    const at = untilMs instanceof Date ? untilMs.getTime() : untilMs;
    await ensureInit(this.store);
    await this.store.throttle(this.name, at);
    this.emitter.emit('queue:throttled', { queue: this.name, untilMs: at });
  }

  async resume(): Promise<void> {
    await ensureInit(this.store);
    await this.store.resume(this.name, this.clock.now());
    signalLocalReady(this.store, this.name);
    this.emitter.emit('queue:resumed', { queue: this.name });
  }

  /**
   * Cancels waiting, delayed or active jobs. An active job's worker loses its lease: its signal
   * aborts and its result is refused. Returns the ids that were cancelled.
   */
  async cancel(ids: string | readonly string[], reason = 'cancelled'): Promise<string[]> {
    const list = parseOptions(zIds, typeof ids === 'string' ? [ids] : ids, 'ids');
    parseOptions(zReason, reason, 'cancel reason');
    await ensureInit(this.store);
    return this.store.cancel(this.name, list, reason, this.clock.now());
  }

  /** Deletes every waiting and delayed job. Returns how many. */
  async clear(): Promise<number> {
    await ensureInit(this.store);
    return this.store.clear(this.name);
  }

  /** Deletes finished jobs by age and/or count, per final state. Returns how many. */
  async cleanup(rules: readonly RetentionRule[]): Promise<number> {
    const r = parseOptions(zRetention, rules, 'retention');
    await ensureInit(this.store);
    return this.store.cleanup(this.name, r, this.clock.now());
  }

  /**
   * Creates or replaces the cron schedule `key`: a job is added at every tick, exactly once however
   * many processes run workers of this queue (the tick's job id is derived from the key and the tick
   * time). Declaring the same schedule again (every process may, at start) keeps its last tick.
   */
  async schedule(key: string, options: ScheduleOptions<T>): Promise<ScheduleInfo<T>> {
    parseOptions(zScheduleKey, key, 'schedule key');
    const spec = scheduleSpec(options, (v, path) => toJsonText(v, path, this.maxPayloadBytes));
    await ensureInit(this.store);
    const now = this.clock.now();
    await this.store.saveSchedule(this.name, key, spec, now);
    const info = (await this.schedules()).find((s) => s.key === key);
    if (!info) throw new NotFoundError(`[bulwark] schedule ${key} vanished while it was saved`);
    return info;
  }

  /** Removes a schedule; true when there was one. Jobs it already added stay. */
  async unschedule(key: string): Promise<boolean> {
    parseOptions(zScheduleKey, key, 'schedule key');
    await ensureInit(this.store);
    return this.store.removeSchedule(this.name, key);
  }

  /** The queue's schedules, with their last and next tick. */
  async schedules(): Promise<ScheduleInfo<T>[]> {
    await ensureInit(this.store);
    const now = this.clock.now();
    const out: ScheduleInfo<T>[] = [];
    for (const stored of await this.store.listSchedules(this.name)) {
      const s = loadSchedule(stored);
      if (s) out.push(scheduleInfo<T>(s, now));
    }
    return out;
  }

  /**
   * Adds the jobs of every tick that is due now (workers do this on their own; call it from a process
   * that runs no worker). Returns the jobs of the ticks fired and when the next tick is due.
   */
  async fireSchedules(): Promise<{ jobs: Job<T, R>[]; nextTickAt: number | null }> {
    await ensureInit(this.store);
    const now = this.clock.now();
    const jobs: Job<T, R>[] = [];
    let nextTickAt: number | null = null;
    for (const stored of await this.store.listSchedules(this.name)) {
      const s = loadSchedule(stored);
      if (!s) continue;
      const due = dueTicks(s, now);
      if (due) {
        const { metadata, ...options } = s.spec.options;
        const fired = await this.addBulk(
          due.fire.map((tickAt) => ({
            payload: s.spec.payload as T,
            options: {
              name: stored.key,
              ...options,
              id: tickJobId(stored.key, tickAt),
              metadata: { ...metadata, schedule: stored.key, tickAt },
            },
          })),
        );
        jobs.push(...fired);
        await this.store.markScheduleFired(this.name, stored.key, due.upTo, now);
      }
      const next = nextTick(s, now);
      if (next !== null && (nextTickAt === null || next < nextTickAt)) nextTickAt = next;
    }
    return { jobs, nextTickAt };
  }

  /** Stops claiming from one group in every process (the others go on). Running jobs finish. */
  async pauseGroup(group: string, reason: string | null = null): Promise<void> {
    parseOptions(zGroupName, group, 'group');
    if (reason !== null) parseOptions(zReason, reason, 'pause reason');
    await ensureInit(this.store);
    if (await this.store.pauseGroup(this.name, group, reason, this.clock.now())) {
      this.emitter.emit('group:paused', { queue: this.name, group, reason });
    }
  }

  async resumeGroup(group: string): Promise<void> {
    parseOptions(zGroupName, group, 'group');
    await ensureInit(this.store);
    await this.store.resumeGroup(this.name, group, this.clock.now());
    signalLocalReady(this.store, this.name);
    this.emitter.emit('group:resumed', { queue: this.name, group });
  }

  /** No claims from one group until `until` (Date or epoch ms); never shortens a window already set. */
  async throttleGroup(group: string, until: Date | number): Promise<void> {
    parseOptions(zGroupName, group, 'group');
    const u = parseOptions(z.union([z.date(), zNonNegativeInt]), until, 'throttle until');
    const at = u instanceof Date ? u.getTime() : u;
    await ensureInit(this.store);
    await this.store.throttleGroup(this.name, group, at);
    this.emitter.emit('group:throttled', { queue: this.name, group, untilMs: at });
  }

  /**
   * The queue's groups with their state and job counts, by name: `paused: true` lists the paused ones,
   * `throttled: true` those throttled now (what the dashboard shows).
   */
  async listGroups(
    filter: { paused?: boolean; throttled?: boolean; limit?: number; offset?: number } = {},
  ): Promise<GroupStatus[]> {
    const f = parseOptions(
      z
        .object({
          paused: z.boolean().optional(),
          throttled: z.boolean().optional(),
          limit: zPositiveInt.max(10_000).optional(),
          offset: zNonNegativeInt.optional(),
        })
        .strict(),
      filter,
      'group filter',
    );
    await ensureInit(this.store);
    return this.store.listGroups(this.name, {
      paused: f.paused,
      throttledAfter: f.throttled ? this.clock.now() : undefined,
      limit: f.limit ?? 100,
      offset: f.offset ?? 0,
    });
  }

  /** The dead-letter queue: jobs that failed for good. */
  readonly dlq = {
    list: async (options: { limit?: number; offset?: number; search?: string } = {}): Promise<Job<T, R>[]> =>
      this.list({ ...readOptions(options, 'dlq list options'), states: ['dead'] }),
    inspect: async (id: string): Promise<Job<T, R>> => {
      const job = await this.inspect(id);
      if (job.state !== 'dead') throw new StateError(`[bulwark] job ${id} is ${job.state}, not dead`);
      return job;
    },
    /** Puts dead jobs back to waiting with their attempts reset (all when `ids` is omitted). */
    replay: async (ids?: string | readonly string[]): Promise<string[]> => {
      const list =
        ids === undefined ? undefined : parseOptions(zIds, typeof ids === 'string' ? [ids] : ids, 'ids');
      await ensureInit(this.store);
      const replayed = await this.store.replay(this.name, list, this.clock.now());
      if (replayed.length > 0) signalLocalReady(this.store, this.name);
      return replayed;
    },
    /** Deletes dead jobs (all when `ids` is omitted). Returns how many. */
    purge: async (ids?: string | readonly string[]): Promise<number> => {
      const list =
        ids === undefined ? undefined : parseOptions(zIds, typeof ids === 'string' ? [ids] : ids, 'ids');
      await ensureInit(this.store);
      return this.store.purge(this.name, ['dead'], list);
    },
    count: async (): Promise<number> => (await this.counts()).dead,
  };
}

export const zRetention = z.array(
  z
    .object({
      state: z.enum(FINAL_STATES as unknown as [FinalState, ...FinalState[]]),
      maxAgeMs: zNonNegativeInt.optional(),
      maxCount: zNonNegativeInt.optional(),
    })
    .strict()
    .refine((r) => r.maxAgeMs !== undefined || r.maxCount !== undefined, 'give maxAgeMs and/or maxCount'),
);
