/** The PostgreSQL store's cron schedules: the table (a migration) and one statement per operation. */
import { statementNamer } from './named.js';

export const schedulesMigration = (s: string): string => `
CREATE TABLE ${s}.schedules (
  queue text NOT NULL,
  key text NOT NULL,
  spec text NOT NULL,
  last_tick_at bigint NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (queue, key)
);
`;

export function scheduleStatements(schema: string, s: string) {
  const st = statementNamer(schema);
  return {
    // A new schedule starts at its creation; declaring it again keeps the last tick.
    save: st(
      'schedule_save',
      `INSERT INTO ${s}.schedules (queue, key, spec, last_tick_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $4, $4)
       ON CONFLICT (queue, key) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`,
    ),
    remove: st('schedule_remove', `DELETE FROM ${s}.schedules WHERE queue = $1 AND key = $2`),
    list: st('schedule_list', `SELECT * FROM ${s}.schedules WHERE queue = $1 ORDER BY key`),
    fired: st(
      'schedule_fired',
      `UPDATE ${s}.schedules SET last_tick_at = greatest(last_tick_at, $3), updated_at = $4
        WHERE queue = $1 AND key = $2`,
    ),
  };
}

export interface ScheduleRow {
  queue: string;
  key: string;
  spec: string;
  last_tick_at: number;
  created_at: number;
  updated_at: number;
}
