/**
 * Numbered migrations. Each one's SQL is a function of the quoted schema name. `migrate` applies
 * the pending ones in one transaction under an advisory lock keyed by the schema, so any number of
 * processes may start at once: the first applies them, the others wait and then find nothing to do.
 */
import type { ClientBase } from 'pg';
import { ERROR_HISTORY_LIMIT } from '../types.js';
import { schedulesMigration } from './sql-schedules.js';
import { flowsMigration, uniqueMigration } from './sql-features.js';
import { groupsMigration } from './sql-groups.js';

export interface Migration {
  version: number;
  name: string;
  sql: (s: string) => string;
}

/** Builds `errors` with `record` appended, dropping the oldest beyond ERROR_HISTORY_LIMIT. */
export const appendErrorSql = (errors: string, record: string): string =>
  `(CASE WHEN jsonb_array_length(${errors}) >= ${ERROR_HISTORY_LIMIT} THEN ${errors} - 0 ELSE ${errors} END) || jsonb_build_array(${record})`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs, queues and the claim function',
    sql: (s) => `
-- Columns that never change come first and those a claim or an outcome writes come last: an update
-- that stays on its page (fillfactor leaves room) then logs only the changed tail of the row.
CREATE TABLE ${s}.jobs (
  seq bigint GENERATED ALWAYS AS IDENTITY,
  created_at bigint NOT NULL,
  priority integer NOT NULL,
  max_attempts integer NOT NULL,
  timeout_ms integer,
  queue text NOT NULL,
  id text NOT NULL,
  name text,
  backoff text NOT NULL,
  correlation_id text NOT NULL,
  metadata text NOT NULL,
  payload text NOT NULL,
  run_at bigint NOT NULL,
  fence bigint NOT NULL DEFAULT 0,
  updated_at bigint NOT NULL,
  lease_expires_at bigint,
  started_at bigint,
  finished_at bigint,
  attempts integer NOT NULL DEFAULT 0,
  snoozes integer NOT NULL DEFAULT 0,
  -- 'delayed' is stored for a future run-at (reported as waiting once due); the claim promotes it.
  state text NOT NULL,
  worker_id text,
  result text,
  checkpoint text,
  progress text,
  errors jsonb NOT NULL DEFAULT '[]',
  reason text,
  PRIMARY KEY (queue, id)
) WITH (fillfactor = 50);
-- Ready jobs only, in claim order: a claim reads the first entries whatever the finished rows number.
CREATE INDEX jobs_claim ON ${s}.jobs (queue, priority DESC, run_at, seq) WHERE state = 'waiting';
CREATE INDEX jobs_delayed ON ${s}.jobs (queue, run_at) WHERE state = 'delayed';
CREATE INDEX jobs_lease ON ${s}.jobs (queue, lease_expires_at) WHERE state = 'active';
-- Finished jobs only: claims and heartbeats never touch it; counts and retention read it.
CREATE INDEX jobs_finished ON ${s}.jobs (queue, state, finished_at, seq)
  WHERE state IN ('completed', 'dead', 'cancelled');

CREATE TABLE ${s}.queues (
  name text PRIMARY KEY,
  paused boolean NOT NULL DEFAULT false,
  pause_reason text,
  throttled_until bigint NOT NULL DEFAULT 0,
  window_start bigint NOT NULL DEFAULT 0,
  window_count integer NOT NULL DEFAULT 0,
  updated_at bigint NOT NULL
);

-- One round trip per claim: the pause/throttle check, the rate-limit window, the promotion of due
-- delayed jobs and the SKIP LOCKED lease, all in one statement's transaction.
CREATE FUNCTION ${s}.claim(p_queue text, p_worker text, p_limit integer, p_lease_until bigint,
                           p_now bigint, p_rl_max integer, p_rl_interval bigint)
RETURNS SETOF ${s}.jobs LANGUAGE plpgsql AS $fn$
DECLARE
  q record;
  v_limit integer := p_limit;
  v_start bigint := 0;
  v_used integer := 0;
  v_n integer;
BEGIN
  IF p_rl_max IS NULL THEN
    SELECT paused, throttled_until INTO q FROM ${s}.queues WHERE name = p_queue;
  ELSE
    -- The window count is shared by every worker: take the queue row's lock to count it.
    INSERT INTO ${s}.queues (name, updated_at) VALUES (p_queue, p_now) ON CONFLICT (name) DO NOTHING;
    SELECT paused, throttled_until, window_start, window_count INTO q
      FROM ${s}.queues WHERE name = p_queue FOR UPDATE;
  END IF;
  IF FOUND AND (q.paused OR q.throttled_until > p_now) THEN
    RETURN;
  END IF;
  IF p_rl_max IS NOT NULL THEN
    v_start := p_now - (p_now % p_rl_interval);
    IF q.window_start = v_start THEN
      v_used := q.window_count;
    END IF;
    v_limit := least(v_limit, p_rl_max - v_used);
    IF v_limit <= 0 THEN
      RETURN;
    END IF;
  END IF;

  UPDATE ${s}.jobs SET state = 'waiting'
   WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${s}.jobs
                            WHERE queue = p_queue AND state = 'delayed' AND run_at <= p_now
                            FOR UPDATE SKIP LOCKED));

  RETURN QUERY
  UPDATE ${s}.jobs j
     SET state = 'active', attempts = j.attempts + 1, fence = j.fence + 1, worker_id = p_worker,
         lease_expires_at = p_lease_until, started_at = p_now, updated_at = p_now
   WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM ${s}.jobs
                              WHERE queue = p_queue AND state = 'waiting'
                              ORDER BY priority DESC, run_at, seq
                              LIMIT v_limit
                              FOR UPDATE SKIP LOCKED))
  RETURNING j.*;
  GET DIAGNOSTICS v_n = ROW_COUNT;

  IF p_rl_max IS NOT NULL THEN
    UPDATE ${s}.queues
       SET window_start = v_start, window_count = v_used + v_n,
           throttled_until = CASE WHEN v_used + v_n >= p_rl_max
                                  THEN greatest(throttled_until, v_start + p_rl_interval)
                                  ELSE throttled_until END
     WHERE name = p_queue;
  END IF;
END
$fn$;
`,
  },
  {
    version: 2,
    name: 'newest-first index for job lists',
    // The dashboard and `bulwark jobs list` page through a queue's jobs newest first: without this
    // index each page sorts the whole queue (2 s over a million jobs), with it a page reads 50 entries.
    sql: (s) => `CREATE INDEX IF NOT EXISTS jobs_newest ON ${s}.jobs (queue, created_at DESC, seq DESC);`,
  },
  { version: 3, name: 'cron schedules', sql: schedulesMigration },
  { version: 4, name: 'unique keys', sql: uniqueMigration },
  { version: 5, name: 'flows', sql: flowsMigration },
  { version: 6, name: 'fair groups', sql: groupsMigration },
];

/** Applies pending migrations; returns the versions applied by this call. */
export async function migrate(client: ClientBase, schema: string, quoted: string): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    // Keyed by schema: stores on other schemas of the same database migrate independently.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`bulwark:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${quoted}.migrations`,
    );
    const current = rows[0]?.v ?? 0;
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql(quoted));
      await client.query(`INSERT INTO ${quoted}.migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  return applied;
}

/**
 * What the opt-in trigram index covers: every field a search looks at, in one text, so that a
 * search's four-way OR (id, name, correlation id, payload) has one indexed condition that implies it.
 */
export const SEARCH_TEXT = `(id || ' ' || coalesce(name, '') || ' ' || correlation_id || ' ' || payload)`;

/**
 * The opt-in trigram index on payloads (`searchIndex: true`): the pg_trgm extension, made if missing,
 * and a GIN index that a `LIKE '%text%'` search reads. Under the same lock as the migrations, so that
 * processes starting together do not race to make them.
 */
export async function ensureSearchIndex(client: ClientBase, schema: string, quoted: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`bulwark:${schema}`]);
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    const { rows } = await client.query<{ nsp: string }>(
      `SELECT n.nspname AS nsp FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm'`,
    );
    const ops = `"${rows[0]!.nsp.replace(/"/g, '""')}".gin_trgm_ops`;
    await client.query(
      `CREATE INDEX IF NOT EXISTS jobs_search_trgm ON ${quoted}.jobs USING gin (${SEARCH_TEXT} ${ops})`,
    );
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
