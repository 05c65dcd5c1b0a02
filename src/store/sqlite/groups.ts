/**
 * The SQLite store's fair groups. A grouped job carries a virtual start time (`vtime`): one more than
 * the later of its group's last one and the queue's clock (the start time of the newest job claimed).
 * Claiming in vtime order interleaves the groups that have work, so a group that adds 50,000 jobs
 * does not hold back one that adds 10 (start-time fair queuing: round-robin by jobs). A claim skips
 * paused and throttled groups and groups at their concurrency or rate limit. All of it runs in the
 * store's write transaction: SQLite has one writer, so limits hold across processes.
 */
import type Database from 'better-sqlite3';
import type { ClaimRequest, GroupLimits, GroupStatus, NewJob, StoredJob } from '../types.js';
import { SQL } from './sql.js';
import { COLUMNS, fromRaw } from './rows.js';

export const GROUPS_MIGRATION = `
ALTER TABLE jobs ADD COLUMN group_key TEXT;
ALTER TABLE jobs ADD COLUMN vtime INTEGER;
-- Grouped jobs only: claim order across groups, and per group the active and waiting ones.
CREATE INDEX jobs_group_ready ON jobs (queue, vtime, priority DESC, run_at, group_key)
  WHERE state = 'waiting' AND group_key IS NOT NULL;
CREATE INDEX jobs_group ON jobs (queue, group_key, state)
  WHERE group_key IS NOT NULL AND state IN ('waiting', 'delayed', 'active');
CREATE TABLE groups (
  queue TEXT NOT NULL,
  name TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  pause_reason TEXT,
  throttled_until INTEGER NOT NULL DEFAULT 0,
  window_start INTEGER NOT NULL DEFAULT 0,
  window_count INTEGER NOT NULL DEFAULT 0,
  last_vtime INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, name)
);
-- The groups a claim must skip, found without reading every group.
CREATE INDEX groups_paused ON groups (queue) WHERE paused = 1;
CREATE INDEX groups_throttled ON groups (queue, throttled_until) WHERE throttled_until > 0;
CREATE TABLE group_clocks (queue TEXT PRIMARY KEY, vtime INTEGER NOT NULL DEFAULT 0);
`;

/** Candidates read per claim slot, per page: more pages are read while groups at their limit are skipped. */
const SCAN_PER_SLOT = 1;
const SCAN_MIN = 16;
const SCAN_PAGES = 8;
/** Jobs without a group fill what the groups leave, from this many at the head of the queue. */
const UNGROUPED_SCAN = 200;

interface GroupRow {
  name: string;
  paused: number;
  pause_reason: string | null;
  throttled_until: number;
  window_start: number;
  window_count: number;
  last_vtime: number;
}

export function limitsOf(limits: GroupLimits, group: string): GroupLimits {
  const o = limits.overrides?.[group];
  return { concurrency: o?.concurrency ?? limits.concurrency, rateLimit: o?.rateLimit ?? limits.rateLimit };
}

export class SqliteGroups {
  private readonly st: Record<string, Database.Statement>;
  private readonly claimByRowid: Database.Statement;

  constructor(db: Database.Database) {
    const p = (sql: string): Database.Statement => db.prepare(sql);
    this.st = {
      status: p(SQL.status),
      promote: p(SQL.promote),
      window: p(SQL.window),
      setWindow: p(SQL.setWindow),
      ensure: p(`INSERT INTO groups (queue, name) VALUES (?, ?) ON CONFLICT DO NOTHING`),
      group: p(`SELECT * FROM groups WHERE queue = ? AND name = ?`),
      lastVtime: p(`UPDATE groups SET last_vtime = ? WHERE queue = ? AND name = ?`),
      clock: p(`SELECT vtime FROM group_clocks WHERE queue = ?`),
      setClock: p(`INSERT INTO group_clocks (queue, vtime) VALUES (?, ?)
          ON CONFLICT (queue) DO UPDATE SET vtime = max(vtime, excluded.vtime)`),
      candidates: p(`SELECT rowid, group_key, vtime FROM jobs
          WHERE queue = ? AND state = 'waiting' AND group_key IS NOT NULL
          ORDER BY vtime, priority DESC, run_at LIMIT ? OFFSET ?`),
      held: p(`SELECT name FROM groups INDEXED BY groups_paused WHERE queue = ? AND paused = 1
          UNION SELECT name FROM groups INDEXED BY groups_throttled
           WHERE queue = ? AND throttled_until > 0 AND throttled_until > ?`),
      ungrouped: p(`SELECT rowid FROM (SELECT rowid, group_key FROM jobs WHERE queue = ? AND state = 'waiting'
          ORDER BY priority DESC, run_at ASC, rowid ASC LIMIT ${UNGROUPED_SCAN}) WHERE group_key IS NULL LIMIT ?`),
      active: p(`SELECT count(*) AS n FROM jobs WHERE queue = ? AND group_key = ? AND state = 'active'`),
      waiting: p(`SELECT count(*) AS n FROM jobs WHERE queue = ? AND group_key = ? AND state = 'waiting'`),
      groupWindow: p(`UPDATE groups SET window_start = ?, window_count = ?,
          throttled_until = max(throttled_until, ?) WHERE queue = ? AND name = ?`),
      pause: p(`UPDATE groups SET paused = 1, pause_reason = ? WHERE queue = ? AND name = ? AND paused = 0`),
      resume: p(`UPDATE groups SET paused = 0, pause_reason = NULL WHERE queue = ? AND name = ?`),
      throttle: p(`UPDATE groups SET throttled_until = max(throttled_until, ?) WHERE queue = ? AND name = ?`),
      list: p(`SELECT * FROM groups WHERE queue = @queue
          AND (@paused IS NULL OR paused = @paused)
          AND (@after IS NULL OR throttled_until > @after)
          ORDER BY name LIMIT @limit OFFSET @offset`),
    };
    this.claimByRowid = db
      .prepare(
        `UPDATE jobs SET state = 'active', attempts = attempts + 1, fence = fence + 1, worker_id = @workerId,
           lease_expires_at = @leaseUntil, started_at = @now, updated_at = @now
         WHERE rowid IN (SELECT value FROM json_each(@ids))
         RETURNING ${COLUMNS}, group_key`,
      )
      .raw();
  }

  /** Registers a grouped job's group and gives the job its virtual start time. */
  tag(j: NewJob): number {
    const { st } = this;
    st.ensure!.run(j.queue, j.group);
    const g = st.group!.get(j.queue, j.group) as GroupRow;
    const clock = (st.clock!.get(j.queue) as { vtime: number } | undefined)?.vtime ?? 0;
    const vtime = Math.max(g.last_vtime, clock) + 1;
    st.lastVtime!.run(vtime, j.queue, j.group);
    return vtime;
  }

  /** The body of a claim with groups; runs inside the store's write transaction. */
  claim(req: ClaimRequest): StoredJob[] {
    const { st } = this;
    const limits = req.groups!;
    const q = st.status!.get(req.queue) as { paused: number; throttled_until: number } | undefined;
    if (q && (q.paused === 1 || q.throttled_until > req.now)) return [];
    st.promote!.run(req.queue, req.now);
    let limit = req.limit;
    const rl = req.rateLimit;
    let start = 0;
    let used = 0;
    if (rl) {
      start = req.now - (req.now % rl.intervalMs);
      const w = st.window!.get(req.queue) as { window_start: number; window_count: number } | undefined;
      used = w && w.window_start === start ? w.window_count : 0;
      limit = Math.min(limit, rl.max - used);
      if (limit <= 0) return [];
    }
    const held = new Set(
      (st.held!.all(req.queue, req.queue, req.now) as { name: string }[]).map((r) => r.name),
    );
    const room = new Map<
      string,
      { left: number; taken: number; window: { start: number; used: number } | null }
    >();
    const picked: number[] = [];
    let maxVtime = 0;
    const page = limit * SCAN_PER_SLOT + SCAN_MIN;
    for (let p = 0; p < SCAN_PAGES && picked.length < limit; p++) {
      const candidates = st.candidates!.all(req.queue, page, p * page) as {
        rowid: number;
        group_key: string;
        vtime: number;
      }[];
      for (const c of candidates) {
        if (picked.length >= limit) break;
        let r = room.get(c.group_key);
        if (!r) {
          r = held.has(c.group_key)
            ? { left: 0, taken: 0, window: null }
            : this.room(req, limits, c.group_key);
          room.set(c.group_key, r);
        }
        if (r.left <= 0) continue;
        r.left--;
        r.taken++;
        picked.push(c.rowid);
        if (c.vtime > maxVtime) maxVtime = c.vtime;
      }
      if (candidates.length < page) break;
    }
    if (picked.length < limit) {
      for (const u of st.ungrouped!.all(req.queue, limit - picked.length) as { rowid: number }[])
        picked.push(u.rowid);
    }
    if (picked.length === 0) return [];
    const rows = this.claimByRowid.all({
      ids: JSON.stringify(picked),
      now: req.now,
      workerId: req.workerId,
      leaseUntil: req.now + req.leaseMs,
    }) as unknown[][];
    for (const [group, r] of room) {
      if (r.taken === 0 || !r.window) continue;
      const count = r.window.used + r.taken;
      const rate = limitsOf(limits, group).rateLimit!;
      const until = count >= rate.max ? r.window.start + rate.intervalMs : 0;
      st.groupWindow!.run(r.window.start, count, until, req.queue, group);
    }
    if (maxVtime > 0) st.setClock!.run(req.queue, maxVtime);
    if (rl) {
      used += rows.length;
      st.setWindow!.run({
        queue: req.queue,
        start,
        count: used,
        until: used >= rl.max ? start + rl.intervalMs : 0,
      });
    }
    return rows.map((r) => {
      const job = fromRaw(r);
      const group = r[r.length - 1] as string | null;
      if (group !== null) job.group = group;
      return job;
    });
  }

  /** What a group that is neither paused nor throttled may still take in this claim (0 at a limit). */
  private room(
    req: ClaimRequest,
    all: GroupLimits,
    group: string,
  ): { left: number; taken: number; window: { start: number; used: number } | null } {
    const { st } = this;
    const limits = limitsOf(all, group);
    let left = Infinity;
    if (limits.concurrency !== undefined) {
      left = limits.concurrency - (st.active!.get(req.queue, group) as { n: number }).n;
    }
    let window: { start: number; used: number } | null = null;
    if (limits.rateLimit) {
      const g = st.group!.get(req.queue, group) as GroupRow | undefined;
      const start = req.now - (req.now % limits.rateLimit.intervalMs);
      const used = g && g.window_start === start ? g.window_count : 0;
      window = { start, used };
      left = Math.min(left, limits.rateLimit.max - used);
    }
    return { left, taken: 0, window };
  }

  pause(queue: string, group: string, reason: string | null): boolean {
    this.st.ensure!.run(queue, group);
    return this.st.pause!.run(reason, queue, group).changes === 1;
  }

  resume(queue: string, group: string): void {
    this.st.ensure!.run(queue, group);
    this.st.resume!.run(queue, group);
  }

  throttle(queue: string, group: string, until: number): void {
    this.st.ensure!.run(queue, group);
    this.st.throttle!.run(until, queue, group);
  }

  list(
    queue: string,
    f: { paused?: boolean; throttledAfter?: number; limit: number; offset: number },
  ): GroupStatus[] {
    const rows = this.st.list!.all({
      queue,
      paused: f.paused === undefined ? null : f.paused ? 1 : 0,
      after: f.throttledAfter ?? null,
      limit: f.limit,
      offset: f.offset,
    }) as GroupRow[];
    return rows.map((g) => ({
      name: g.name,
      paused: g.paused === 1,
      pauseReason: g.pause_reason,
      throttledUntil: g.throttled_until,
      active: (this.st.active!.get(queue, g.name) as { n: number }).n,
      waiting: (this.st.waiting!.get(queue, g.name) as { n: number }).n,
    }));
  }
}
