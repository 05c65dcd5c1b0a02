/**
 * The SQLite store's flows: dependency edges, blocked jobs and their resolution. Everything runs inside
 * the store's write transaction (SQLite has one writer, so a resolution never races another).
 */
import type Database from 'better-sqlite3';
import { ValidationError } from '../../kernel/errors.js';
import type { DeadDependency, NewJob, ResolveResult, StoredJob, StoredState } from '../types.js';
import { fromRow, type Row } from './rows.js';
import { countDependencies, planCompleteAfter, type DependencyCount } from '../shared/flows.js';

export const FLOWS_MIGRATION = `
ALTER TABLE jobs ADD COLUMN depends_on TEXT;
ALTER TABLE jobs ADD COLUMN pending_deps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN on_dep_dead TEXT;
ALTER TABLE jobs ADD COLUMN after_deps TEXT;
CREATE INDEX jobs_blocked ON jobs (queue) WHERE state = 'blocked';
-- One row per open edge (dependency -> dependant); resolved edges are deleted.
CREATE TABLE flow_edges (
  queue TEXT NOT NULL,
  dependency_id TEXT NOT NULL,
  dependant_id TEXT NOT NULL,
  PRIMARY KEY (queue, dependant_id, dependency_id)
);
CREATE INDEX flow_edges_dependency ON flow_edges (queue, dependency_id);
`;

interface Candidate {
  dependency_id: string;
  dependant_id: string;
  dep_state: string | null;
  t_state: string | null;
  policy: DeadDependency | null;
}

export class SqliteFlows {
  private readonly state: Database.Statement<[string, string], { state: string }>;
  private readonly edge: Database.Statement;
  private readonly candidates: Database.Statement<[string, number], Candidate>;
  private readonly dropEdge: Database.Statement;
  private readonly decrement: Database.Statement<
    [number, string, string],
    { pending_deps: number; after_deps: string | null; run_at: number }
  >;
  private readonly unblock: Database.Statement;
  private readonly completeBlocked: Database.Statement;
  private readonly fail: Database.Statement;
  private readonly open: Database.Statement<[string], { one: number }>;
  private readonly fenced: Database.Statement<[string, string, number], { id: string }>;
  private readonly block: Database.Statement;
  private readonly complete: Database.Statement;
  private readonly dependsOn: Database.Statement<[string, string], { depends_on: string | null }>;
  private readonly get: Database.Statement<[string, string], Row>;

  constructor(db: Database.Database) {
    this.state = db.prepare(`SELECT state FROM jobs WHERE queue = ? AND id = ?`);
    this.edge = db.prepare(
      `INSERT INTO flow_edges (queue, dependency_id, dependant_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    // Edges whose dependency finished (or vanished), except those that wait for a dead one's replay.
    this.candidates = db.prepare<[string, number], Candidate>(`
      SELECT e.dependency_id, e.dependant_id, d.state AS dep_state, t.state AS t_state, t.on_dep_dead AS policy
        FROM flow_edges e
        LEFT JOIN jobs d ON d.queue = e.queue AND d.id = e.dependency_id
        LEFT JOIN jobs t ON t.queue = e.queue AND t.id = e.dependant_id
       WHERE e.queue = ? AND (d.state IS NULL OR d.state IN ('completed', 'dead', 'cancelled'))
         AND (d.state = 'completed' OR t.state IS NULL OR t.state <> 'blocked' OR coalesce(t.on_dep_dead, 'fail') <> 'wait')
       LIMIT ?`);
    this.dropEdge = db.prepare(
      `DELETE FROM flow_edges WHERE queue = ? AND dependency_id = ? AND dependant_id = ?`,
    );
    this.decrement = db.prepare(`UPDATE jobs SET pending_deps = pending_deps - 1, updated_at = ?
        WHERE queue = ? AND id = ? AND state = 'blocked' RETURNING pending_deps, after_deps, run_at`);
    this.unblock = db.prepare(`UPDATE jobs SET state = CASE WHEN run_at > ? THEN 'delayed' ELSE 'waiting' END,
        updated_at = ? WHERE queue = ? AND id = ? AND state = 'blocked'`);
    this.completeBlocked = db.prepare(`UPDATE jobs SET state = 'completed', finished_at = ?, updated_at = ?
        WHERE queue = ? AND id = ? AND state = 'blocked'`);
    this.fail = db.prepare(`UPDATE jobs SET state = 'dead', reason = ?, finished_at = ?, updated_at = ?
        WHERE queue = ? AND id = ? AND state = 'blocked'`);
    this.open = db.prepare<[string], { one: number }>(
      `SELECT 1 AS one FROM flow_edges WHERE queue = ? LIMIT 1`,
    );
    this.fenced = db.prepare<[string, string, number], { id: string }>(
      `SELECT id FROM jobs WHERE queue = ? AND id = ? AND state = 'active' AND fence = ?`,
    );
    this.block = db.prepare(`UPDATE jobs SET state = 'blocked', result = ?, pending_deps = ?, on_dep_dead = ?,
        after_deps = 'complete', depends_on = ?, lease_expires_at = NULL, updated_at = ? WHERE queue = ? AND id = ?`);
    this.complete =
      db.prepare(`UPDATE jobs SET state = ?, result = ?, reason = ?, depends_on = ?, finished_at = ?,
        updated_at = ?, lease_expires_at = NULL WHERE queue = ? AND id = ?`);
    this.dependsOn = db.prepare<[string, string], { depends_on: string | null }>(
      `SELECT depends_on FROM jobs WHERE queue = ? AND id = ?`,
    );
    this.get = db.prepare<[string, string], Row>(`SELECT * FROM jobs WHERE queue = ? AND id = ?`);
  }

  private stateOf(queue: string, id: string): string | undefined {
    return this.state.get(queue, id)?.state;
  }

  /** How a new job with `dependsOn` starts; unknown ids are a ValidationError (the caller's transaction rolls back). */
  start(j: NewJob): DependencyCount {
    return countDependencies(
      j.dependsOn!,
      (id) => this.stateOf(j.queue, id),
      j.onDependencyDead ?? 'fail',
      (id) => {
        throw new ValidationError(
          `[bulwark] options.dependsOn: no job ${JSON.stringify(id)} in queue ${j.queue}`,
          { path: 'options.dependsOn' },
        );
      },
    );
  }

  /** Opens the edges of a job that now waits for `pending`. */
  link(queue: string, id: string, pending: readonly string[]): void {
    for (const dep of pending) this.edge.run(queue, dep, id);
  }

  hasEdges(queue: string): boolean {
    return this.open.get(queue) !== undefined;
  }

  resolve(queue: string, now: number, limit: number): ResolveResult {
    const out: ResolveResult = { ready: [], completed: [], dead: [], open: false };
    let budget = limit;
    // Loops so that a job completed here (it waited for its children) frees its own dependants too.
    while (budget > 0) {
      const batch = this.candidates.all(queue, budget);
      if (batch.length === 0) break;
      budget -= batch.length;
      for (const c of batch) {
        this.dropEdge.run(queue, c.dependency_id, c.dependant_id);
        if (c.t_state !== 'blocked') continue;
        const policy = c.policy ?? 'fail';
        if (c.dep_state === 'completed' || policy !== 'fail') {
          const left = this.decrement.get(now, queue, c.dependant_id);
          if (!left || left.pending_deps > 0) continue;
          if (left.after_deps === 'complete') {
            this.completeBlocked.run(now, now, queue, c.dependant_id);
            out.completed.push(c.dependant_id);
          } else {
            this.unblock.run(now, now, queue, c.dependant_id);
            out.ready.push(c.dependant_id);
          }
        } else {
          const why = `dependency ${c.dependency_id} is ${c.dep_state ?? 'gone'}`;
          this.fail.run(why, now, now, queue, c.dependant_id);
          out.dead.push(c.dependant_id);
        }
      }
    }
    out.open = this.open.get(queue) !== undefined;
    return out;
  }

  completeAfter(
    queue: string,
    id: string,
    token: number,
    result: string | null,
    children: readonly string[],
    policy: DeadDependency,
    now: number,
  ): StoredState | null {
    if (!this.fenced.get(queue, id, token)) return null;
    const plan = planCompleteAfter(children, (c) => this.stateOf(queue, c), policy);
    const deps = JSON.stringify(plan.known);
    if (plan.state === 'blocked') {
      this.block.run(result, plan.pending.length, policy, deps, now, queue, id);
      this.link(queue, id, plan.pending);
    } else {
      this.complete.run(plan.state, result, plan.reason, deps, now, now, queue, id);
    }
    return plan.state;
  }

  dependencies(queue: string, id: string): StoredJob[] {
    const text = this.dependsOn.get(queue, id)?.depends_on;
    if (!text) return [];
    const out: StoredJob[] = [];
    for (const dep of JSON.parse(text) as string[]) {
      const r = this.get.get(queue, dep);
      if (r) out.push(fromRow(r));
    }
    return out;
  }
}
