/**
 * The SQLite store's SQL. Statements are prepared once by the store; the claim is one statement per
 * batch size (see `claimSql`).
 */
import { COLUMNS } from './rows.js';

/**
 * The claim for one batch size. The LIMIT is written into the SQL, not bound: with a bound LIMIT
 * SQLite's plan for this UPDATE cost 4× more per claim (measured: 104 µs against 28 µs).
 */
export function claimSql(limit: number): string {
  return `UPDATE jobs SET state = 'active', attempts = attempts + 1, fence = fence + 1, worker_id = @workerId,
             lease_expires_at = @leaseUntil, started_at = @now, updated_at = @now
           WHERE rowid IN (SELECT rowid FROM jobs WHERE queue = @queue AND state = 'waiting'
                           ORDER BY priority DESC, run_at ASC, rowid ASC LIMIT ${Math.trunc(limit)})
           RETURNING ${COLUMNS}, rowid, group_key`;
}

/** The columns an insert writes, in the order `insertSql` binds them. */
const INSERT_COLUMNS = `queue, id, name, state, priority, run_at, max_attempts, backoff, timeout_ms,
  correlation_id, metadata, payload, created_at, updated_at`;
export const INSERT_PARAMS = 14;

/**
 * One statement that inserts `rows` jobs and returns the ids it created (an existing id is left as
 * it is). A statement per power-of-two size keeps the number of prepared statements small.
 */
export function insertSql(rows: number): string {
  const one = `(${new Array<string>(INSERT_PARAMS).fill('?').join(', ')})`;
  return `INSERT INTO jobs (${INSERT_COLUMNS}) VALUES ${new Array<string>(rows).fill(one).join(', ')}
    ON CONFLICT (queue, id) DO NOTHING RETURNING id`;
}

export const SQL = {
  get: `SELECT * FROM jobs WHERE queue = ? AND id = ?`,
  status: `SELECT paused, pause_reason, throttled_until FROM queues WHERE name = ?`,
  promote: `UPDATE jobs SET state = 'waiting' WHERE queue = ? AND state = 'delayed' AND run_at <= ?`,
  complete: `UPDATE jobs SET state = 'completed', result = ?, finished_at = ?, updated_at = ?, lease_expires_at = NULL
         WHERE queue = ? AND id = ? AND state = 'active' AND fence = ?`,
  fenced: `SELECT errors FROM jobs WHERE queue = ? AND id = ? AND state = 'active' AND fence = ?`,
  retry: `UPDATE jobs SET state = ?, run_at = ?, errors = ?, updated_at = ?, lease_expires_at = NULL, worker_id = NULL
         WHERE queue = ? AND id = ? AND state = 'active' AND fence = ?`,
  snooze: `UPDATE jobs SET state = ?, run_at = ?, errors = ?, updated_at = ?, lease_expires_at = NULL, worker_id = NULL,
           attempts = attempts - 1, snoozes = snoozes + 1
         WHERE queue = ? AND id = ? AND state = 'active' AND fence = ?`,
  release: `UPDATE jobs SET state = ?, run_at = ?, errors = ?, updated_at = ?, lease_expires_at = NULL, worker_id = NULL,
           attempts = attempts - 1
         WHERE queue = ? AND id = ? AND state = 'active' AND fence = ?`,
  dead: `UPDATE jobs SET state = 'dead', reason = ?, errors = ?, updated_at = ?, finished_at = ?, lease_expires_at = NULL
         WHERE queue = ? AND id = ? AND state = 'active' AND fence = ?`,
  heartbeat: `UPDATE jobs SET lease_expires_at = ? WHERE queue = ? AND id = ? AND state = 'active' AND fence = ?`,
  update: `UPDATE jobs SET checkpoint = coalesce(?, checkpoint), progress = coalesce(?, progress), updated_at = ?
         WHERE queue = ? AND id = ? AND state = 'active' AND fence = ?`,
  expired: `SELECT id, attempts, max_attempts, errors FROM jobs
         WHERE queue = ? AND state = 'active' AND lease_expires_at < ? LIMIT ?`,
  requeue: `UPDATE jobs SET state = 'waiting', errors = ?, updated_at = ?, lease_expires_at = NULL, worker_id = NULL
         WHERE queue = ? AND id = ? AND state = 'active'`,
  stalledDead: `UPDATE jobs SET state = 'dead', reason = ?, errors = ?, updated_at = ?, finished_at = ?, lease_expires_at = NULL
         WHERE queue = ? AND id = ? AND state = 'active'`,
  countFinished: `SELECT state, count(*) AS n FROM jobs WHERE queue = ? AND state IN ('completed', 'dead', 'cancelled') GROUP BY state`,
  countWaiting: `SELECT count(*) AS n FROM jobs WHERE queue = ? AND state IN ('waiting', 'delayed')`,
  countActive: `SELECT count(*) AS n FROM jobs WHERE queue = ? AND state = 'active'`,
  countDelayed: `SELECT count(*) AS n FROM jobs WHERE queue = ? AND state = 'delayed' AND run_at > ?`,
  anyReady: `SELECT run_at AS t FROM jobs WHERE queue = ? AND state = 'waiting' LIMIT 1`,
  nextDelayed: `SELECT min(run_at) AS t FROM jobs WHERE queue = ? AND state = 'delayed'`,
  queues: `SELECT DISTINCT queue FROM jobs UNION SELECT name FROM queues ORDER BY 1`,
  upsertQueue: `INSERT INTO queues (name, paused, pause_reason, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, pause_reason = excluded.pause_reason,
           updated_at = excluded.updated_at`,
  window: `SELECT window_start, window_count FROM queues WHERE name = ?`,
  setWindow: `INSERT INTO queues (name, window_start, window_count, throttled_until, updated_at) VALUES (@queue, @start, @count, @until, @start)
         ON CONFLICT (name) DO UPDATE SET window_start = excluded.window_start, window_count = excluded.window_count,
           throttled_until = max(throttled_until, excluded.throttled_until)`,
  throttle: `INSERT INTO queues (name, throttled_until, updated_at) VALUES (@queue, @until, @until)
         ON CONFLICT (name) DO UPDATE SET throttled_until = max(throttled_until, excluded.throttled_until)`,
  cancel: `UPDATE jobs SET state = 'cancelled', reason = ?, finished_at = ?, updated_at = ?, lease_expires_at = NULL
         WHERE queue = ? AND id = ? AND state IN ('waiting', 'delayed', 'blocked', 'active')`,
  clear: `DELETE FROM jobs WHERE queue = ? AND state IN ('waiting', 'delayed', 'blocked')`,
  replayOne: `UPDATE jobs SET state = 'waiting', attempts = 0, run_at = ?, reason = NULL, finished_at = NULL, updated_at = ?
         WHERE queue = ? AND id = ? AND state = 'dead'`,
  replayAll: `UPDATE jobs SET state = 'waiting', attempts = 0, run_at = ?, reason = NULL, finished_at = NULL, updated_at = ?
         WHERE queue = ? AND state = 'dead' RETURNING id`,
  deleteOne: `DELETE FROM jobs WHERE queue = ? AND id = ? AND state = ?`,
  deleteState: `DELETE FROM jobs WHERE queue = ? AND state = ?`,
  deleteOlder: `DELETE FROM jobs WHERE queue = ? AND state = ? AND finished_at < ?`,
  deleteBeyond: `DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs WHERE queue = ? AND state = ?
           ORDER BY finished_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
} as const;
