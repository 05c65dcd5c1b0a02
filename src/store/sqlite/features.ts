/**
 * The SQLite store's path for jobs that use uniqueness, groups or flows: its own insert (with the
 * feature columns) and the lookups those features need, inside the store's write transaction. Plain
 * jobs never come here, so the plain add stays as lean as it is.
 */
import type Database from 'better-sqlite3';
import type { AddResult, NewJob } from '../types.js';
import { SqliteFlows } from './flows.js';
import { SqliteGroups } from './groups.js';
import { fromRow, type Row } from './rows.js';

export const UNIQUE_MIGRATION = `
ALTER TABLE jobs ADD COLUMN unique_key TEXT;
-- Unfinished jobs holding a unique key: the only rows in it, so plain jobs never touch it.
CREATE INDEX jobs_unique ON jobs (queue, unique_key)
  WHERE unique_key IS NOT NULL AND state IN ('waiting', 'delayed', 'blocked', 'active');
`;

export class SqliteFeatures {
  readonly flows: SqliteFlows;
  readonly groups: SqliteGroups;
  private readonly insert: Database.Statement;
  private readonly get: Database.Statement<[string, string], Row>;
  private readonly holder: Database.Statement<[string, string], Row>;
  private readonly pendingHolder: Database.Statement<[string, string], Row>;
  private readonly debounce: Database.Statement;
  private readonly blocked: Database.Statement<[string], { n: number }>;

  constructor(db: Database.Database) {
    this.flows = new SqliteFlows(db);
    this.groups = new SqliteGroups(db);
    this.insert =
      db.prepare(`INSERT INTO jobs (queue, id, name, state, priority, run_at, max_attempts, backoff,
          timeout_ms, correlation_id, metadata, payload, created_at, updated_at, unique_key, depends_on,
          pending_deps, on_dep_dead, reason, finished_at, group_key, vtime)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (queue, id) DO NOTHING`);
    this.get = db.prepare<[string, string], Row>(`SELECT * FROM jobs WHERE queue = ? AND id = ?`);
    // A waiting job holds the key before an active one: that is the one a debounce would change.
    const unfinished = `SELECT * FROM jobs WHERE queue = ? AND unique_key = ?
          AND state IN ('waiting', 'delayed', 'blocked', 'active')`;
    this.holder = db.prepare<[string, string], Row>(
      `${unfinished} ORDER BY state = 'active', rowid DESC LIMIT 1`,
    );
    this.pendingHolder = db.prepare<[string, string], Row>(
      `${unfinished} AND state IN ('waiting', 'delayed') ORDER BY rowid DESC LIMIT 1`,
    );
    this.blocked = db.prepare<[string], { n: number }>(
      `SELECT count(*) AS n FROM jobs WHERE queue = ? AND state = 'blocked'`,
    );
    this.debounce = db.prepare(`UPDATE jobs SET payload = ?, run_at = ?, state = ?, updated_at = ?
        WHERE queue = ? AND id = ?`);
  }

  countBlocked(queue: string): number {
    return this.blocked.get(queue)!.n;
  }

  /** The body of `add` for jobs that use features; runs inside the store's write transaction. */
  add(jobs: readonly NewJob[]): AddResult[] {
    const out: AddResult[] = [];
    for (const j of jobs) {
      const existing = this.get.get(j.queue, j.id);
      if (existing) {
        out.push(fromRow(existing));
        continue;
      }
      if (j.uniqueKey !== undefined) {
        const held = this.holdsKey(j);
        if (held) {
          out.push(held);
          continue;
        }
      }
      let state = j.runAt > j.createdAt ? 'delayed' : 'waiting';
      let pending: string[] = [];
      let reason: string | null = null;
      if (j.dependsOn !== undefined) {
        const count = this.flows.start(j);
        pending = count.pending;
        if (count.failedBy !== null) {
          state = 'dead';
          reason = `dependency ${count.failedBy} is dead or cancelled`;
        } else if (pending.length > 0) {
          state = 'blocked';
        }
      }
      this.insert.run(
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
        j.createdAt,
        j.uniqueKey ?? null,
        j.dependsOn === undefined ? null : JSON.stringify(j.dependsOn),
        pending.length,
        j.onDependencyDead ?? null,
        reason,
        reason === null ? null : j.createdAt,
        j.group ?? null,
        j.group === undefined ? null : this.groups.tag(j),
      );
      if (pending.length > 0) this.flows.link(j.queue, j.id, pending);
      out.push(null);
    }
    return out;
  }

  /** The job that holds `j.uniqueKey` (debounced first, when the mode says so), or null. */
  private holdsKey(j: NewJob): AddResult {
    const key = j.uniqueKey!;
    if (j.uniqueMode === 'debounce') {
      const pending = this.pendingHolder.get(j.queue, key);
      if (!pending) return null;
      const state = j.runAt > j.createdAt ? 'delayed' : 'waiting';
      this.debounce.run(j.payload, j.runAt, state, j.createdAt, j.queue, pending.id);
      return fromRow(this.get.get(j.queue, pending.id)!);
    }
    const holder = this.holder.get(j.queue, key);
    return holder ? fromRow(holder) : null;
  }
}
