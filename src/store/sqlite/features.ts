/**
 * The SQLite store's path for jobs that use uniqueness, groups or flows: its own insert (with the
 * feature columns) and the lookups those features need, inside the store's write transaction. Plain
 * jobs never come here, so the plain add stays as lean as it is.
 */
import type Database from 'better-sqlite3';
import type { AddResult, NewJob } from '../types.js';
import { fromRow, type Row } from './rows.js';

export const UNIQUE_MIGRATION = `
ALTER TABLE jobs ADD COLUMN unique_key TEXT;
-- Unfinished jobs holding a unique key: the only rows in it, so plain jobs never touch it.
CREATE INDEX jobs_unique ON jobs (queue, unique_key)
  WHERE unique_key IS NOT NULL AND state IN ('waiting', 'delayed', 'blocked', 'active');
`;

export class SqliteFeatures {
  private readonly insert: Database.Statement;
  private readonly get: Database.Statement<[string, string], Row>;
  private readonly holder: Database.Statement<[string, string], Row>;
  private readonly pendingHolder: Database.Statement<[string, string], Row>;
  private readonly debounce: Database.Statement;

  constructor(db: Database.Database) {
    this.insert =
      db.prepare(`INSERT INTO jobs (queue, id, name, state, priority, run_at, max_attempts, backoff,
          timeout_ms, correlation_id, metadata, payload, created_at, updated_at, unique_key)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
    this.debounce = db.prepare(`UPDATE jobs SET payload = ?, run_at = ?, state = ?, updated_at = ?
        WHERE queue = ? AND id = ?`);
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
      this.insert.run(
        j.queue,
        j.id,
        j.name,
        j.runAt > j.createdAt ? 'delayed' : 'waiting',
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
      );
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
