/**
 * The PostgreSQL store's path for jobs that use uniqueness, groups or flows: one transaction (the
 * caller's when `tx` is given) in which each job is looked up, debounced or inserted. Plain jobs never
 * come here, so the plain add stays one statement.
 */
import type { ClientBase, Pool, QueryResult, QueryResultRow } from 'pg';
import type { AddResult, NewJob } from '../types.js';
import type { NamedStatement } from './named.js';
import { fromRow, type JobRow } from './rows.js';
import { featureStatements, type FeatureStatements } from './sql-features.js';

export type Queryable = Pick<ClientBase, 'query'>;
export type Run = <R extends QueryResultRow>(
  statement: NamedStatement,
  values: unknown[],
  on: Queryable,
) => Promise<QueryResult<R>>;

export class PgFeatures {
  private readonly sql: FeatureStatements;

  constructor(
    private readonly schema: string,
    quoted: string,
    private readonly channel: string,
    private readonly pool: Pool,
    private readonly run: Run,
  ) {
    this.sql = featureStatements(schema, quoted);
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
      const out: AddResult[] = [];
      const queues = new Set<string>();
      for (const j of jobs) {
        const found = await this.addOne(on, j);
        if (found === null) queues.add(j.queue);
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
    const inserted = await this.run(
      this.sql.insert,
      [
        j.queue,
        j.id,
        j.name,
        j.priority,
        j.maxAttempts,
        j.runAt,
        j.backoff,
        j.timeoutMs,
        j.correlationId,
        j.metadata,
        j.payload,
        j.uniqueKey ?? null,
        j.createdAt,
      ],
      on,
    );
    // Another caller's insert of the same id committed meanwhile: the row is theirs.
    return inserted.rows.length === 1 ? null : get();
  }
}
