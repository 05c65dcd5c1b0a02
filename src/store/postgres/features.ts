/**
 * The PostgreSQL store's path for jobs that use uniqueness, groups or flows: one transaction (the
 * caller's when `tx` is given) in which each job is looked up, debounced or inserted. Plain jobs never
 * come here, so the plain add stays one statement.
 */
import type { ClientBase, Pool, QueryResult, QueryResultRow } from 'pg';
import { ValidationError } from '../../kernel/errors.js';
import type {
  AddResult,
  DeadDependency,
  GroupLimits,
  NewJob,
  ResolveResult,
  StoredJob,
  StoredState,
} from '../types.js';
import { countDependencies, planCompleteAfter } from '../shared/flows.js';
import type { NamedStatement } from './named.js';
import { fromRow, type JobRow } from './rows.js';
import { featureStatements, flowLockKey, flowStatements, type FeatureStatements } from './sql-features.js';
import { groupStatements } from './sql-groups.js';

export type Queryable = Pick<ClientBase, 'query'>;
export type Run = <R extends QueryResultRow>(
  statement: NamedStatement,
  values: unknown[],
  on: Queryable,
) => Promise<QueryResult<R>>;

export class PgFeatures {
  private readonly sql: FeatureStatements;
  private readonly flow: ReturnType<typeof flowStatements>;
  readonly group: ReturnType<typeof groupStatements>;

  constructor(
    private readonly schema: string,
    private readonly quoted: string,
    private readonly channel: string,
    private readonly pool: Pool,
    private readonly run: Run,
  ) {
    this.sql = featureStatements(schema, quoted);
    this.flow = flowStatements(schema, quoted);
    this.group = groupStatements(schema, quoted);
  }

  /**
   * Gives grouped jobs their virtual start times: one past the later of the group's last one and the
   * queue's clock, in the order given. Locks the groups' rows (in name order) to the end of the transaction.
   */
  private async tags(on: Queryable, queue: string, groups: readonly string[]): Promise<number[]> {
    const names = [...new Set(groups)].sort();
    await this.run(this.group.ensure, [queue, names], on);
    const { rows } = await this.run<{ name: string; last_vtime: number }>(
      this.group.lock,
      [queue, names],
      on,
    );
    const clock = (await this.run<{ vtime: number }>(this.group.clock, [queue], on)).rows[0]?.vtime ?? 0;
    const last = new Map(rows.map((r) => [r.name, Math.max(r.last_vtime, clock)]));
    const tags = groups.map((g) => {
      const t = last.get(g)! + 1;
      last.set(g, t);
      return t;
    });
    await this.run(this.group.setLast, [queue, [...last.keys()], [...last.values()]], on);
    return tags;
  }

  /** Adds jobs whose only feature is a group: a few statements for the whole batch. */
  private async addGrouped(on: Queryable, jobs: readonly NewJob[]): Promise<AddResult[]> {
    const queue = jobs[0]!.queue;
    const tags = await this.tags(
      on,
      queue,
      jobs.map((j) => j.group!),
    );
    const col = <T>(f: (j: NewJob) => T): T[] => jobs.map(f);
    const { rows } = await this.run<{ id: string }>(
      this.group.insert,
      [
        queue,
        col((j) => j.id),
        col((j) => j.name),
        col((j) => j.priority),
        col((j) => j.runAt),
        col((j) => j.maxAttempts),
        col((j) => j.backoff),
        col((j) => j.timeoutMs),
        col((j) => j.correlationId),
        col((j) => j.metadata),
        col((j) => j.payload),
        col((j) => j.createdAt),
        col((j) => j.group!),
        tags,
      ],
      on,
    );
    const created = new Set(rows.map((r) => r.id));
    const out: AddResult[] = [];
    for (const j of jobs) {
      if (created.delete(j.id)) out.push(null);
      else {
        const { rows: found } = await this.run<JobRow>(this.sql.get, [j.queue, j.id], on);
        out.push(found[0] ? fromRow(found[0]) : null);
      }
    }
    return out;
  }

  /** Runs `fn` in a transaction: the caller's (`tx`, already inside BEGIN) or one of its own. */
  async transaction<T>(tx: Queryable | undefined, fn: (on: Queryable) => Promise<T>): Promise<T> {
    if (tx) return fn(tx);
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch((r: unknown) => (broken = r as Error));
      throw e;
    } finally {
      client.release(broken);
    }
  }

  add(jobs: readonly NewJob[], tx: Queryable | undefined): Promise<AddResult[]> {
    return this.transaction(tx, async (on) => {
      const queue = jobs[0]?.queue;
      // Jobs whose only feature is a group, every one of them (a bulk may mix in plain jobs).
      const onlyGrouped = jobs.every(
        (j) =>
          j.queue === queue &&
          j.group !== undefined &&
          j.uniqueKey === undefined &&
          j.dependsOn === undefined,
      );
      if (onlyGrouped) {
        const out = await this.addGrouped(on, jobs);
        if (out.some((r) => r === null)) await this.run(this.sql.notify, [this.channel, queue], on);
        return out;
      }
      const out: AddResult[] = [];
      const queues = new Set<string>();
      const locked = new Set<string>();
      for (const j of jobs) {
        if (j.dependsOn !== undefined && !locked.has(j.queue)) {
          // Serializes with the queue's resolver: a dependency's state read here stays true until commit.
          await this.run(this.flow.lock, [flowLockKey(this.quoted, j.queue)], on);
          locked.add(j.queue);
        }
        const found = await this.addOne(on, j);
        if (found === null) {
          queues.add(j.queue);
          if (j.group !== undefined) {
            const [tag] = await this.tags(on, j.queue, [j.group]);
            await this.run(this.group.tagRow, [j.queue, j.id, j.group, tag], on);
          }
        }
        out.push(found);
      }
      // Delivered on COMMIT (dropped on ROLLBACK), like the plain add's notification.
      for (const q of queues) await this.run(this.sql.notify, [this.channel, q], on);
      return out;
    });
  }

  private async addOne(on: Queryable, j: NewJob): Promise<AddResult> {
    const get = async (): Promise<AddResult> => {
      const { rows } = await this.run<JobRow>(this.sql.get, [j.queue, j.id], on);
      return rows[0] ? fromRow(rows[0]) : null;
    };
    const existing = await get();
    if (existing) return existing;
    if (j.uniqueKey !== undefined) {
      await this.run(this.sql.lockKey, [`bulwark:${this.schema}:${j.queue}:${j.uniqueKey}`], on);
      if (j.uniqueMode === 'debounce') {
        const { rows } = await this.run<JobRow>(
          this.sql.debounce,
          [j.queue, j.uniqueKey, j.payload, j.runAt, j.createdAt],
          on,
        );
        if (rows[0]) return fromRow(rows[0]);
      } else {
        const { rows } = await this.run<JobRow>(this.sql.holder, [j.queue, j.uniqueKey], on);
        if (rows[0]) return fromRow(rows[0]);
      }
    }
    if (j.dependsOn !== undefined) return this.insertDependant(on, j, get);
    const state = j.runAt > j.createdAt ? 'delayed' : 'waiting';
    // Another caller's insert of the same id committed meanwhile: the row is theirs.
    return (await this.insert(on, j, state, 0, null)) ? null : get();
  }

  /** Inserts one job of this path in the state decided for it; false when the id exists. */
  private async insert(
    on: Queryable,
    j: NewJob,
    state: string,
    pending: number,
    reason: string | null,
  ): Promise<boolean> {
    const inserted = await this.run(
      this.sql.insert,
      [
        j.queue,
        j.id,
        j.name,
        state,
        j.priority,
        j.runAt,
        j.maxAttempts,
        j.backoff,
        j.timeoutMs,
        j.correlationId,
        j.metadata,
        j.payload,
        j.createdAt,
        j.uniqueKey ?? null,
        j.dependsOn === undefined ? null : JSON.stringify(j.dependsOn),
        pending,
        j.onDependencyDead ?? null,
        reason,
        reason === null ? null : j.createdAt,
      ],
      on,
    );
    return inserted.rows.length === 1;
  }

  private async states(on: Queryable, queue: string, ids: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await this.run<{ id: string; state: string }>(this.flow.states, [queue, ids], on);
    return new Map(rows.map((r) => [r.id, r.state]));
  }

  /** Inserts a job with dependencies (under the queue's flow lock): blocked, ready, or dead at once. */
  private async insertDependant(on: Queryable, j: NewJob, get: () => Promise<AddResult>): Promise<AddResult> {
    const states = await this.states(on, j.queue, j.dependsOn!);
    const count = countDependencies(
      j.dependsOn!,
      (id) => states.get(id),
      j.onDependencyDead ?? 'fail',
      (id) => {
        throw new ValidationError(
          `[bulwark] options.dependsOn: no job ${JSON.stringify(id)} in queue ${j.queue}`,
          { path: 'options.dependsOn' },
        );
      },
    );
    let state = j.runAt > j.createdAt ? 'delayed' : 'waiting';
    let reason: string | null = null;
    if (count.failedBy !== null) {
      state = 'dead';
      reason = `dependency ${count.failedBy} is ${states.get(count.failedBy)}`;
    } else if (count.pending.length > 0) state = 'blocked';
    if (!(await this.insert(on, j, state, count.pending.length, reason))) return get();
    if (count.pending.length > 0) await this.run(this.flow.edges, [j.queue, count.pending, j.id], on);
    return null;
  }

  async resolve(queue: string, now: number, limit: number): Promise<ResolveResult> {
    const { rows } = await this.run<{ kind: string; job_id: string | null }>(
      this.flow.resolve,
      [queue, now, limit],
      this.pool,
    );
    const out: ResolveResult = { ready: [], completed: [], dead: [], open: false };
    for (const r of rows) {
      if (r.kind === 'open') out.open = true;
      else if (r.kind === 'ready' || r.kind === 'completed' || r.kind === 'dead') out[r.kind].push(r.job_id!);
    }
    return out;
  }

  completeAfter(
    queue: string,
    id: string,
    token: number,
    result: string | null,
    children: readonly string[],
    policy: DeadDependency,
    now: number,
  ): Promise<StoredState | null> {
    return this.transaction(undefined, async (on) => {
      await this.run(this.flow.lock, [flowLockKey(this.quoted, queue)], on);
      const fenced = await this.run(this.flow.fenced, [queue, id, token], on);
      if (fenced.rows.length === 0) return null;
      const states = await this.states(on, queue, children);
      const plan = planCompleteAfter(children, (c) => states.get(c), policy);
      const deps = JSON.stringify(plan.known);
      if (plan.state === 'blocked') {
        await this.run(this.flow.block, [queue, id, result, plan.pending.length, policy, deps, now], on);
        await this.run(this.flow.edges, [queue, plan.pending, id], on);
      } else {
        await this.run(this.flow.finish, [queue, id, plan.state, result, plan.reason, deps, now], on);
      }
      return plan.state;
    });
  }

  async dependencies(queue: string, id: string): Promise<StoredJob[]> {
    const { rows } = await this.run<{ depends_on: string | null }>(
      this.flow.dependsOn,
      [queue, id],
      this.pool,
    );
    const text = rows[0]?.depends_on;
    if (!text) return [];
    const ids = JSON.parse(text) as string[];
    const found = await this.run<JobRow>(this.flow.many, [queue, ids], this.pool);
    const byId = new Map(found.rows.map((r) => [r.id, fromRow(r)]));
    return ids.flatMap((d) => byId.get(d) ?? []);
  }
}

/** The group claim's limits as the claim function reads them (jsonb). */
export const limitsJson = (limits: GroupLimits): string => JSON.stringify(limits);
