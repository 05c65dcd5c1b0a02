import pg from 'pg';
import type { ClientBase, Pool, QueryResult, QueryResultRow } from 'pg';
import type {
  AddContext,
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
import { usesFeatures } from '../types.js';
import { coerceError, StoreClosedError, StoreError, ValidationError } from '../../kernel/errors.js';
import { SEARCH_TEXT, ensureSearchIndex, migrate } from './migrations.js';
import { NotifyListener, type ListenConnection } from './listener.js';
import { resolveOptions, type PostgresStoreOptions, type ResolvedOptions } from './options.js';
import { TYPES, fromRow, type JobRow } from './rows.js';
import { statements, type Statement, type Statements } from './sql.js';
import { scheduleStatements, type ScheduleRow } from './sql-schedules.js';
import { PgFeatures, limitsJson } from './features.js';

/** Something that runs queries: the store's pool, or the caller's client inside a transaction. */
type Queryable = Pick<ClientBase, 'query'>;

/** Rows deleted per statement by retention cleanup. */
const CLEANUP_BATCH = 1000;

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * The PostgreSQL store: many workers on many machines share one database. Claims take ready jobs
 * with `FOR UPDATE SKIP LOCKED` in one round trip (a function installed by the migrations);
 * outcomes are written in batches of one statement each; LISTEN/NOTIFY wakes idle workers; `add`
 * accepts the caller's client inside a transaction.
 */
export class PostgresStore implements Store {
  readonly name = 'postgres';
  readonly capabilities: StoreCapabilities;
  readonly schema: string;
  private readonly options: ResolvedOptions;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly quoted: string;
  /** The NOTIFY channel, one per schema. */
  private readonly channel: string;
  private readonly sql: Statements;
  private readonly schedulesSql: ReturnType<typeof scheduleStatements>;
  private readonly features: PgFeatures;
  private readonly listener: NotifyListener | undefined;
  private closing: Promise<void> | undefined;
  /** host:port of the server, named in every error so an operator knows which one failed. */
  private readonly where: string;

  constructor(options: PostgresStoreOptions) {
    this.options = resolveOptions(options);
    const o = this.options;
    this.where = serverOf(o);
    if (options.onError === undefined) o.onError = unheard(`[bulwark] [postgres ${this.where}]`);
    this.capabilities = { notify: o.listen, transactionalEnqueue: true, multiProcess: true, durable: true };
    this.schema = o.schema;
    this.quoted = quoteIdent(o.schema);
    this.channel = `bulwark_${o.schema}`;
    this.sql = statements(o.schema, this.quoted);
    this.schedulesSql = scheduleStatements(o.schema, this.quoted);
    if (o.pool) {
      this.pool = o.pool;
      this.ownsPool = false;
    } else {
      this.pool = new pg.Pool({
        connectionString: o.connectionString,
        max: o.maxConnections,
        connectionTimeoutMillis: o.connectTimeoutMs,
        application_name: 'bulwark',
      });
      this.ownsPool = true;
      // An idle connection that the server drops (restart, failover) is reported here, not thrown:
      // the pool discards it and opens a new one on the next query.
      this.pool.on('error', (e) => o.onError(coerceError(e)));
    }
    this.features = new PgFeatures(o.schema, this.quoted, this.channel, this.pool, (st, values, on) =>
      this.run(st, values, on),
    );
    if (o.listen) {
      this.listener = new NotifyListener(
        () => this.listenConnection(),
        quoteIdent(this.channel),
        o.reconnectMaxDelayMs,
        o.onError,
      );
    }
  }

  /** A connection outside the pool for the LISTEN (a user's pool lends one for as long as it lasts). */
  private async listenConnection(): Promise<ListenConnection> {
    const o = this.options;
    let done = false;
    if (!this.ownsPool) {
      const client = await this.pool.connect();
      return {
        client,
        release: () => {
          if (done) return;
          done = true;
          // Destroyed, never returned: a connection that LISTENs must not serve other queries.
          client.release(true);
        },
      };
    }
    const client = new pg.Client({
      connectionString: o.connectionString,
      connectionTimeoutMillis: o.connectTimeoutMs,
      application_name: 'bulwark-listener',
    });
    try {
      await client.connect();
    } catch (e) {
      client.end().catch(() => undefined);
      throw e;
    }
    return {
      client,
      release: () => {
        if (done) return;
        done = true;
        client.end().catch(() => undefined);
      },
    };
  }

  private get closed(): boolean {
    return this.closing !== undefined;
  }

  private async run<R extends QueryResultRow>(
    statement: Statement,
    values: unknown[],
    on: Queryable = this.pool,
  ): Promise<QueryResult<R>> {
    if (this.closed) throw new StoreClosedError('postgres');
    try {
      return await on.query<R>({ name: statement.name, text: statement.text, values, types: TYPES });
    } catch (e) {
      const err = coerceError(e);
      const code = (e as { code?: unknown }).code;
      throw new StoreError(
        `[bulwark] [postgres ${this.where}] ${statement.name.replace(/^bw_[0-9a-f]+_/, '')} failed: ${err.message}${typeof code === 'string' ? ` (${code})` : ''}`,
        { cause: e },
      );
    }
  }

  private async notify(queue: string): Promise<void> {
    await this.run(this.sql.notify, [this.channel, queue]);
  }

  async init(): Promise<void> {
    if (this.closed) throw new StoreClosedError('postgres');
    const client = await this.pool.connect().catch((e: unknown) => {
      throw new StoreError(`[bulwark] [postgres ${this.where}] cannot connect: ${coerceError(e).message}`, {
        cause: e,
      });
    });
    let broken: Error | undefined;
    let step = 'migration';
    try {
      await migrate(client, this.schema, this.quoted);
      step = 'searchIndex: making the pg_trgm index';
      if (this.options.searchIndex) await ensureSearchIndex(client, this.schema, this.quoted);
    } catch (e) {
      broken = coerceError(e);
      throw new StoreError(`[bulwark] [postgres ${this.where}] ${step} failed: ${broken.message}`, {
        cause: e,
      });
    } finally {
      client.release(broken);
    }
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.listener?.close();
      if (this.ownsPool) await this.pool.end();
    })());
  }

  subscribe(queue: string, onReady: () => void): () => void {
    if (!this.listener || this.closed) return () => undefined;
    return this.listener.subscribe(queue, onReady);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async add(jobs: readonly NewJob[], ctx?: AddContext): Promise<AddResult[]> {
    if (jobs.length === 0) return [];
    let on: Queryable = this.pool;
    if (ctx?.tx !== undefined) {
      const tx = ctx.tx as Queryable | null;
      if (typeof tx !== 'object' || tx === null || typeof tx.query !== 'function') {
        throw new ValidationError(
          '[bulwark] [postgres] ctx.tx must be a pg client (inside BEGIN … COMMIT), e.g. from pool.connect()',
          { path: 'ctx.tx' },
        );
      }
      on = tx;
    }
    if (jobs.some(usesFeatures)) return this.features.add(jobs, ctx?.tx === undefined ? undefined : on);
    const n = jobs.length;
    const cols = Array.from({ length: 13 }, () => new Array<unknown>(n));
    for (let i = 0; i < n; i++) {
      const j = jobs[i]!;
      cols[0]![i] = j.queue;
      cols[1]![i] = j.id;
      cols[2]![i] = j.name;
      cols[3]![i] = j.runAt > j.createdAt ? 'delayed' : 'waiting';
      cols[4]![i] = j.priority;
      cols[5]![i] = j.runAt;
      cols[6]![i] = j.maxAttempts;
      cols[7]![i] = j.backoff;
      cols[8]![i] = j.timeoutMs;
      cols[9]![i] = j.correlationId;
      cols[10]![i] = j.metadata;
      cols[11]![i] = j.payload;
      cols[12]![i] = j.createdAt;
    }
    const { rows } = await this.run<
      JobRow & { created: number; created_queues: string[] | null; created_ids: string[] | null }
    >(this.sql.add, [...cols, this.channel], on);
    const first = rows[0]!;
    if (first.created === n) return jobs.map(() => null);
    const key = (queue: string, id: string): string => `${queue}\u0000${id}`;
    const created = new Set<string>();
    first.created_ids?.forEach((id, i) => created.add(key(first.created_queues![i]!, id)));
    const existing = new Map<string, JobRow>();
    for (const r of rows) if (r.id !== null) existing.set(key(r.queue, r.id), r);
    const out: AddResult[] = [];
    let later: number[] | undefined;
    for (let i = 0; i < n; i++) {
      const k = key(jobs[i]!.queue, jobs[i]!.id);
      const found = existing.get(k);
      if (found) out.push(fromRow(found));
      else if (created.delete(k)) out.push(null);
      else {
        // The same id again in this call, or another caller's insert that committed meanwhile:
        // the row exists now and is not this item's.
        out.push(null);
        (later ??= []).push(i);
      }
    }
    for (const i of later ?? []) {
      const j = jobs[i]!;
      const r = await this.run<JobRow>(this.sql.get, [j.queue, j.id], on);
      out[i] = r.rows[0] ? fromRow(r.rows[0]) : null;
    }
    return out;
  }

  async claim(req: ClaimRequest): Promise<StoredJob[]> {
    if (req.groups) return this.claimGroups(req, this.pool);
    const rl = req.rateLimit;
    const { rows } = await this.run<JobRow>(this.sql.claim, [
      req.queue,
      req.workerId,
      req.limit,
      req.now + req.leaseMs,
      req.now,
      rl?.max ?? null,
      rl?.intervalMs ?? null,
    ]);
    return sortClaimed(rows).map(fromRow);
  }
  /** A claim fair across groups (`req.groups`), on `on` (the pool, or a client inside a transaction). */
  private async claimGroups(req: ClaimRequest, on: Queryable): Promise<StoredJob[]> {
    const rl = req.rateLimit;
    const { rows } = await this.run<JobRow>(
      this.features.group.claim,
      [
        req.queue,
        req.workerId,
        req.limit,
        req.now + req.leaseMs,
        req.now,
        rl?.max ?? null,
        rl?.intervalMs ?? null,
        limitsJson(req.groups!),
      ],
      on,
    );
    return rows.map(fromRow);
  }

  async complete(queue: string, items: readonly CompleteItem[], now: number): Promise<boolean[]> {
    if (items.length === 0) return [];
    const { rows } = await this.run<{ ord: number }>(this.sql.complete, [
      queue,
      now,
      items.map((i) => i.id),
      items.map((i) => i.token),
      items.map((i) => i.result),
    ]);
    return byOrdinal(items.length, rows);
  }

  async completeAndClaim(
    queue: string,
    items: readonly CompleteItem[],
    now: number,
    claim: ClaimRequest,
  ): Promise<{ completed: boolean[]; claimed: StoredJob[] }> {
    if (items.length === 0) return { completed: [], claimed: await this.claim(claim) };
    const rl = claim.rateLimit;
    // A claim fair across groups rides on the completions the same way, through its own function.
    const statement = claim.groups ? this.features.group.completeClaim : this.sql.completeAndClaim;
    const { rows } = await this.run<JobRow & { completed: number[] | null }>(statement, [
      queue,
      now,
      items.map((i) => i.id),
      items.map((i) => i.token),
      items.map((i) => i.result),
      claim.queue,
      claim.workerId,
      claim.limit,
      claim.now + claim.leaseMs,
      claim.now,
      rl?.max ?? null,
      rl?.intervalMs ?? null,
      ...(claim.groups ? [limitsJson(claim.groups)] : []),
    ]);
    const completed = new Array<boolean>(items.length).fill(false);
    for (const ord of rows[0]?.completed ?? []) completed[ord - 1] = true;
    const claimed = rows[0]?.id === null || rows[0]?.id === undefined ? [] : sortClaimed(rows);
    return { completed, claimed: claimed.map(fromRow) };
  }

  async fail(queue: string, items: readonly FailItem[], now: number): Promise<boolean[]> {
    if (items.length === 0) return [];
    const { rows } = await this.run<{ ord: number; ready: boolean }>(this.sql.fail, [
      queue,
      now,
      items.map((i) => i.id),
      items.map((i) => i.token),
      items.map((i) => i.store),
      items.map((i) => i.runAt),
      items.map((i) => (i.error ? JSON.stringify(i.error) : null)),
      items.map((i) => (i.store === 'dead' ? (i.reason ?? i.error?.message ?? 'dead') : null)),
    ]);
    // Jobs back in the queue and due now: tell idle workers elsewhere (local ones learn it from the worker).
    if (rows.some((r) => r.ready)) await this.notify(queue);
    return byOrdinal(items.length, rows);
  }

  async heartbeat(
    queue: string,
    items: readonly { id: string; token: number }[],
    leaseMs: number,
    now: number,
  ): Promise<boolean[]> {
    if (items.length === 0) return [];
    const { rows } = await this.run<{ ord: number }>(this.sql.heartbeat, [
      queue,
      now + leaseMs,
      items.map((i) => i.id),
      items.map((i) => i.token),
    ]);
    return byOrdinal(items.length, rows);
  }

  async update(
    queue: string,
    id: string,
    token: number,
    patch: { checkpoint?: string; progress?: string },
    now: number,
  ): Promise<boolean> {
    const r = await this.run(this.sql.update, [
      queue,
      id,
      token,
      patch.checkpoint ?? null,
      patch.progress ?? null,
      now,
    ]);
    return r.rows.length === 1;
  }

  async reapExpired(queue: string, now: number, limit: number): Promise<ReapResult> {
    const { rows } = await this.run<{ id: string; last: boolean }>(this.sql.reap, [queue, now, limit]);
    const result: ReapResult = { requeued: [], dead: [] };
    for (const r of rows) (r.last ? result.dead : result.requeued).push(r.id);
    if (result.requeued.length > 0) await this.notify(queue);
    return result;
  }

  async getJob(queue: string, id: string): Promise<StoredJob | null> {
    const { rows } = await this.run<JobRow>(this.sql.get, [queue, id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async list(queue: string, filter: ListFilter, now: number): Promise<StoredJob[]> {
    const values: unknown[] = [queue];
    const param = (v: unknown): string => {
      values.push(v);
      return `$${values.length}`;
    };
    const where: string[] = ['queue = $1'];
    if (filter.states && filter.states.length > 0) {
      const parts: string[] = [];
      const plain: string[] = [];
      for (const st of new Set(filter.states)) {
        if (st === 'waiting')
          parts.push(`state = 'waiting' OR (state = 'delayed' AND run_at <= ${param(now)})`);
        else if (st === 'delayed') parts.push(`(state = 'delayed' AND run_at > ${param(now)})`);
        else plain.push(st);
      }
      if (plain.length > 0) parts.push(`state = ANY (${param(plain)}::text[])`);
      where.push(`(${parts.join(' OR ')})`);
    }
    if (filter.correlationId !== undefined) where.push(`correlation_id = ${param(filter.correlationId)}`);
    if (filter.search !== undefined && filter.search !== '') {
      const p = param(filter.search);
      // LIKE rather than strpos: the same substring test, and one the opt-in trigram index answers.
      const like = param(`%${filter.search.replace(/[\\%_]/g, '\\$&')}%`);
      where.push(`(id = ${p} OR name = ${p} OR correlation_id = ${p} OR payload LIKE ${like})`);
      // Implied by the line above; with `searchIndex` the trigram index answers it.
      if (this.options.searchIndex) where.push(`${SEARCH_TEXT} LIKE ${like}`);
    }
    const order =
      filter.order === 'next'
        ? 'priority DESC, run_at ASC, seq ASC'
        : filter.order === 'asc'
          ? 'created_at ASC, seq ASC'
          : 'created_at DESC, seq DESC';
    const text = `SELECT * FROM ${this.quoted}.jobs WHERE ${where.join(' AND ')} ORDER BY ${order}
      LIMIT ${param(filter.limit ?? 100)} OFFSET ${param(filter.offset ?? 0)}`;
    if (this.closed) throw new StoreClosedError('postgres');
    try {
      const { rows } = await this.pool.query<JobRow>({ text, values, types: TYPES });
      return rows.map(fromRow);
    } catch (e) {
      throw new StoreError(`[bulwark] [postgres ${this.where}] list failed: ${coerceError(e).message}`, {
        cause: e,
      });
    }
  }

  async counts(queue: string, now: number): Promise<StateCounts> {
    const { rows } = await this.run<{ state: string; future: boolean; n: number }>(this.sql.counts, [
      queue,
      now,
    ]);
    const c: StateCounts = {
      waiting: 0,
      delayed: 0,
      blocked: 0,
      active: 0,
      completed: 0,
      dead: 0,
      cancelled: 0,
    };
    for (const r of rows) {
      if (r.state === 'delayed') c[r.future ? 'delayed' : 'waiting'] += r.n;
      else if (r.state in c) c[r.state as keyof StateCounts] += r.n;
    }
    return c;
  }

  async nextRunAt(queue: string): Promise<number | null> {
    const { rows } = await this.run<{ t: number | null }>(this.sql.nextRunAt, [queue]);
    return rows[0]?.t ?? null;
  }

  async queues(): Promise<string[]> {
    const { rows } = await this.run<{ queue: string }>(this.sql.queues, []);
    return rows.map((r) => r.queue);
  }

  async status(queue: string): Promise<QueueStatus> {
    const { rows } = await this.run<{
      paused: boolean;
      pause_reason: string | null;
      throttled_until: number;
    }>(this.sql.status, [queue]);
    const r = rows[0];
    return {
      name: queue,
      paused: r?.paused ?? false,
      pauseReason: r?.pause_reason ?? null,
      throttledUntil: r?.throttled_until ?? 0,
    };
  }

  async pause(queue: string, reason: string | null, now: number): Promise<boolean> {
    const { rows } = await this.run(this.sql.pause, [queue, reason, now]);
    return rows.length === 1;
  }

  async resume(queue: string, now: number): Promise<void> {
    await this.run(this.sql.resume, [queue, now, this.channel]);
  }

  async throttle(queue: string, until: number): Promise<void> {
    await this.run(this.sql.throttle, [queue, until]);
  }

  async cancel(queue: string, ids: readonly string[], reason: string, now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.run<{ id: string }>(this.sql.cancel, [queue, ids, reason, now]);
    return inInputOrder(ids, rows);
  }

  async clear(queue: string): Promise<number> {
    return (await this.run(this.sql.clear, [queue])).rowCount ?? 0;
  }

  async replay(queue: string, ids: readonly string[] | undefined, now: number): Promise<string[]> {
    let replayed: string[];
    if (ids === undefined) {
      replayed = (await this.run<{ id: string }>(this.sql.replayAll, [queue, now])).rows.map((r) => r.id);
    } else {
      if (ids.length === 0) return [];
      replayed = inInputOrder(
        ids,
        (await this.run<{ id: string }>(this.sql.replayIds, [queue, ids, now])).rows,
      );
    }
    if (replayed.length > 0) await this.notify(queue);
    return replayed;
  }

  async purge(
    queue: string,
    states: readonly FinalState[],
    ids: readonly string[] | undefined,
  ): Promise<number> {
    if (states.length === 0 || ids?.length === 0) return 0;
    const r =
      ids === undefined
        ? await this.run(this.sql.purgeAll, [queue, states])
        : await this.run(this.sql.purgeIds, [queue, states, ids]);
    return r.rowCount ?? 0;
  }

  async resolveDependants(queue: string, now: number, limit: number): Promise<ResolveResult> {
    const r = await this.features.resolve(queue, now, limit);
    if (r.ready.length > 0) await this.notify(queue);
    return r;
  }

  completeAfter(
    queue: string,
    item: CompleteItem,
    children: readonly string[],
    onDependencyDead: DeadDependency,
    now: number,
  ): Promise<StoredState | null> {
    if (this.closed) return Promise.reject(new StoreClosedError('postgres'));
    return this.features.completeAfter(
      queue,
      item.id,
      item.token,
      item.result,
      children,
      onDependencyDead,
      now,
    );
  }

  async getDependencies(queue: string, id: string): Promise<StoredJob[]> {
    return this.features.dependencies(queue, id);
  }

  async pauseGroup(queue: string, group: string, reason: string | null, _now: number): Promise<boolean> {
    return (await this.run(this.features.group.pause, [queue, group, reason])).rows.length === 1;
  }

  async resumeGroup(queue: string, group: string, _now: number): Promise<void> {
    await this.run(this.features.group.resume, [queue, group, this.channel]);
  }

  async throttleGroup(queue: string, group: string, until: number): Promise<void> {
    await this.run(this.features.group.throttle, [queue, group, until]);
  }

  async listGroups(
    queue: string,
    f: { paused?: boolean; throttledAfter?: number; limit: number; offset: number },
  ): Promise<GroupStatus[]> {
    const { rows } = await this.run<{
      name: string;
      paused: boolean;
      pause_reason: string | null;
      throttled_until: number;
      active: number;
      waiting: number;
    }>(this.features.group.list, [queue, f.paused ?? null, f.throttledAfter ?? null, f.limit, f.offset]);
    return rows.map((r) => ({
      name: r.name,
      paused: r.paused,
      pauseReason: r.pause_reason,
      throttledUntil: r.throttled_until,
      active: r.active,
      waiting: r.waiting,
    }));
  }

  async saveSchedule(queue: string, key: string, spec: string, now: number): Promise<void> {
    await this.run(this.schedulesSql.save, [queue, key, spec, now]);
  }

  async removeSchedule(queue: string, key: string): Promise<boolean> {
    return ((await this.run(this.schedulesSql.remove, [queue, key])).rowCount ?? 0) === 1;
  }

  async listSchedules(queue: string): Promise<StoredSchedule[]> {
    const { rows } = await this.run<ScheduleRow>(this.schedulesSql.list, [queue]);
    return rows.map((r) => ({
      queue: r.queue,
      key: r.key,
      spec: r.spec,
      lastTickAt: r.last_tick_at,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  async markScheduleFired(queue: string, key: string, tickAt: number, now: number): Promise<boolean> {
    return ((await this.run(this.schedulesSql.fired, [queue, key, tickAt, now])).rowCount ?? 0) === 1;
  }

  async cleanup(queue: string, rules: readonly RetentionRule[], now: number): Promise<number> {
    let total = 0;
    const drain = async (statement: Statement, values: (batch: number) => unknown[]): Promise<void> => {
      for (;;) {
        const n = (await this.run(statement, values(CLEANUP_BATCH))).rowCount ?? 0;
        total += n;
        if (n < CLEANUP_BATCH) return;
      }
    };
    for (const r of rules) {
      if (r.maxAgeMs !== undefined) {
        const cutoff = now - r.maxAgeMs;
        await drain(this.sql.deleteOlder, (batch) => [queue, r.state, cutoff, batch]);
      }
      if (r.maxCount !== undefined) {
        const keep = r.maxCount;
        await drain(this.sql.deleteBeyond, (batch) => [queue, r.state, keep, batch]);
      }
    }
    return total;
  }
}

/** RETURNING gives no order guarantee: restores claim order (seq breaks ties). */
function sortClaimed<R extends JobRow>(rows: R[]): R[] {
  if (rows.length > 1) rows.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.seq - b.seq);
  return rows;
}

function byOrdinal(n: number, rows: readonly { ord: number | string }[]): boolean[] {
  const out = new Array<boolean>(n).fill(false);
  for (const r of rows) out[Number(r.ord) - 1] = true;
  return out;
}

/** The ids the store changed, in the order asked, each once. */
function inInputOrder(ids: readonly string[], rows: readonly { id: string }[]): string[] {
  const changed = new Set(rows.map((r) => r.id));
  const out: string[] = [];
  for (const id of ids) {
    if (changed.delete(id)) out.push(id);
  }
  return out;
}

/** The server's host:port, from the connection string or the given pool's options. */
function serverOf(o: { connectionString: string | undefined; pool: Pool | undefined }): string {
  try {
    if (o.connectionString !== undefined) {
      const u = new URL(o.connectionString);
      return `${u.hostname || 'localhost'}:${u.port || 5432}`;
    }
  } catch {
    // Not a URL (a key=value string): name what the pool says below.
  }
  const p = (o.pool as { options?: { host?: string; port?: number } } | undefined)?.options;
  return `${p?.host ?? 'localhost'}:${p?.port ?? 5432}`;
}

/** Errors no call returns, with no onError to hear them: one stderr line per 10 s at most. */
function unheard(prefix: string): (e: Error) => void {
  let at = 0;
  let skipped = 0;
  return (e) => {
    const now = Date.now();
    if (now - at < 10_000) {
      skipped++;
      return;
    }
    console.error(
      `${prefix} ${e.message}${skipped ? ` (${skipped} more since the last report)` : ''} (give onError to handle these)`,
    );
    at = now;
    skipped = 0;
  };
}
