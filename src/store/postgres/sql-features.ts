/**
 * The PostgreSQL store's SQL for jobs that use uniqueness, groups or flows: migrations and one named
 * statement per operation. Plain jobs never run these.
 */
import { statementNamer } from './named.js';

const UNFINISHED = `('waiting', 'delayed', 'blocked', 'active')`;

export const uniqueMigration = (s: string): string => `
ALTER TABLE ${s}.jobs ADD COLUMN unique_key text;
-- Unfinished jobs holding a unique key: the only rows in it, so plain jobs never touch it.
CREATE INDEX jobs_unique ON ${s}.jobs (queue, unique_key)
  WHERE unique_key IS NOT NULL AND state IN ${UNFINISHED};
`;

export function featureStatements(schema: string, s: string) {
  const st = statementNamer(schema);
  const jobs = `${s}.jobs`;
  return {
    get: st('f_get', `SELECT * FROM ${jobs} WHERE queue = $1 AND id = $2`),
    // Adds with the same unique key wait for each other (to the end of the transaction).
    lockKey: st('f_lock_key', `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`),
    // A waiting job holds the key before an active one: that is the one a debounce would change.
    holder: st(
      'f_holder',
      `SELECT * FROM ${jobs} WHERE queue = $1 AND unique_key = $2 AND state IN ${UNFINISHED}
        ORDER BY state = 'active', seq DESC LIMIT 1`,
    ),
    debounce: st(
      'f_debounce',
      `UPDATE ${jobs} SET payload = $3, run_at = $4::bigint,
              state = CASE WHEN $4::bigint > $5::bigint THEN 'delayed' ELSE 'waiting' END, updated_at = $5::bigint
        WHERE ctid = (SELECT ctid FROM ${jobs} WHERE queue = $1 AND unique_key = $2
                       AND state IN ('waiting', 'delayed') ORDER BY seq DESC LIMIT 1)
       RETURNING *`,
    ),
    insert: st(
      'f_insert',
      `INSERT INTO ${jobs} (queue, id, name, state, priority, run_at, max_attempts, backoff, timeout_ms,
                            correlation_id, metadata, payload, created_at, updated_at, unique_key)
       VALUES ($1, $2, $3, CASE WHEN $6::bigint > $13::bigint THEN 'delayed' ELSE 'waiting' END, $4, $6::bigint,
               $5, $7, $8, $9, $10, $11, $13::bigint, $13::bigint, $12)
       ON CONFLICT (queue, id) DO NOTHING
       RETURNING 1`,
    ),
    notify: st('f_notify', `SELECT pg_notify($1, $2)`),
  };
}

export type FeatureStatements = ReturnType<typeof featureStatements>;
