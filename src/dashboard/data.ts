/**
 * What the dashboard knows, read from the store: the overview (computed at most once per interval
 * however many clients ask, one read in flight at a time), a queue's view with its charts and why
 * it is not running, pages of jobs with filters, one job, and the operator's actions. Only queues
 * the store knows get an entry, so no request can make the dashboard's memory grow.
 */
import { Queue } from '../core/queue.js';
import { toJob, type Job } from '../core/job.js';
import { ensureInit } from '../core/wake.js';
import { coerceError } from '../kernel/errors.js';
import type { HealthMonitor } from '../observe/health.js';
import { normalizeBreakerState } from '../observe/health.js';
import type { GroupStatus, JobState, QueueStatus, StateCounts, Store, StoredJob } from '../store/types.js';
import { topErrorsOf, type TopError } from './errors.js';
import { HttpError } from './http.js';
import { LiveSource, type Block, type WatchedWorker } from './live.js';
import { boundedStore } from './bounded.js';
import { Series, type SeriesPoint } from './series.js';
import { evaluate, pausedBy, pausedText, type Verdict } from './verdict.js';

export interface DashboardSources {
  store: Store;
  /** How the store is named in the health verdict, e.g. `postgres 10.0.0.5:5432/app`. @default store.name */
  storeLabel?: string;
  /** How old the overview may be, in ms: also the live feed's tick. @default 1000 */
  intervalMs?: number;
  /** Longest a store call may take before the request fails with a 503 (the store error), in ms. @default 5000 */
  storeTimeoutMs?: number;
  /** Processors and breakers of the workers in this process. */
  monitor?: Pick<HealthMonitor, 'check'>;
  /** Dependency breakers (e.g. `() => registry.stats()`): shown with their state, transitions sent live. */
  breakers?: () => Iterable<{ name: string; state: string }>;
  /** Top error patterns with their trend (e.g. `() => analytics.top()`); derived from the dead-letter queue when absent. */
  errors?: () => readonly TopError[];
  /** Workers in this process: their job changes, durations and dependency blocks are shown live. */
  workers?: readonly WatchedWorker[];
}

export type QueueRunState = 'running' | 'paused' | 'throttled' | 'blocked';

export interface QueueOverview {
  name: string;
  counts: StateCounts;
  paused: boolean;
  pauseReason: string | null;
  /** Who paused it, from the reason: a worker after an auth failure, an operator, the application. */
  pausedBy: string | null;
  /** No claims before this time (epoch ms); 0 when not throttled. */
  throttledUntil: number;
  /** The open breaker an in-process worker of this queue waits on. */
  blockedBy: Block | null;
  state: QueueRunState;
  /** Why the queue is not running, in words; null while it runs. */
  why: string | null;
  /** Groups (tenants) of the queue that are paused, at most 50: by whom and why. */
  pausedGroups: PausedGroup[];
  /** Groups of the queue throttled by a rate limit (a `RateLimitError` in the group), at most 50. */
  throttledGroups: ThrottledGroup[];
}

export interface ThrottledGroup {
  name: string;
  /** No claims from the group before this time, epoch ms. */
  until: number;
}

export interface PausedGroup {
  name: string;
  reason: string | null;
  /** A worker after an auth failure, an operator, the application. */
  by: string;
}

export interface Overview {
  at: number;
  store: { label: string; latencyMs: number | null; error: string | null };
  queues: QueueOverview[];
  /**
   * True when this is not a read of the store younger than `intervalMs`: the store did not answer
   * (`store.error` says why) and these are the last known queues, or a read took longer than a second.
   */
  stale: boolean;
}

export interface QueueDetail extends QueueOverview {
  series: SeriesPoint[];
  health: Verdict['queues'][number] | null;
}

/** A job as a list row: no payload or result (a page of large payloads would freeze a browser). */
export interface JobRow {
  id: string;
  name: string | null;
  state: JobState;
  priority: number;
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  updatedAt: number;
  runAt: number;
  finishedAt: number | null;
  progress: unknown;
  lastError: { category: string; message: string } | null;
  reason: string | null;
}

export interface JobPage {
  jobs: JobRow[];
  offset: number;
  limit: number;
  hasMore: boolean;
  /** How many jobs match, when the counts tell (a state filter alone, or none). */
  total: number | null;
  /** With name or time filters the dashboard scans the newest jobs: true when it stopped early. */
  partial: boolean;
  /** The search text is a job's id: that job alone is the answer (ask again with `deep` for every match). */
  exact?: boolean;
}

export interface JobQuery {
  state?: JobState;
  name?: string;
  search?: string;
  /** Created at or after / before (epoch ms). */
  from?: number;
  to?: number;
  /** Search names, correlation ids and payloads even when the text is a job's id. */
  deep?: boolean;
  limit: number;
  offset: number;
}

/** Payload, result and checkpoint larger than this are sent as a preview. */
const MAX_VALUE_CHARS = 256 * 1024;
const SCAN_BATCH = 500;
const MAX_SCAN = 20_000;
const MAX_QUEUE_ENTRIES = 10_000;
const ERRORS_EVERY_MS = 10_000;
const MAX_PAUSED_GROUPS = 50;
/** How long a request waits for a fresh overview before it is answered from the last one (marked stale). */
const FRESH_WAIT_MS = 1000;
/** The health verdict judges a queue's dead-letter rate from its newest finished jobs, this many at most… */
const OUTCOME_SAMPLE = 200;
/** …that finished within this window. */
const OUTCOME_WINDOW_MS = 5 * 60_000;

/** A large JSON value, cut for the browser. */
export interface Preview {
  truncated: true;
  chars: number;
  preview: string;
}

export interface JobDetail extends Omit<Job, 'payload' | 'result' | 'checkpoint' | 'progress'> {
  payload: unknown;
  result: unknown;
  checkpoint: unknown;
  progress: unknown;
}

export class DashboardData {
  readonly store: Store;
  readonly storeLabel: string;
  readonly intervalMs: number;
  readonly series: Series;
  readonly live: LiveSource;
  private readonly queues = new Map<string, Queue<unknown>>();
  private known: { names: Set<string>; at: number } = { names: new Set(), at: 0 };
  private last: Overview | undefined;
  private inflight: Promise<Overview> | undefined;
  private inflightGeneration = 0;
  /** Bumped by every change made through the dashboard. */
  private generation = 0;
  private topCache: { at: number; value: TopError[] } | undefined;
  private lastReadMs = 0;
  /** Recent outcomes per queue, read from the store (every process sees the same). */
  private outcomes = new Map<string, { at: number; value: Promise<{ completed: number; dead: number }> }>();

  constructor(private readonly o: DashboardSources) {
    this.storeLabel = o.storeLabel ?? o.store.name;
    this.store = boundedStore(o.store, o.storeTimeoutMs ?? 5000, this.storeLabel);
    this.intervalMs = o.intervalMs ?? 1000;
    this.series = new Series(Math.max(this.intervalMs * 5, 1000), 180);
    this.live = new LiveSource(o.workers ?? [], (q, ms) => this.series.duration(q, ms));
  }

  get trackedQueues(): number {
    return this.queues.size;
  }

  /** The queue if the store has it; a 404 otherwise (no entry is made for an unknown name). */
  async queue(name: string): Promise<Queue<unknown>> {
    const q = this.queues.get(name);
    if (q) return q;
    if (!this.known.names.has(name) || Date.now() - this.known.at > this.intervalMs)
      await this.refreshNames();
    if (!this.known.names.has(name)) throw new HttpError(404, `no queue ${JSON.stringify(name)}`, 'NO_QUEUE');
    return this.entry(name);
  }

  private entry(name: string): Queue<unknown> {
    let q = this.queues.get(name);
    if (!q) {
      if (this.queues.size >= MAX_QUEUE_ENTRIES) this.queues.clear();
      q = new Queue(name, { store: this.store });
      this.queues.set(name, q);
    }
    return q;
  }

  private async refreshNames(): Promise<string[]> {
    await ensureInit(this.store);
    const names = await this.store.queues();
    this.known = { names: new Set(names), at: Date.now() };
    for (const name of this.queues.keys()) if (!this.known.names.has(name)) this.queues.delete(name);
    for (const name of this.outcomes.keys()) if (!this.known.names.has(name)) this.outcomes.delete(name);
    this.series.retain(this.known.names);
    return names;
  }

  /**
   * The overview, at most `intervalMs` old. Concurrent callers share one read of the store. A request
   * that finds the last read older than that waits for a new one, up to a second (counting jobs takes
   * a while on a large store), and is then answered from the last read, marked `stale`. `fresh` waits
   * for a read that starts now (the live feed, after an action).
   */
  async overview(o: { fresh?: boolean } = {}): Promise<Overview> {
    const last = this.last;
    if (!o.fresh && last && Date.now() - last.at < this.intervalMs) return last;
    const next = this.read();
    if (o.fresh || !last) return next;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      next.then((v) => ({ v })),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), FRESH_WAIT_MS);
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
    if (waited) return waited.v;
    next.catch(() => undefined);
    return { ...last, stale: true };
  }

  /**
   * One read at a time. A read that began before a change made here (an action) cannot show it: the
   * next caller gets a read that starts after it.
   */
  private read(): Promise<Overview> {
    if (this.inflight && this.inflightGeneration === this.generation) return this.inflight;
    const generation = this.generation;
    const before = this.inflight ?? Promise.resolve();
    const p = before
      .catch(() => undefined)
      .then(() => this.readOverview(generation))
      .finally(() => {
        if (this.inflight === p) this.inflight = undefined;
      });
    this.inflight = p;
    this.inflightGeneration = generation;
    return p;
  }

  /** After a change made here: no request is answered from a read older than it. */
  private invalidate(): Promise<Overview> {
    this.generation++;
    this.last = undefined;
    this.outcomes.clear();
    return this.read();
  }

  /** How long the last overview read took, in ms (the live feed paces itself by it). */
  get readMs(): number {
    return this.lastReadMs;
  }

  private async readOverview(generation: number): Promise<Overview> {
    const t0 = Date.now();
    try {
      const o = await this.readOverviewOnce(t0);
      if (generation === this.generation) this.last = o;
      return o;
    } finally {
      this.lastReadMs = Date.now() - t0;
    }
  }

  private async readOverviewOnce(t0: number): Promise<Overview> {
    try {
      const names = await this.refreshNames();
      const latencyMs = Date.now() - t0;
      const queues = await Promise.all(
        names.map(async (name) => {
          const q = this.entry(name);
          const [counts, status, groups, throttled] = await Promise.all([
            q.counts(),
            q.status(),
            this.store.listGroups(name, { paused: true, limit: MAX_PAUSED_GROUPS, offset: 0 }),
            this.store.listGroups(name, { throttledAfter: Date.now(), limit: MAX_PAUSED_GROUPS, offset: 0 }),
          ]);
          return this.describe(name, counts, status, groups, throttled);
        }),
      );
      const at = Date.now();
      for (const q of queues) {
        if (!this.series.due(q.name, at)) continue;
        if (this.series.needsDurations(q.name) && q.counts.completed > 0)
          await this.sampleDurations(q.name, at);
        this.series.sample(q.name, q.counts, at);
      }
      return { at, store: { label: this.storeLabel, latencyMs, error: null }, queues, stale: false };
    } catch (e) {
      return {
        at: Date.now(),
        store: { label: this.storeLabel, latencyMs: null, error: coerceError(e).message },
        queues: this.last?.queues ?? [],
        stale: true,
      };
    }
  }

  /** Without an in-process worker, the durations of the latest completed jobs stand in. */
  private async sampleDurations(queue: string, since: number): Promise<void> {
    const rows = await this.store.list(queue, { states: ['completed'], limit: 50 }, since);
    const from = since - this.series.stepMs;
    for (const r of rows) {
      if (r.startedAt !== null && r.finishedAt !== null && r.finishedAt >= from) {
        this.series.duration(queue, r.finishedAt - r.startedAt);
      }
    }
  }

  private describe(
    name: string,
    counts: StateCounts,
    status: QueueStatus,
    groups: readonly GroupStatus[],
    throttled: readonly GroupStatus[] = [],
  ): QueueOverview {
    const now = Date.now();
    const blockedBy = this.live.blockOf(name) ?? null;
    let state: QueueRunState = 'running';
    let why: string | null = null;
    if (status.paused) {
      state = 'paused';
      why = pausedText(status.pauseReason);
    } else if (blockedBy) {
      state = 'blocked';
      why = `blocked: breaker ${blockedBy.dependency} is open until ${new Date(blockedBy.until).toISOString()}`;
    } else if (status.throttledUntil > now) {
      state = 'throttled';
      why = `throttled by a rate limit until ${new Date(status.throttledUntil).toISOString()}`;
    }
    return {
      name,
      counts,
      paused: status.paused,
      pauseReason: status.pauseReason,
      pausedBy: status.paused ? pausedBy(status.pauseReason) : null,
      throttledUntil: status.throttledUntil > now ? status.throttledUntil : 0,
      blockedBy,
      state,
      why,
      pausedGroups: groups
        .filter((g) => g.paused)
        .map((g) => ({ name: g.name, reason: g.pauseReason, by: pausedBy(g.pauseReason) })),
      throttledGroups: throttled
        .filter((g) => g.throttledUntil > now)
        .map((g) => ({ name: g.name, until: g.throttledUntil })),
    };
  }

  async queueDetail(name: string): Promise<QueueDetail> {
    await this.queue(name);
    const [overview, health] = await Promise.all([this.overview(), this.health()]);
    const q = overview.queues.find((x) => x.name === name);
    if (!q) throw new HttpError(404, `no queue ${JSON.stringify(name)}`, 'NO_QUEUE');
    return {
      ...q,
      series: this.series.points(name),
      health: health.queues.find((x) => x.name === name) ?? null,
    };
  }

  breakers(): { name: string; state: string }[] {
    if (!this.o.breakers) return [];
    try {
      return [...this.o.breakers()].map((b) => ({
        name: String(b.name),
        state: normalizeBreakerState(b.state),
      }));
    } catch {
      return [];
    }
  }

  async health(): Promise<Verdict> {
    const overview = await this.overview();
    const now = Date.now();
    let monitor;
    try {
      monitor = this.o.monitor ? await this.o.monitor.check() : undefined;
    } catch {
      monitor = undefined;
    }
    const recent = await Promise.all(
      overview.queues.map((q) =>
        overview.store.error !== null
          ? Promise.resolve({ completed: 0, dead: 0 })
          : this.recentOutcomes(q.name, q.counts, now).catch(() => ({ completed: 0, dead: 0 })),
      ),
    );
    return evaluate({
      now,
      store: overview.store,
      queues: overview.queues.map((q, i) => ({
        name: q.name,
        paused: q.paused,
        pauseReason: q.pauseReason,
        throttledUntil: q.throttledUntil,
        blockedBy: q.blockedBy?.dependency ?? null,
        pausedGroups: q.pausedGroups ?? [],
        recent: recent[i]!,
      })),
      breakers: this.breakers(),
      monitor,
    });
  }

  /**
   * Completed and dead jobs among the queue's newest finished jobs (at most 200) that finished in the
   * last five minutes, read from the store — so the verdict is the same in every process, a fresh one
   * (`bulwark health`) included. Re-read at most once per chart step (5 s by default) per queue.
   */
  private recentOutcomes(
    queue: string,
    counts: StateCounts,
    now: number,
  ): Promise<{ completed: number; dead: number }> {
    if (counts.completed + counts.dead === 0) return Promise.resolve({ completed: 0, dead: 0 });
    const cached = this.outcomes.get(queue);
    if (cached && now - cached.at < this.series.stepMs) return cached.value;
    const value = this.store
      .list(queue, { states: ['completed', 'dead'], limit: OUTCOME_SAMPLE }, now)
      .then((rows) => {
        const out = { completed: 0, dead: 0 };
        for (const r of rows) {
          if (r.finishedAt === null || now - r.finishedAt > OUTCOME_WINDOW_MS) continue;
          if (r.state === 'dead') out.dead++;
          else out.completed++;
        }
        return out;
      });
    if (this.outcomes.size >= MAX_QUEUE_ENTRIES) this.outcomes.clear();
    this.outcomes.set(queue, { at: now, value });
    value.catch(() => this.outcomes.delete(queue));
    return value;
  }

  /** Top errors: from analytics when given, else from the dead-letter queues (re-read every 10 s). */
  async topErrors(): Promise<TopError[]> {
    if (this.o.errors) return [...this.o.errors()].slice(0, 10);
    const now = Date.now();
    if (this.topCache && now - this.topCache.at < ERRORS_EVERY_MS) return this.topCache.value;
    const overview = await this.overview();
    // A store that does not answer: the last top errors, rather than one bounded wait per queue.
    if (overview.store.error !== null) return this.topCache?.value ?? [];
    const lists = await Promise.all(
      overview.queues
        .filter((q) => q.counts.dead > 0)
        .map((q) => this.store.list(q.name, { states: ['dead'], limit: 200 }, now)),
    );
    const dead: StoredJob[] = lists.flat();
    const value = topErrorsOf(dead, now, 10 * 60_000);
    this.topCache = { at: now, value };
    return value;
  }

  async jobs(name: string, query: JobQuery): Promise<JobPage> {
    await this.queue(name);
    const now = Date.now();
    const states = query.state ? [query.state] : undefined;
    if (query.search !== undefined && !query.deep) {
      // An id is what an operator pastes most: a primary-key read answers it without scanning payloads.
      const exact = await this.store.getJob(name, query.search);
      if (
        exact &&
        (!query.state || toRow(exact, now).state === query.state) &&
        (query.name === undefined || exact.name === query.name)
      ) {
        return {
          jobs: query.offset === 0 ? [toRow(exact, now)] : [],
          offset: query.offset,
          limit: query.limit,
          hasMore: false,
          total: 1,
          partial: false,
          exact: true,
        };
      }
    }
    if (query.name === undefined && query.from === undefined && query.to === undefined) {
      const rows = await this.store.list(
        name,
        { states, search: query.search, limit: query.limit + 1, offset: query.offset },
        now,
      );
      let total: number | null = null;
      if (!query.search) {
        const c = (await this.overview()).queues.find((x) => x.name === name)?.counts;
        if (c) total = query.state ? c[query.state] : Object.values(c).reduce((a, b) => a + b, 0);
      }
      return {
        jobs: rows.slice(0, query.limit).map((r) => toRow(r, now)),
        offset: query.offset,
        limit: query.limit,
        hasMore: rows.length > query.limit,
        total,
        partial: false,
      };
    }
    // Name and time filters: walk the newest jobs in pages; the creation order lets a time window stop early.
    const matches: JobRow[] = [];
    let skipped = 0;
    let scanned = 0;
    let partial = false;
    const search = query.search ?? query.name;
    for (let offset = 0; ; offset += SCAN_BATCH) {
      const rows = await this.store.list(name, { states, search, limit: SCAN_BATCH, offset }, now);
      let older = false;
      for (const j of rows) {
        if (query.to !== undefined && j.createdAt > query.to) continue;
        if (query.from !== undefined && j.createdAt < query.from) {
          older = true;
          break;
        }
        if (query.name !== undefined && j.name !== query.name) continue;
        if (skipped < query.offset) skipped++;
        else matches.push(toRow(j, now));
        if (matches.length > query.limit) break;
      }
      scanned += rows.length;
      if (older || rows.length < SCAN_BATCH || matches.length > query.limit) break;
      if (scanned >= MAX_SCAN) {
        partial = true;
        break;
      }
    }
    return {
      jobs: matches.slice(0, query.limit),
      offset: query.offset,
      limit: query.limit,
      hasMore: matches.length > query.limit,
      total: null,
      partial,
    };
  }

  async job(name: string, id: string): Promise<JobDetail> {
    await this.queue(name);
    const s = await this.store.getJob(name, id);
    if (!s) throw new HttpError(404, `no job ${JSON.stringify(id)} in queue ${name}`, 'NO_JOB');
    // Oversized values stay as text: parsing a 50 MB payload to cut it would cost more than sending it.
    const cut = (text: string | null): unknown =>
      text === null
        ? null
        : text.length > MAX_VALUE_CHARS
          ? ({ truncated: true, chars: text.length, preview: text.slice(0, 4096) } satisfies Preview)
          : (JSON.parse(text) as unknown);
    const light: StoredJob = { ...s, payload: 'null', result: null, checkpoint: null, progress: null };
    return {
      ...toJob(light, Date.now()),
      payload: cut(s.payload),
      result: cut(s.result),
      checkpoint: cut(s.checkpoint),
      progress: cut(s.progress),
    };
  }

  async pause(name: string, reason: string | undefined): Promise<{ paused: boolean }> {
    const q = await this.queue(name);
    await q.pause(`dashboard${reason ? `: ${reason}` : ''}`);
    await this.invalidate();
    return { paused: true };
  }

  async resume(name: string): Promise<{ resumed: boolean }> {
    const q = await this.queue(name);
    await q.resume();
    await this.invalidate();
    return { resumed: true };
  }

  async replay(name: string, ids: readonly string[] | undefined): Promise<{ replayed: string[] }> {
    const q = await this.queue(name);
    const replayed = await q.dlq.replay(ids);
    this.changed(name, replayed, 'waiting');
    return { replayed };
  }

  async purge(name: string, ids: readonly string[] | undefined): Promise<{ purged: number }> {
    const q = await this.queue(name);
    const purged = await q.dlq.purge(ids);
    void this.invalidate().catch(() => undefined);
    return { purged };
  }

  async cancel(name: string, ids: readonly string[]): Promise<{ cancelled: string[] }> {
    const q = await this.queue(name);
    const cancelled = await q.cancel(ids, 'cancelled from the dashboard');
    this.changed(name, cancelled, 'cancelled');
    return { cancelled };
  }

  private changed(queue: string, ids: readonly string[], state: JobState): void {
    void this.invalidate().catch(() => undefined);
    const at = Date.now();
    for (const id of ids) this.live.record({ queue, id, state, attempts: 0, at });
  }

  close(): void {
    this.live.close();
  }
}

/** A list row straight from the stored job: the payload is never parsed. */
export function toRow(j: StoredJob, now: number): JobRow {
  const last = j.errors[j.errors.length - 1];
  let progress: unknown = null;
  if (j.progress !== null && j.progress.length <= 1000) progress = JSON.parse(j.progress) as unknown;
  return {
    id: j.id,
    name: j.name,
    state: j.state === 'waiting' && j.runAt > now ? 'delayed' : j.state,
    priority: j.priority,
    attempts: j.attempts,
    maxAttempts: j.maxAttempts,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    runAt: j.runAt,
    finishedAt: j.finishedAt,
    progress,
    lastError: last ? { category: last.category, message: last.message.slice(0, 300) } : null,
    reason: j.reason === null ? null : j.reason.slice(0, 300),
  };
}
