/** The SQLite store's cron schedules: one row per (queue, key), the spec as JSON text and the last tick. */
import type Database from 'better-sqlite3';
import type { StoredSchedule } from '../types.js';

export const SCHEDULES_MIGRATION = `
CREATE TABLE schedules (
  queue TEXT NOT NULL,
  key TEXT NOT NULL,
  spec TEXT NOT NULL,
  last_tick_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (queue, key)
);
`;

interface Row {
  queue: string;
  key: string;
  spec: string;
  last_tick_at: number;
  created_at: number;
  updated_at: number;
}

const toSchedule = (r: Row): StoredSchedule => ({
  queue: r.queue,
  key: r.key,
  spec: r.spec,
  lastTickAt: r.last_tick_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class SqliteSchedules {
  private readonly save: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly list: Database.Statement<[string], Row>;
  private readonly fired: Database.Statement;

  constructor(db: Database.Database) {
    // A new schedule starts at its creation; declaring it again keeps the last tick.
    this.save = db.prepare(`INSERT INTO schedules (queue, key, spec, last_tick_at, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (queue, key) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`);
    this.remove = db.prepare(`DELETE FROM schedules WHERE queue = ? AND key = ?`);
    this.list = db.prepare<[string], Row>(`SELECT * FROM schedules WHERE queue = ? ORDER BY key`);
    this.fired = db.prepare(`UPDATE schedules SET last_tick_at = max(last_tick_at, ?), updated_at = ?
        WHERE queue = ? AND key = ?`);
  }

  saveSchedule(queue: string, key: string, spec: string, now: number): void {
    this.save.run(queue, key, spec, now, now, now);
  }

  removeSchedule(queue: string, key: string): boolean {
    return this.remove.run(queue, key).changes === 1;
  }

  listSchedules(queue: string): StoredSchedule[] {
    return this.list.all(queue).map(toSchedule);
  }

  markScheduleFired(queue: string, key: string, tickAt: number, now: number): boolean {
    return this.fired.run(tickAt, now, queue, key).changes === 1;
  }
}
