import type Database from 'better-sqlite3';
import type {
  AddResult,
  ClaimRequest,
  CompleteItem,
  FailItem,
  FinalState,
  ListFilter,
  NewJob,
  QueueStatus,
  ReapResult,
  RetentionRule,
  StateCounts,
  Store,
  StoreCapabilities,
  StoredJob,
  StoredSchedule,
  StoredState,
  DeadDependency,
  GroupStatus,
  ResolveResult,
} from '../types.js';
import { requireCapability, usesFeatures, type AddContext } from '../types.js';
import { StoreClosedError, StoreError } from '../../kernel/errors.js';
import { migrations } from './migrations.js';
import { COLUMN_LIST, appendError, fromRaw, fromRow, type Row } from './rows.js';
import { INSERT_PARAMS, SQL, claimSql, insertSql } from './sql.js';
import { loadDriver, resolveOptions, type SqliteStoreOptions } from './options.js';
import { SqliteSchedules } from './schedules.js';
import { SqliteFeatures } from './features.js';

export type { SqliteStoreOptions };

/** The longest SQLite may sleep inside a call waiting for a lock; the rest is waited asynchronously. */
const SYNC_BUSY_MS = 5;

const isBusy = (e: unknown): boolean =>
  typeof (e as { code?: unknown })?.code === 'string' &&
  (e as { code: string }).code.startsWith('SQLITE_BUSY');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** No transaction: `fn` is one statement, atomic on its own. */
const bare = (fn: () => unknown): unknown => fn();

/** Rows per insert statement: the largest power of two up to 256 that fits what is left. */
const chunkSize = (left: number): number => (left >= 256 ? 256 : 2 ** Math.floor(Math.log2(left)));

type ClaimStatement = Database.Statement<
  [{ queue: string; now: number; workerId: string; leaseUntil: number }],
  unknown[]
>;

const EMPTY_COUNTS = (): StateCounts => ({
  waiting: 0,
  delayed: 0,
  blocked: 0,
  active: 0,
  completed: 0,
  dead: 0,
  cancelled: 0,
});

/**
 * The embedded store: one SQLite file (or memory), WAL mode, prepared statements, every state
 * change in one IMMEDIATE transaction. Several processes may share a file on one machine.
 */
export class SqliteStore implements Store {
  readonly name = 'sqlite';
  readonly capabilities: StoreCapabilities;
  private readonly db: Database.Database;
  private prepared: ReturnType<SqliteStore['prepare']> | undefined;
  private schedulesPart: SqliteSchedules | undefined;
  private featuresPart: SqliteFeatures | undefined;
  private readonly claims = new Map<number, ClaimStatement>();
  private readonly inserts = new Map<number, Database.Statement>();
  private closed = false;
  /** One transaction wrapper each, made once: better-sqlite3 builds five variants per `transaction()` call. */
  private readonly writeTx: (fn: () => unknown) => unknown;
  private readonly readTx: (fn: () => unknown) => unknown;
  private readonly busyTimeoutMs: number;
  private readonly path: string;

  constructor(options: SqliteStoreOptions = {}) {
    const { path, busyTimeoutMs, synchronous } = resolveOptions(options);
    this.path = path;
    const memory = path === ':memory:';
    this.capabilities = {
      notify: false,
      transactionalEnqueue: false,
      multiProcess: !memory,
      durable: !memory,
    };
    const Driver = loadDriver();
    this.busyTimeoutMs = busyTimeoutMs;
    // SQLite's own busy handler sleeps inside the call, blocking the event loop (and with it every
    // heartbeat) for as long as another process holds the lock. Keep that wait tiny and wait the rest
    // of busyTimeoutMs asynchronously (see `locked`).
    this.db = new Driver(path, { timeout: Math.min(busyTimeoutMs, SYNC_BUSY_MS) });
    if (!memory) this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    const tx = this.db.transaction((fn: () => unknown) => fn());
    // IMMEDIATE takes the write lock up front: a deferred transaction upgrading later can fail with BUSY.
    this.writeTx = tx.immediate;
    this.readTx = tx.deferred;
  }

  /** @internal The statements, prepared once after migrations. */
  private get s(): ReturnType<SqliteStore['prepare']> {
    if (this.closed) throw new StoreClosedError('sqlite');
    return (this.prepared ??= this.prepare());
  }

  /** Runs `fn` in a write transaction; when another process holds the lock, retries without blocking. */
  private write<R>(fn: () => R): R | Promise<R> {
    return this.attempt(this.writeTx, fn);
  }

  private read<R>(fn: () => R): R | Promise<R> {
    return this.attempt(this.readTx, fn);
  }

  /**
   * Runs one statement (atomic on its own) outside a transaction, with the same handling: a lock held
   * by another process is waited for without blocking, a driver error comes out as a StoreError.
   */
  private one<R>(fn: () => R): R | Promise<R> {
    return this.attempt(bare, fn);
  }

  private attempt<R>(tx: (fn: () => unknown) => unknown, fn: () => R): R | Promise<R> {
    // Every call goes through here: after close(), say so (better-sqlite3 says "The database
    // connection is not open" as a TypeError).
    if (this.closed) throw new StoreClosedError('sqlite');
    try {
      return tx(fn) as R;
    } catch (e) {
      if (!isBusy(e)) throw this.typed(e);
      return this.locked(tx, fn);
    }
  }

  /** SQLite's own errors (a full disk, an I/O error, a corrupt file) as a StoreError naming the file. */
  private typed(e: unknown): unknown {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return e;
    return new StoreError(`[bulwark] [sqlite ${this.path}] ${(e as Error).message} (${code})`, { cause: e });
  }

  /** Retries a transaction refused with SQLITE_BUSY, sleeping between tries, until busyTimeoutMs. */
  private async locked<R>(tx: (fn: () => unknown) => unknown, fn: () => R): Promise<R> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let n = 0; ; n++) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      // 1, 2, 4 … 64 ms, jittered so that processes waiting on one lock do not retry in step.
      await sleep(Math.min(left, (1 + Math.random()) * 2 ** Math.min(n, 6)));
      if (this.closed) throw new StoreClosedError('sqlite');
      try {
        return tx(fn) as R;
      } catch (e) {
        if (!isBusy(e)) throw this.typed(e);
      }
    }
    throw new StoreError(
      `[bulwark] [sqlite] the database is locked by another process for over ${this.busyTimeoutMs} ms (busyTimeoutMs)`,
      { cause: Object.assign(new Error('SQLITE_BUSY'), { code: 'SQLITE_BUSY' }) },
    );
  }

  async init(): Promise<void> {
    await this.migrate();
  }

  private async migrate(): Promise<void> {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    const pending = migrations.filter((m) => m.version > current);
    if (pending.length === 0) return;
    await this.write(() => {
      // Re-read inside the lock: another process may have migrated meanwhile.
      const v = this.db.pragma('user_version', { simple: true }) as number;
      for (const m of migrations) {
        if (m.version <= v) continue;
        this.db.exec(m.sql);
        this.db.pragma(`user_version = ${m.version}`);
      }
    });
  }

  /**
   * The claim statement for one batch size. The LIMIT is written into the SQL, not bound: with a bound
   * LIMIT SQLite's plan for this UPDATE cost 4× more per claim (measured: 104 µs against 28 µs).
   * Batch sizes are bounded by the workers' concurrency, so the cache stays small.
   */
  private claimStatement(limit: number): ClaimStatement {
    let st = this.claims.get(limit);
    if (!st) {
      st = this.db
        .prepare<[{ queue: string; now: number; workerId: string; leaseUntil: number }], unknown[]>(
          claimSql(limit),
        )
        // Arrays, not objects: building a 27-key object per row cost more than the UPDATE itself.
        .raw();
      this.claims.set(limit, st);
    }
    return st;
  }

  private prepare() {
    const db = this.db;
    return {
      get: db.prepare<[string, string], Row>(SQL.get),
      status: db.prepare<[string], { paused: number; pause_reason: string | null; throttled_until: number }>(
        SQL.status,
      ),
      promote: db.prepare(SQL.promote),
      complete: db.prepare(SQL.complete),
      fenced: db.prepare<[string, string, number], { errors: string }>(SQL.fenced),
      retry: db.prepare(SQL.retry),
      snooze: db.prepare(SQL.snooze),
      release: db.prepare(SQL.release),
      dead: db.prepare(SQL.dead),
      heartbeat: db.prepare(SQL.heartbeat),
      update: db.prepare(SQL.update),
      expired: db.prepare<
        [string, number, number],
        { id: string; attempts: number; max_attempts: number; errors: string }
      >(SQL.expired),
      requeue: db.prepare(SQL.requeue),
      stalledDead: db.prepare(SQL.stalledDead),
      countFinished: db.prepare<[string], { state: StoredState; n: number }>(SQL.countFinished),
      countWaiting: db.prepare<[string], { n: number }>(SQL.countWaiting),
      countActive: db.prepare<[string], { n: number }>(SQL.countActive),
      countDelayed: db.prepare<[string, number], { n: number }>(SQL.countDelayed),
      anyReady: db.prepare<[string], { t: number }>(SQL.anyReady),
      nextDelayed: db.prepare<[string], { t: number | null }>(SQL.nextDelayed),
      queues: db.prepare<[], { queue: string }>(SQL.queues),
      upsertQueue: db.prepare(SQL.upsertQueue),
      window: db.prepare<[string], { window_start: number; window_count: number }>(SQL.window),
      setWindow: db.prepare(SQL.setWindow),
      throttle: db.prepare(SQL.throttle),
      cancel: db.prepare(SQL.cancel),
      clear: db.prepare(SQL.clear),
      replayOne: db.prepare(SQL.replayOne),
      replayAll: db.prepare<[number, number, string], { id: string }>(SQL.replayAll),
      deleteOne: db.prepare(SQL.deleteOne),
      deleteState: db.prepare(SQL.deleteState),
      deleteOlder: db.prepare(SQL.deleteOlder),
      deleteBeyond: db.prepare(SQL.deleteBeyond),
    };
  }

  /** @internal Schedules, prepared on first use (after migrations). */
  private get schedules(): SqliteSchedules {
    if (!this.schedulesPart) {
      void this.s; // refuses a closed store
      this.schedulesPart = new SqliteSchedules(this.db);
    }
    return this.schedulesPart;
  }

  /** @internal Uniqueness, groups and flows, prepared on first use (after migrations). */
  private get features(): SqliteFeatures {
    if (!this.featuresPart) {
      void this.s; // refuses a closed store
      this.featuresPart = new SqliteFeatures(this.db);
    }
    return this.featuresPart;
  }

  async resolveDependants(queue: string, now: number, limit: number): Promise<ResolveResult> {
    const flows = this.features.flows;
    // Most queues have no open edge: look without taking the write lock.
    if (!flows.hasEdges(queue)) return { ready: [], completed: [], dead: [], open: false };
    return this.write(() => flows.resolve(queue, now, limit));
  }

  async completeAfter(
    queue: string,
    item: CompleteItem,
    children: readonly string[],
    onDependencyDead: DeadDependency,
    now: number,
  ): Promise<StoredState | null> {
    const flows = this.features.flows;
    return this.write(() =>
      flows.completeAfter(queue, item.id, item.token, item.result, children, onDependencyDead, now),
    );
  }

  async getDependencies(queue: string, id: string): Promise<StoredJob[]> {
    const flows = this.features.flows;
    return this.read(() => flows.dependencies(queue, id));
  }

  async pauseGroup(queue: string, group: string, reason: string | null, _now: number): Promise<boolean> {
    const groups = this.features.groups;
    return this.write(() => groups.pause(queue, group, reason));
  }

  async resumeGroup(queue: string, group: string, _now: number): Promise<void> {
    const groups = this.features.groups;
    await this.write(() => groups.resume(queue, group));
  }

  async throttleGroup(queue: string, group: string, until: number): Promise<void> {
    const groups = this.features.groups;
    await this.write(() => groups.throttle(queue, group, until));
  }

  async listGroups(
    queue: string,
    filter: { paused?: boolean; throttledAfter?: number; limit: number; offset: number },
  ): Promise<GroupStatus[]> {
    const groups = this.features.groups;
    return this.read(() => groups.list(queue, filter));
  }

  async saveSchedule(queue: string, key: string, spec: string, now: number): Promise<void> {
    const schedules = this.schedules;
    await this.one(() => schedules.saveSchedule(queue, key, spec, now));
  }

  async removeSchedule(queue: string, key: string): Promise<boolean> {
    const schedules = this.schedules;
    return this.one(() => schedules.removeSchedule(queue, key));
  }

  async listSchedules(queue: string): Promise<StoredSchedule[]> {
    const schedules = this.schedules;
    return this.one(() => schedules.listSchedules(queue));
  }

  async markScheduleFired(queue: string, key: string, tickAt: number, now: number): Promise<boolean> {
    const schedules = this.schedules;
    return this.one(() => schedules.markScheduleFired(queue, key, tickAt, now));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async add(jobs: readonly NewJob[], ctx?: AddContext): Promise<AddResult[]> {
    if (ctx?.tx !== undefined) requireCapability(this, 'transactionalEnqueue', 'add(…, { tx })');
    if (jobs.some(usesFeatures)) return this.write(() => this.features.add(jobs));
    const s = this.s;
    return this.write((): AddResult[] => {
      // Multi-row inserts: one statement per chunk costs far less than one per job.
      const created = new Set<string>();
      for (let at = 0; at < jobs.length;) {
        const n = chunkSize(jobs.length - at);
        const params: unknown[] = new Array(n * INSERT_PARAMS);
        for (let k = 0, p = 0; k < n; k++) {
          const j = jobs[at + k]!;
          params[p++] = j.queue;
          params[p++] = j.id;
          params[p++] = j.name;
          params[p++] = j.runAt > j.createdAt ? 'delayed' : 'waiting';
          params[p++] = j.priority;
          params[p++] = j.runAt;
          params[p++] = j.maxAttempts;
          params[p++] = j.backoff;
          params[p++] = j.timeoutMs;
          params[p++] = j.correlationId;
          params[p++] = j.metadata;
          params[p++] = j.payload;
          params[p++] = j.createdAt;
          params[p++] = j.createdAt;
        }
        for (const id of this.insertStatement(n).all(...params) as string[]) created.add(id);
        at += n;
      }
      // A job is new when its id was inserted and it is the first of the batch with that id; any other
      // is the job already stored (added earlier, or by an earlier item of this same batch).
      const out: AddResult[] = new Array(jobs.length);
      for (let i = 0; i < jobs.length; i++) {
        const j = jobs[i]!;
        if (created.delete(j.id)) out[i] = null;
        else out[i] = fromRow(s.get.get(j.queue, j.id)!);
      }
      return out;
    });
  }

  private insertStatement(rows: number): Database.Statement {
    let st = this.inserts.get(rows);
    if (!st) this.inserts.set(rows, (st = this.db.prepare(insertSql(rows)).pluck()));
    return st;
  }

  async claim(req: ClaimRequest): Promise<StoredJob[]> {
    return this.write(() => this.claimRows(req));
  }

  async completeAndClaim(
    queue: string,
    items: readonly CompleteItem[],
    now: number,
    claim: ClaimRequest,
  ): Promise<{ completed: boolean[]; claimed: StoredJob[] }> {
    return this.write(() => ({
      completed: this.completeRows(queue, items, now),
      claimed: this.claimRows(claim),
    }));
  }

  /** The body of `claim`; runs inside a write transaction. */
  private claimRows(req: ClaimRequest): StoredJob[] {
    if (req.groups) return this.features.groups.claim(req);
    const s = this.s;
    {
      const q = s.status.get(req.queue);
      if (q && (q.paused === 1 || q.throttled_until > req.now)) return [];
      s.promote.run(req.queue, req.now);
      let limit = req.limit;
      const rl = req.rateLimit;
      let start = 0;
      let used = 0;
      if (rl) {
        start = req.now - (req.now % rl.intervalMs);
        const w = s.window.get(req.queue);
        used = w && w.window_start === start ? w.window_count : 0;
        limit = Math.min(limit, rl.max - used);
        if (limit <= 0) return [];
      }
      const rows = this.claimStatement(limit).all({
        queue: req.queue,
        now: req.now,
        workerId: req.workerId,
        leaseUntil: req.now + req.leaseMs,
      });
      if (rl) {
        used += rows.length;
        const until = used >= rl.max ? start + rl.intervalMs : 0;
        s.setWindow.run({ queue: req.queue, start, count: used, until });
      }
      const jobs = rows.map(fromRaw);
      // RETURNING gives no order guarantee: restore claim order (the rowid breaks ties).
      const seq = new Map<StoredJob, number>();
      rows.forEach((r, i) => {
        seq.set(jobs[i]!, r[COLUMN_LIST.length] as number);
        // A grouped job claimed by a queue without `groups` still carries its group.
        const group = r[COLUMN_LIST.length + 1] as string | null;
        if (group !== null) jobs[i]!.group = group;
      });
      return jobs.sort((a, b) => b.priority - a.priority || a.runAt - b.runAt || seq.get(a)! - seq.get(b)!);
    }
  }

  async complete(queue: string, items: readonly CompleteItem[], now: number): Promise<boolean[]> {
    return this.write(() => this.completeRows(queue, items, now));
  }

  /** The body of `complete`; runs inside a write transaction. */
  private completeRows(queue: string, items: readonly CompleteItem[], now: number): boolean[] {
    const s = this.s;
    return items.map((i) => s.complete.run(i.result, now, now, queue, i.id, i.token).changes === 1);
  }

  async fail(queue: string, items: readonly FailItem[], now: number): Promise<boolean[]> {
    const s = this.s;
    return this.write(() =>
      items.map((i) => {
        const row = s.fenced.get(queue, i.id, i.token);
        if (!row) return false;
        const errors = i.error ? appendError(row.errors, i.error) : row.errors;
        if (i.store === 'dead') {
          const reason = i.reason ?? i.error?.message ?? 'dead';
          return s.dead.run(reason, errors, now, now, queue, i.id, i.token).changes === 1;
        }
        const state = i.runAt > now ? 'delayed' : 'waiting';
        return s[i.store].run(state, i.runAt, errors, now, queue, i.id, i.token).changes === 1;
      }),
    );
  }

  async heartbeat(
    queue: string,
    items: readonly { id: string; token: number }[],
    leaseMs: number,
    now: number,
  ): Promise<boolean[]> {
    const s = this.s;
    return this.write(() =>
      items.map((i) => s.heartbeat.run(now + leaseMs, queue, i.id, i.token).changes === 1),
    );
  }

  async update(
    queue: string,
    id: string,
    token: number,
    patch: { checkpoint?: string; progress?: string },
    now: number,
  ): Promise<boolean> {
    const s = this.s;
    return this.one(
      () =>
        s.update.run(patch.checkpoint ?? null, patch.progress ?? null, now, queue, id, token).changes === 1,
    );
  }

  async reapExpired(queue: string, now: number, limit: number): Promise<ReapResult> {
    const s = this.s;
    return this.write((): ReapResult => {
      const result: ReapResult = { requeued: [], dead: [] };
      for (const r of s.expired.all(queue, now, limit)) {
        const last = r.attempts >= r.max_attempts;
        const errors = appendError(r.errors, {
          attempt: r.attempts,
          category: 'transient',
          action: last ? 'dead' : 'stalled',
          name: 'LeaseExpired',
          message: 'the lease expired: the worker stopped heart-beating (crashed or blocked)',
          at: now,
        });
        if (last) {
          s.stalledDead.run('stalled on its last attempt', errors, now, now, queue, r.id);
          result.dead.push(r.id);
        } else {
          s.requeue.run(errors, now, queue, r.id);
          result.requeued.push(r.id);
        }
      }
      return result;
    });
  }

  async getJob(queue: string, id: string): Promise<StoredJob | null> {
    const s = this.s;
    const r = await this.one(() => s.get.get(queue, id));
    return r ? fromRow(r) : null;
  }

  async list(queue: string, filter: ListFilter, now: number): Promise<StoredJob[]> {
    const where: string[] = ['queue = @queue'];
    const params: Record<string, unknown> = { queue, now };
    if (filter.states && filter.states.length > 0) {
      const parts: string[] = [];
      for (const st of new Set(filter.states)) {
        if (st === 'waiting') parts.push(`(state = 'waiting' OR (state = 'delayed' AND run_at <= @now))`);
        else if (st === 'delayed') parts.push(`(state = 'delayed' AND run_at > @now)`);
        else parts.push(`state = '${st}'`);
      }
      where.push(`(${parts.join(' OR ')})`);
    }
    if (filter.correlationId !== undefined) {
      where.push('correlation_id = @correlationId');
      params.correlationId = filter.correlationId;
    }
    if (filter.search !== undefined && filter.search !== '') {
      where.push(
        `(id = @search OR name = @search OR correlation_id = @search OR instr(payload, @search) > 0)`,
      );
      params.search = filter.search;
    }
    const order =
      filter.order === 'next'
        ? 'priority DESC, run_at ASC, rowid ASC'
        : filter.order === 'asc'
          ? 'created_at ASC, rowid ASC'
          : 'created_at DESC, rowid DESC';
    params.limit = filter.limit ?? 100;
    params.offset = filter.offset ?? 0;
    const sql = `SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT @limit OFFSET @offset`;
    const db = this.db;
    return (await this.one(() => db.prepare<Record<string, unknown>, Row>(sql).all(params))).map(fromRow);
  }

  async counts(queue: string, now: number): Promise<StateCounts> {
    const s = this.s;
    return this.read(() => {
      const c = EMPTY_COUNTS();
      for (const r of s.countFinished.all(queue)) c[r.state] = r.n;
      c.delayed = s.countDelayed.get(queue, now)!.n;
      c.waiting = s.countWaiting.get(queue)!.n - c.delayed;
      c.active = s.countActive.get(queue)!.n;
      c.blocked = this.features.countBlocked(queue);
      return c;
    });
  }

  async nextRunAt(queue: string): Promise<number | null> {
    const s = this.s;
    return this.read(() => s.anyReady.get(queue)?.t ?? s.nextDelayed.get(queue)!.t);
  }

  async queues(): Promise<string[]> {
    const s = this.s;
    return (await this.one(() => s.queues.all())).map((r) => r.queue);
  }

  async status(queue: string): Promise<QueueStatus> {
    const s = this.s;
    const r = await this.one(() => s.status.get(queue));
    return {
      name: queue,
      paused: r?.paused === 1,
      pauseReason: r?.pause_reason ?? null,
      throttledUntil: r?.throttled_until ?? 0,
    };
  }

  async pause(queue: string, reason: string | null, now: number): Promise<boolean> {
    const s = this.s;
    return this.write(() => {
      const wasPaused = s.status.get(queue)?.paused === 1;
      if (!wasPaused) s.upsertQueue.run(queue, 1, reason, now);
      return !wasPaused;
    });
  }

  async resume(queue: string, now: number): Promise<void> {
    const s = this.s;
    await this.one(() => s.upsertQueue.run(queue, 0, null, now));
  }

  async throttle(queue: string, until: number): Promise<void> {
    const s = this.s;
    await this.one(() => s.throttle.run({ queue, until }));
  }

  async cancel(queue: string, ids: readonly string[], reason: string, now: number): Promise<string[]> {
    const s = this.s;
    return this.write(() => ids.filter((id) => s.cancel.run(reason, now, now, queue, id).changes === 1));
  }

  async clear(queue: string): Promise<number> {
    const s = this.s;
    return this.one(() => s.clear.run(queue).changes);
  }

  async replay(queue: string, ids: readonly string[] | undefined, now: number): Promise<string[]> {
    const s = this.s;
    return this.write(() =>
      ids === undefined
        ? s.replayAll.all(now, now, queue).map((r) => r.id)
        : ids.filter((id) => s.replayOne.run(now, now, queue, id).changes === 1),
    );
  }

  async purge(
    queue: string,
    states: readonly FinalState[],
    ids: readonly string[] | undefined,
  ): Promise<number> {
    const s = this.s;
    return this.write(() => {
      let n = 0;
      for (const st of states) {
        if (ids === undefined) n += s.deleteState.run(queue, st).changes;
        else for (const id of ids) n += s.deleteOne.run(queue, id, st).changes;
      }
      return n;
    });
  }

  async cleanup(queue: string, rules: readonly RetentionRule[], now: number): Promise<number> {
    const s = this.s;
    return this.write(() => {
      let n = 0;
      for (const r of rules) {
        if (r.maxAgeMs !== undefined) n += s.deleteOlder.run(queue, r.state, now - r.maxAgeMs).changes;
        if (r.maxCount !== undefined) n += s.deleteBeyond.run(queue, r.state, r.maxCount).changes;
      }
      return n;
    });
  }
}
