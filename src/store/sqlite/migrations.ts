import { SCHEDULES_MIGRATION } from './schedules.js';
import { UNIQUE_MIGRATION } from './features.js';
import { FLOWS_MIGRATION } from './flows.js';
import { GROUPS_MIGRATION } from './groups.js';

/**
 * Numbered migrations. The schema version lives in `PRAGMA user_version`; each migration runs in
 * the same IMMEDIATE transaction that bumps it, so two processes opening one file never both apply it.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs and queues',
    sql: `
CREATE TABLE jobs (
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT,
  state TEXT NOT NULL,
  priority INTEGER NOT NULL,
  run_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  fence INTEGER NOT NULL DEFAULT 0,
  snoozes INTEGER NOT NULL DEFAULT 0,
  backoff TEXT NOT NULL,
  timeout_ms INTEGER,
  correlation_id TEXT NOT NULL,
  metadata TEXT NOT NULL,
  payload TEXT NOT NULL,
  result TEXT,
  checkpoint TEXT,
  progress TEXT,
  errors TEXT NOT NULL DEFAULT '[]',
  reason TEXT,
  worker_id TEXT,
  lease_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
);
CREATE UNIQUE INDEX jobs_key ON jobs (queue, id);
-- Ready jobs only, in claim order: the claim reads the first rows. Jobs with a future run-at wait in
-- state 'delayed' (reported as waiting once due) and are promoted by the claim itself.
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at) WHERE state = 'waiting';
CREATE INDEX jobs_delayed ON jobs (queue, run_at) WHERE state = 'delayed';
CREATE INDEX jobs_lease ON jobs (queue, lease_expires_at) WHERE state = 'active';
-- Finished jobs only: claims and heartbeats never touch it; counts and retention read it.
CREATE INDEX jobs_finished ON jobs (queue, state, finished_at) WHERE state IN ('completed', 'dead', 'cancelled');
CREATE TABLE queues (
  name TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0,
  pause_reason TEXT,
  throttled_until INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'queue rate-limit windows',
    sql: `
ALTER TABLE queues ADD COLUMN window_start INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN window_count INTEGER NOT NULL DEFAULT 0;
`,
  },
  { version: 3, name: 'cron schedules', sql: SCHEDULES_MIGRATION },
  { version: 4, name: 'unique keys', sql: UNIQUE_MIGRATION },
  { version: 5, name: 'flows', sql: FLOWS_MIGRATION },
  { version: 6, name: 'fair groups', sql: GROUPS_MIGRATION },
];
