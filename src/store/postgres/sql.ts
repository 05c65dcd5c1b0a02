/**
 * The store's statements, one per operation, for a given schema. Each has a name: `pg` prepares a
 * named statement once per connection, so the hot ones (claim, complete, fail, heartbeat) are parsed
 * and planned once. Names carry a hash of the schema so stores on different schemas can share a pool.
 */
import { createHash } from 'node:crypto';
import { appendErrorSql } from './migrations.js';

export interface Statement {
  name: string;
  text: string;
}

const FINAL = `('completed', 'dead', 'cancelled')`;

export function statements(schema: string, s: string) {
  const prefix = `bw_${createHash('sha1').update(schema).digest('hex').slice(0, 10)}_`;
  const st = (name: string, text: string): Statement => ({ name: prefix + name, text });
  const jobs = `${s}.jobs`;
  return {
    // The final SELECT reads the snapshot taken before the INSERT: it sees exactly the jobs that
    // existed already. The ids this call created ride on the first row (from `note`, whose LEFT JOIN
    // also makes sure the NOTIFY runs). NOTIFY is transactional: inside a caller's transaction it is
    // delivered on COMMIT and dropped on ROLLBACK.
    add: st(
      'add',
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::bigint[],
                              $7::integer[], $8::text[], $9::integer[], $10::text[], $11::text[], $12::text[],
                              $13::bigint[])
           WITH ORDINALITY AS t(queue, id, name, state, priority, run_at, max_attempts, backoff, timeout_ms,
                                correlation_id, metadata, payload, created_at, ord)
       ),
       ins AS (
         INSERT INTO ${jobs} (queue, id, name, state, priority, run_at, max_attempts, backoff, timeout_ms,
                              correlation_id, metadata, payload, created_at, updated_at)
         SELECT queue, id, name, state, priority, run_at, max_attempts, backoff, timeout_ms,
                correlation_id, metadata, payload, created_at, created_at
           FROM input ORDER BY ord
         ON CONFLICT (queue, id) DO NOTHING
         RETURNING queue, id
       ),
       note AS (
         SELECT n.created,
                -- Which ids were created matters only when some were not: then send them back.
                CASE WHEN n.created < cardinality($2::text[]) THEN (SELECT array_agg(queue) FROM ins) END
                  AS created_queues,
                CASE WHEN n.created < cardinality($2::text[]) THEN (SELECT array_agg(id) FROM ins) END
                  AS created_ids,
                (SELECT count(pg_notify($14, q)) FROM (SELECT DISTINCT queue AS q FROM ins) d) AS notified
           FROM (SELECT count(*) AS created FROM ins) n
       )
       SELECT note.created::integer AS created,
              CASE WHEN row_number() OVER () = 1 THEN note.created_queues END AS created_queues,
              CASE WHEN row_number() OVER () = 1 THEN note.created_ids END AS created_ids,
              j.*
         FROM note LEFT JOIN (
           SELECT jobs.* FROM ${jobs} jobs JOIN input i ON jobs.queue = i.queue AND jobs.id = i.id
            -- A one-time filter: when every row went in, there is nothing to look up.
            WHERE (SELECT created FROM note) < cardinality($2::text[])
         ) j ON true`,
    ),
    claim: st('claim', `SELECT * FROM ${s}.claim($1, $2, $3, $4, $5, $6, $7)`),
    complete: st(
      'complete',
      `UPDATE ${jobs} j
          SET state = 'completed', result = u.result, finished_at = $2, updated_at = $2, lease_expires_at = NULL
         FROM unnest($3::text[], $4::bigint[], $5::text[]) WITH ORDINALITY AS u(id, token, result, ord)
        WHERE j.queue = $1 AND j.id = u.id AND j.state = 'active' AND j.fence = u.token
       RETURNING u.ord`,
    ),
    // Completions and the next claim in one statement, so one commit. The two touch different rows
    // (active ones, waiting ones), so the order PostgreSQL runs them in does not matter. The LEFT JOIN
    // gives one row even when nothing is claimed, carrying the completed ordinals.
    completeAndClaim: st(
      'complete_claim',
      `WITH done AS (
         UPDATE ${jobs} j
            SET state = 'completed', result = u.result, finished_at = $2, updated_at = $2, lease_expires_at = NULL
           FROM unnest($3::text[], $4::bigint[], $5::text[]) WITH ORDINALITY AS u(id, token, result, ord)
          WHERE j.queue = $1 AND j.id = u.id AND j.state = 'active' AND j.fence = u.token
         RETURNING u.ord
       )
       SELECT CASE WHEN row_number() OVER () = 1 THEN (SELECT array_agg(ord) FROM done) END AS completed, c.*
         FROM (SELECT 1) one
         LEFT JOIN ${s}.claim($6, $7, $8, $9, $10, $11, $12) c ON true`,
    ),
    fail: st(
      'fail',
      `UPDATE ${jobs} j
          SET state = CASE WHEN u.move = 'dead' THEN 'dead'
                           WHEN u.run_at > $2 THEN 'delayed' ELSE 'waiting' END,
              run_at = CASE WHEN u.move = 'dead' THEN j.run_at ELSE u.run_at END,
              attempts = CASE WHEN u.move IN ('snooze', 'release') THEN j.attempts - 1 ELSE j.attempts END,
              snoozes = CASE WHEN u.move = 'snooze' THEN j.snoozes + 1 ELSE j.snoozes END,
              errors = CASE WHEN u.error IS NULL THEN j.errors ELSE ${appendErrorSql('j.errors', 'u.error')} END,
              reason = CASE WHEN u.move = 'dead' THEN u.reason ELSE j.reason END,
              finished_at = CASE WHEN u.move = 'dead' THEN $2 ELSE j.finished_at END,
              worker_id = CASE WHEN u.move = 'dead' THEN j.worker_id ELSE NULL END,
              lease_expires_at = NULL, updated_at = $2
         FROM unnest($3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::jsonb[], $8::text[])
              WITH ORDINALITY AS u(id, token, move, run_at, error, reason, ord)
        WHERE j.queue = $1 AND j.id = u.id AND j.state = 'active' AND j.fence = u.token
       RETURNING u.ord, j.state = 'waiting' AS ready`,
    ),
    heartbeat: st(
      'heartbeat',
      `UPDATE ${jobs} j SET lease_expires_at = $2
         FROM unnest($3::text[], $4::bigint[]) WITH ORDINALITY AS u(id, token, ord)
        WHERE j.queue = $1 AND j.id = u.id AND j.state = 'active' AND j.fence = u.token
       RETURNING u.ord`,
    ),
    update: st(
      'update',
      `UPDATE ${jobs} SET checkpoint = coalesce($4, checkpoint), progress = coalesce($5, progress), updated_at = $6
        WHERE queue = $1 AND id = $2 AND state = 'active' AND fence = $3
       RETURNING 1`,
    ),
    reap: st(
      'reap',
      `WITH expired AS (
         SELECT id, attempts >= max_attempts AS last FROM ${jobs}
          WHERE queue = $1 AND state = 'active' AND lease_expires_at < $2
          LIMIT $3 FOR UPDATE SKIP LOCKED
       )
       UPDATE ${jobs} j
          SET state = CASE WHEN e.last THEN 'dead' ELSE 'waiting' END,
              errors = ${appendErrorSql(
                'j.errors',
                `jsonb_build_object('attempt', j.attempts, 'category', 'transient',
                   'action', CASE WHEN e.last THEN 'dead' ELSE 'stalled' END, 'name', 'LeaseExpired',
                   'message', 'the lease expired: the worker stopped heart-beating (crashed or blocked)',
                   'at', $2::bigint)`,
              )},
              reason = CASE WHEN e.last THEN 'stalled on its last attempt' ELSE j.reason END,
              finished_at = CASE WHEN e.last THEN $2 ELSE j.finished_at END,
              worker_id = CASE WHEN e.last THEN j.worker_id ELSE NULL END,
              lease_expires_at = NULL, updated_at = $2
         FROM expired e
        WHERE j.queue = $1 AND j.id = e.id
       RETURNING j.id, e.last`,
    ),
    get: st('get', `SELECT * FROM ${jobs} WHERE queue = $1 AND id = $2`),
    counts: st(
      'counts',
      `SELECT state, state = 'delayed' AND run_at > $2 AS future, count(*)::integer AS n
         FROM ${jobs} WHERE queue = $1 GROUP BY 1, 2`,
    ),
    nextRunAt: st(
      'next_run_at',
      `SELECT coalesce(
         (SELECT run_at FROM ${jobs} WHERE queue = $1 AND state = 'waiting' LIMIT 1),
         (SELECT min(run_at) FROM ${jobs} WHERE queue = $1 AND state = 'delayed')) AS t`,
    ),
    // A loose index scan: one index probe per distinct queue, not a pass over every job.
    queues: st(
      'queues',
      `WITH RECURSIVE t(queue) AS (
         (SELECT queue FROM ${jobs} ORDER BY queue LIMIT 1)
         UNION ALL
         SELECT (SELECT queue FROM ${jobs} WHERE queue > t.queue ORDER BY queue LIMIT 1) FROM t
          WHERE t.queue IS NOT NULL
       )
       SELECT queue FROM t WHERE queue IS NOT NULL UNION SELECT name FROM ${s}.queues ORDER BY 1`,
    ),
    status: st('status', `SELECT paused, pause_reason, throttled_until FROM ${s}.queues WHERE name = $1`),
    // Returns a row only when this call paused the queue (it was running or unknown).
    pause: st(
      'pause',
      `INSERT INTO ${s}.queues AS q (name, paused, pause_reason, updated_at) VALUES ($1, true, $2, $3)
       ON CONFLICT (name) DO UPDATE SET paused = true, pause_reason = excluded.pause_reason,
         updated_at = excluded.updated_at
       WHERE NOT q.paused
       RETURNING 1`,
    ),
    resume: st(
      'resume',
      `WITH r AS (
         INSERT INTO ${s}.queues AS q (name, paused, pause_reason, updated_at) VALUES ($1, false, NULL, $2)
         ON CONFLICT (name) DO UPDATE SET paused = false, pause_reason = NULL, updated_at = excluded.updated_at
         RETURNING name
       )
       SELECT pg_notify($3, name) FROM r`,
    ),
    throttle: st(
      'throttle',
      `INSERT INTO ${s}.queues AS q (name, throttled_until, updated_at) VALUES ($1, $2, $2)
       ON CONFLICT (name) DO UPDATE SET throttled_until = greatest(q.throttled_until, excluded.throttled_until)`,
    ),
    notify: st('notify', `SELECT pg_notify($1, $2)`),
    cancel: st(
      'cancel',
      `UPDATE ${jobs} SET state = 'cancelled', reason = $3, finished_at = $4, updated_at = $4, lease_expires_at = NULL
        WHERE queue = $1 AND id = ANY ($2::text[]) AND state IN ('waiting', 'delayed', 'blocked', 'active')
       RETURNING id`,
    ),
    clear: st('clear', `DELETE FROM ${jobs} WHERE queue = $1 AND state IN ('waiting', 'delayed', 'blocked')`),
    replayIds: st(
      'replay_ids',
      `UPDATE ${jobs} SET state = 'waiting', attempts = 0, run_at = $3, reason = NULL, finished_at = NULL, updated_at = $3
        WHERE queue = $1 AND id = ANY ($2::text[]) AND state = 'dead'
       RETURNING id`,
    ),
    replayAll: st(
      'replay_all',
      `UPDATE ${jobs} SET state = 'waiting', attempts = 0, run_at = $2, reason = NULL, finished_at = NULL, updated_at = $2
        WHERE queue = $1 AND state = 'dead'
       RETURNING id`,
    ),
    purgeIds: st(
      'purge_ids',
      `DELETE FROM ${jobs} WHERE queue = $1 AND state = ANY ($2::text[]) AND id = ANY ($3::text[])`,
    ),
    purgeAll: st('purge_all', `DELETE FROM ${jobs} WHERE queue = $1 AND state = ANY ($2::text[])`),
    // Retention deletes in small batches (each its own transaction), so it never holds locks for long;
    // finished rows are outside every index a claim reads. By count it takes no SKIP LOCKED: a skipped
    // newer row would shift the offset and delete a row that should be kept.
    deleteOlder: st(
      'delete_older',
      `DELETE FROM ${jobs} WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM ${jobs} WHERE queue = $1 AND state = $2 AND state IN ${FINAL} AND finished_at < $3
          LIMIT $4 FOR UPDATE SKIP LOCKED))`,
    ),
    deleteBeyond: st(
      'delete_beyond',
      `DELETE FROM ${jobs} WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM ${jobs} WHERE queue = $1 AND state = $2 AND state IN ${FINAL}
          ORDER BY finished_at DESC, seq DESC OFFSET $3 LIMIT $4))`,
    ),
  };
}

export type Statements = ReturnType<typeof statements>;
