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
    // One insert for every job of this path: its state is decided before (waiting, delayed, blocked, dead).
    insert: st(
      'f_insert',
      `INSERT INTO ${jobs} (queue, id, name, state, priority, run_at, max_attempts, backoff, timeout_ms,
                            correlation_id, metadata, payload, created_at, updated_at, unique_key, depends_on,
                            pending_deps, on_dep_dead, reason, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, $8, $9, $10, $11, $12, $13::bigint, $13::bigint, $14, $15, $16,
               $17, $18, $19::bigint)
       ON CONFLICT (queue, id) DO NOTHING
       RETURNING 1`,
    ),
    notify: st('f_notify', `SELECT pg_notify($1, $2)`),
  };
}

export type FeatureStatements = ReturnType<typeof featureStatements>;

export const flowsMigration = (s: string): string => `
ALTER TABLE ${s}.jobs ADD COLUMN depends_on text, ADD COLUMN pending_deps integer NOT NULL DEFAULT 0,
  ADD COLUMN on_dep_dead text, ADD COLUMN after_deps text;
CREATE INDEX jobs_blocked ON ${s}.jobs (queue) WHERE state = 'blocked';
-- One row per open edge (dependency -> dependant); resolved edges are deleted.
CREATE TABLE ${s}.flow_edges (
  queue text NOT NULL,
  dependency_id text NOT NULL,
  dependant_id text NOT NULL,
  PRIMARY KEY (queue, dependant_id, dependency_id)
);
CREATE INDEX flow_edges_dependency ON ${s}.flow_edges (queue, dependency_id);

-- Settles the edges whose dependency finished, in one transaction. Adds of dependants and this
-- function take the queue's flow lock first (and nothing else takes it), so they never deadlock and a
-- dependant's count never misses a dependency. Rows: ('ready'|'completed'|'dead', id), and ('open', NULL)
-- while edges remain.
CREATE FUNCTION ${s}.resolve_dependants(p_queue text, p_now bigint, p_limit integer)
RETURNS TABLE (kind text, job_id text) LANGUAGE plpgsql AS $fn$
DECLARE
  c record;
  v_left integer;
  v_after text;
  v_budget integer := p_limit;
  v_n integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtextextended('bulwark-flows:' || ${literal(s)} || ':' || p_queue, 0)) THEN
    kind := 'open'; job_id := NULL; RETURN NEXT; RETURN;
  END IF;
  LOOP
    v_n := 0;
    FOR c IN
      SELECT e.dependency_id, e.dependant_id, d.state AS dep_state, t.state AS t_state, t.on_dep_dead AS policy
        FROM ${s}.flow_edges e
        LEFT JOIN ${s}.jobs d ON d.queue = e.queue AND d.id = e.dependency_id
        LEFT JOIN ${s}.jobs t ON t.queue = e.queue AND t.id = e.dependant_id
       WHERE e.queue = p_queue AND (d.state IS NULL OR d.state IN ('completed', 'dead', 'cancelled'))
         AND (d.state = 'completed' OR t.state IS NULL OR t.state <> 'blocked'
              OR coalesce(t.on_dep_dead, 'fail') <> 'wait')
       LIMIT v_budget
    LOOP
      v_n := v_n + 1;
      DELETE FROM ${s}.flow_edges
       WHERE queue = p_queue AND dependency_id = c.dependency_id AND dependant_id = c.dependant_id;
      CONTINUE WHEN c.t_state IS DISTINCT FROM 'blocked';
      IF c.dep_state = 'completed' OR coalesce(c.policy, 'fail') <> 'fail' THEN
        UPDATE ${s}.jobs SET pending_deps = pending_deps - 1, updated_at = p_now
         WHERE queue = p_queue AND id = c.dependant_id AND state = 'blocked'
        RETURNING pending_deps, after_deps INTO v_left, v_after;
        CONTINUE WHEN NOT FOUND OR v_left > 0;
        IF v_after = 'complete' THEN
          UPDATE ${s}.jobs SET state = 'completed', finished_at = p_now, updated_at = p_now
           WHERE queue = p_queue AND id = c.dependant_id;
          kind := 'completed';
        ELSE
          UPDATE ${s}.jobs SET state = CASE WHEN run_at > p_now THEN 'delayed' ELSE 'waiting' END, updated_at = p_now
           WHERE queue = p_queue AND id = c.dependant_id;
          kind := 'ready';
        END IF;
        job_id := c.dependant_id; RETURN NEXT;
      ELSE
        UPDATE ${s}.jobs SET state = 'dead', finished_at = p_now, updated_at = p_now,
               reason = 'dependency ' || c.dependency_id || ' is ' || coalesce(c.dep_state, 'gone')
         WHERE queue = p_queue AND id = c.dependant_id AND state = 'blocked';
        IF FOUND THEN kind := 'dead'; job_id := c.dependant_id; RETURN NEXT; END IF;
      END IF;
    END LOOP;
    v_budget := v_budget - v_n;
    EXIT WHEN v_n = 0 OR v_budget <= 0;
  END LOOP;
  IF EXISTS (SELECT 1 FROM ${s}.flow_edges WHERE queue = p_queue) THEN
    kind := 'open'; job_id := NULL; RETURN NEXT;
  END IF;
END
$fn$;
`;

/** A SQL string literal. */
const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** The key of a queue's flow lock (the same text the resolve function hashes). */
export const flowLockKey = (quoted: string, queue: string): string => `bulwark-flows:${quoted}:${queue}`;

export function flowStatements(schema: string, s: string) {
  const st = statementNamer(schema);
  const jobs = `${s}.jobs`;
  return {
    lock: st('f_flow_lock', `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`),
    states: st('f_states', `SELECT id, state FROM ${jobs} WHERE queue = $1 AND id = ANY ($2::text[])`),
    edges: st(
      'f_edges',
      `INSERT INTO ${s}.flow_edges (queue, dependency_id, dependant_id)
       SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING`,
    ),
    resolve: st('f_resolve', `SELECT * FROM ${s}.resolve_dependants($1, $2, $3)`),
    fenced: st(
      'f_fenced',
      `SELECT 1 FROM ${jobs} WHERE queue = $1 AND id = $2 AND state = 'active' AND fence = $3 FOR UPDATE`,
    ),
    block: st(
      'f_block',
      `UPDATE ${jobs} SET state = 'blocked', result = $3, pending_deps = $4, on_dep_dead = $5, after_deps = 'complete',
              depends_on = $6, lease_expires_at = NULL, updated_at = $7
        WHERE queue = $1 AND id = $2`,
    ),
    finish: st(
      'f_finish',
      `UPDATE ${jobs} SET state = $3, result = $4, reason = $5, depends_on = $6, finished_at = $7, updated_at = $7,
              lease_expires_at = NULL
        WHERE queue = $1 AND id = $2`,
    ),
    dependsOn: st('f_depends_on', `SELECT depends_on FROM ${jobs} WHERE queue = $1 AND id = $2`),
    many: st('f_many', `SELECT * FROM ${jobs} WHERE queue = $1 AND id = ANY ($2::text[])`),
  };
}
