/**
 * The PostgreSQL store's fair groups: a migration (columns, indexes, the groups table and the group
 * claim function) and one statement per operation. See src/core/groups.ts for the fairness rule.
 */
import { statementNamer } from './named.js';

/** Candidates read per claim slot: enough to step past groups at their limit. */
const SCAN_PER_SLOT = 4;
const SCAN_MIN = 32;
/** Jobs without a group fill what the groups leave, from this many at the head of the queue. */
const UNGROUPED_SCAN = 200;

export const groupsMigration = (s: string): string => `
ALTER TABLE ${s}.jobs ADD COLUMN group_key text, ADD COLUMN vtime bigint;
-- Grouped jobs only: claim order across groups, and per group the active and waiting ones.
CREATE INDEX jobs_group_ready ON ${s}.jobs (queue, vtime, priority DESC, run_at, seq)
  WHERE state = 'waiting' AND group_key IS NOT NULL;
CREATE INDEX jobs_group ON ${s}.jobs (queue, group_key, state)
  WHERE group_key IS NOT NULL AND state IN ('waiting', 'delayed', 'active');
CREATE TABLE ${s}.groups (
  queue text NOT NULL,
  name text NOT NULL,
  paused boolean NOT NULL DEFAULT false,
  pause_reason text,
  throttled_until bigint NOT NULL DEFAULT 0,
  window_start bigint NOT NULL DEFAULT 0,
  window_count integer NOT NULL DEFAULT 0,
  last_vtime bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, name)
);
CREATE INDEX groups_held ON ${s}.groups (queue) WHERE paused OR throttled_until > 0;
CREATE TABLE ${s}.group_clocks (queue text PRIMARY KEY, vtime bigint NOT NULL DEFAULT 0);

-- A claim fair across groups: candidates in virtual-time order, each group held to its limits. When
-- limits are set, the candidates' group rows are locked in name order first, so concurrent claims of
-- the same groups take turns (and never deadlock) and each counts the others' claims.
CREATE FUNCTION ${s}.claim_groups(p_queue text, p_worker text, p_limit integer, p_lease_until bigint,
                                  p_now bigint, p_rl_max integer, p_rl_interval bigint, p_limits jsonb)
RETURNS SETOF ${s}.jobs LANGUAGE plpgsql AS $fn$
DECLARE
  q record;
  g record;
  c record;
  v_limit integer := p_limit;
  v_start bigint := 0;
  v_used integer := 0;
  v_n integer;
  v_limited boolean := p_limits ? 'concurrency' OR p_limits ? 'rateLimit' OR p_limits ? 'overrides';
  v_groups text[];
  v_room jsonb := '{}';
  v_left integer;
  v_conc integer;
  v_rl jsonb;
  v_gstart bigint;
  v_ctids tid[] := '{}';
  v_taken jsonb := '{}';
  v_max bigint := 0;
  v_found boolean;
  v_held text[];
BEGIN
  IF p_rl_max IS NULL THEN
    SELECT paused, throttled_until INTO q FROM ${s}.queues WHERE name = p_queue;
  ELSE
    INSERT INTO ${s}.queues (name, updated_at) VALUES (p_queue, p_now) ON CONFLICT (name) DO NOTHING;
    SELECT paused, throttled_until, window_start, window_count INTO q
      FROM ${s}.queues WHERE name = p_queue FOR UPDATE;
  END IF;
  IF FOUND AND (q.paused OR q.throttled_until > p_now) THEN
    RETURN;
  END IF;
  IF p_rl_max IS NOT NULL THEN
    v_start := p_now - (p_now % p_rl_interval);
    IF q.window_start = v_start THEN v_used := q.window_count; END IF;
    v_limit := least(v_limit, p_rl_max - v_used);
    IF v_limit <= 0 THEN RETURN; END IF;
  END IF;

  UPDATE ${s}.jobs SET state = 'waiting'
   WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${s}.jobs
                            WHERE queue = p_queue AND state = 'delayed' AND run_at <= p_now
                            FOR UPDATE SKIP LOCKED));

  -- Paused and throttled groups, found through their own index rather than group by group.
  SELECT coalesce(array_agg(name), '{}') INTO v_held FROM ${s}.groups
   WHERE queue = p_queue AND (paused OR throttled_until > 0) AND (paused OR throttled_until > p_now);

  IF v_limited THEN
    SELECT array_agg(DISTINCT group_key) INTO v_groups FROM (
      SELECT group_key FROM ${s}.jobs WHERE queue = p_queue AND state = 'waiting' AND group_key IS NOT NULL
       ORDER BY vtime, priority DESC, run_at, seq LIMIT v_limit * ${SCAN_PER_SLOT} + ${SCAN_MIN}) h;
    PERFORM 1 FROM ${s}.groups WHERE queue = p_queue AND name = ANY (v_groups) ORDER BY name FOR UPDATE;
  END IF;

  IF NOT v_limited AND cardinality(v_held) = 0 THEN
    -- No limits and no group held back: the head of the fair order is the claim.
    SELECT coalesce(array_agg(x.t), '{}'), coalesce(max(x.vtime), 0) INTO v_ctids, v_max FROM (
      SELECT ctid AS t, vtime FROM ${s}.jobs
       WHERE queue = p_queue AND state = 'waiting' AND group_key IS NOT NULL
       ORDER BY vtime, priority DESC, run_at, seq
       LIMIT v_limit
       FOR UPDATE SKIP LOCKED) x;
  ELSE
  FOR c IN
    SELECT ctid AS t, group_key, vtime FROM ${s}.jobs
     WHERE queue = p_queue AND state = 'waiting' AND group_key IS NOT NULL
     ORDER BY vtime, priority DESC, run_at, seq
     LIMIT v_limit * ${SCAN_PER_SLOT} + ${SCAN_MIN}
     FOR UPDATE SKIP LOCKED
  LOOP
    EXIT WHEN cardinality(v_ctids) >= v_limit;
    IF NOT v_room ? c.group_key THEN
      IF c.group_key = ANY (v_held) THEN
        v_left := 0;
      ELSIF NOT v_limited THEN
        v_left := v_limit;
      ELSE
        SELECT * INTO g FROM ${s}.groups WHERE queue = p_queue AND name = c.group_key;
        v_found := FOUND;
        v_left := v_limit;
        v_conc := coalesce((p_limits -> 'overrides' -> c.group_key ->> 'concurrency')::integer,
                           (p_limits ->> 'concurrency')::integer);
        IF v_conc IS NOT NULL THEN
          v_left := least(v_left, v_conc - (SELECT count(*) FROM ${s}.jobs
                                             WHERE queue = p_queue AND group_key = c.group_key AND state = 'active'));
        END IF;
        v_rl := coalesce(p_limits -> 'overrides' -> c.group_key -> 'rateLimit', p_limits -> 'rateLimit');
        IF v_rl IS NOT NULL THEN
          v_gstart := p_now - (p_now % (v_rl ->> 'intervalMs')::bigint);
          v_left := least(v_left, (v_rl ->> 'max')::integer
                                  - CASE WHEN v_found AND g.window_start = v_gstart THEN g.window_count ELSE 0 END);
        END IF;
      END IF;
      v_room := v_room || jsonb_build_object(c.group_key, v_left);
    END IF;
    v_left := (v_room ->> c.group_key)::integer;
    CONTINUE WHEN v_left <= 0;
    v_room := v_room || jsonb_build_object(c.group_key, v_left - 1);
    v_taken := v_taken || jsonb_build_object(c.group_key, coalesce((v_taken ->> c.group_key)::integer, 0) + 1);
    v_ctids := v_ctids || c.t;
    v_max := greatest(v_max, c.vtime);
  END LOOP;
  END IF;

  IF cardinality(v_ctids) < v_limit THEN
    v_ctids := v_ctids || ARRAY(
      SELECT ctid FROM ${s}.jobs
       WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${s}.jobs WHERE queue = p_queue AND state = 'waiting'
                                ORDER BY priority DESC, run_at, seq LIMIT ${UNGROUPED_SCAN}))
         AND group_key IS NULL
       LIMIT v_limit - cardinality(v_ctids)
       FOR UPDATE SKIP LOCKED);
  END IF;

  RETURN QUERY
  UPDATE ${s}.jobs j
     SET state = 'active', attempts = j.attempts + 1, fence = j.fence + 1, worker_id = p_worker,
         lease_expires_at = p_lease_until, started_at = p_now, updated_at = p_now
   WHERE j.ctid = ANY (v_ctids)
  RETURNING j.*;
  GET DIAGNOSTICS v_n = ROW_COUNT;

  FOR g IN SELECT key AS name, value::integer AS n FROM jsonb_each_text(v_taken) LOOP
    v_rl := coalesce(p_limits -> 'overrides' -> g.name -> 'rateLimit', p_limits -> 'rateLimit');
    CONTINUE WHEN v_rl IS NULL;
    v_gstart := p_now - (p_now % (v_rl ->> 'intervalMs')::bigint);
    INSERT INTO ${s}.groups AS x (queue, name, window_start, window_count) VALUES (p_queue, g.name, v_gstart, g.n)
    ON CONFLICT (queue, name) DO UPDATE
       SET window_count = CASE WHEN x.window_start = v_gstart THEN x.window_count + g.n ELSE g.n END,
           window_start = v_gstart;
    UPDATE ${s}.groups SET throttled_until = greatest(throttled_until, v_gstart + (v_rl ->> 'intervalMs')::bigint)
     WHERE queue = p_queue AND name = g.name AND window_count >= (v_rl ->> 'max')::integer;
  END LOOP;
  IF v_max > 0 THEN
    INSERT INTO ${s}.group_clocks AS k (queue, vtime) VALUES (p_queue, v_max)
    ON CONFLICT (queue) DO UPDATE SET vtime = greatest(k.vtime, excluded.vtime);
  END IF;
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
`;

export function groupStatements(schema: string, s: string) {
  const st = statementNamer(schema);
  const jobs = `${s}.jobs`;
  return {
    claim: st('g_claim', `SELECT * FROM ${s}.claim_groups($1, $2, $3, $4, $5, $6, $7, $8)`),
    // Completions and the next group claim in one statement (as sql.ts's complete_claim does).
    completeClaim: st(
      'g_complete_claim',
      `WITH done AS (
         UPDATE ${jobs} j
            SET state = 'completed', result = u.result, finished_at = $2, updated_at = $2, lease_expires_at = NULL
           FROM unnest($3::text[], $4::bigint[], $5::text[]) WITH ORDINALITY AS u(id, token, result, ord)
          WHERE j.queue = $1 AND j.id = u.id AND j.state = 'active' AND j.fence = u.token
         RETURNING u.ord
       )
       SELECT CASE WHEN row_number() OVER () = 1 THEN (SELECT array_agg(ord) FROM done) END AS completed, c.*
         FROM (SELECT 1) one
         LEFT JOIN ${s}.claim_groups($6, $7, $8, $9, $10, $11, $12, $13) c ON true`,
    ),
    ensure: st(
      'g_ensure',
      `INSERT INTO ${s}.groups (queue, name) SELECT $1, n FROM unnest($2::text[]) n ORDER BY n ON CONFLICT DO NOTHING`,
    ),
    lock: st(
      'g_lock',
      `SELECT name, last_vtime FROM ${s}.groups WHERE queue = $1 AND name = ANY ($2::text[]) ORDER BY name FOR UPDATE`,
    ),
    clock: st('g_clock', `SELECT vtime FROM ${s}.group_clocks WHERE queue = $1`),
    setLast: st(
      'g_set_last',
      `UPDATE ${s}.groups g SET last_vtime = u.v FROM unnest($2::text[], $3::bigint[]) u(name, v)
        WHERE g.queue = $1 AND g.name = u.name`,
    ),
    insert: st(
      'g_insert',
      `INSERT INTO ${jobs} (queue, id, name, state, priority, run_at, max_attempts, backoff, timeout_ms,
                            correlation_id, metadata, payload, created_at, updated_at, group_key, vtime)
       SELECT $1, id, name, CASE WHEN run_at > created_at THEN 'delayed' ELSE 'waiting' END, priority, run_at,
              max_attempts, backoff, timeout_ms, correlation_id, metadata, payload, created_at, created_at,
              group_key, vtime
         FROM unnest($2::text[], $3::text[], $4::integer[], $5::bigint[], $6::integer[], $7::text[], $8::integer[],
                     $9::text[], $10::text[], $11::text[], $12::bigint[], $13::text[], $14::bigint[])
              WITH ORDINALITY AS t(id, name, priority, run_at, max_attempts, backoff, timeout_ms, correlation_id,
                                   metadata, payload, created_at, group_key, vtime, ord)
        ORDER BY ord
       ON CONFLICT (queue, id) DO NOTHING
       RETURNING id`,
    ),
    tagRow: st('g_tag_row', `UPDATE ${jobs} SET group_key = $3, vtime = $4 WHERE queue = $1 AND id = $2`),
    pause: st(
      'g_pause',
      `INSERT INTO ${s}.groups AS g (queue, name, paused, pause_reason) VALUES ($1, $2, true, $3)
       ON CONFLICT (queue, name) DO UPDATE SET paused = true, pause_reason = excluded.pause_reason
       WHERE NOT g.paused RETURNING 1`,
    ),
    resume: st(
      'g_resume',
      `WITH r AS (
         INSERT INTO ${s}.groups AS g (queue, name) VALUES ($1, $2)
         ON CONFLICT (queue, name) DO UPDATE SET paused = false, pause_reason = NULL RETURNING 1
       ) SELECT pg_notify($3, $1) FROM r`,
    ),
    throttle: st(
      'g_throttle',
      `INSERT INTO ${s}.groups AS g (queue, name, throttled_until) VALUES ($1, $2, $3)
       ON CONFLICT (queue, name) DO UPDATE SET throttled_until = greatest(g.throttled_until, excluded.throttled_until)`,
    ),
    list: st(
      'g_list',
      `SELECT g.name, g.paused, g.pause_reason, g.throttled_until,
              (SELECT count(*)::integer FROM ${jobs} j WHERE j.queue = g.queue AND j.group_key = g.name AND j.state = 'active') AS active,
              (SELECT count(*)::integer FROM ${jobs} j WHERE j.queue = g.queue AND j.group_key = g.name
                 AND j.state = 'waiting') AS waiting
         FROM ${s}.groups g
        WHERE g.queue = $1 AND ($2::boolean IS NULL OR g.paused = $2) AND ($3::bigint IS NULL OR g.throttled_until > $3)
        ORDER BY g.name LIMIT $4 OFFSET $5`,
    ),
  };
}
