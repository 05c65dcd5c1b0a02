/**
 * A job as SQL stores keep it (snake_case columns) and its conversion to the contract's StoredJob.
 * Shared by the SQLite and Postgres stores; they differ only in how the error history is stored.
 */
import type { JobErrorRecord, StoredJob, StoredState } from '../types.js';

export interface JobRow<Errors> {
  queue: string;
  id: string;
  name: string | null;
  /** 'delayed' is the stores' own state for a future run-at; the contract derives it from runAt. */
  state: StoredState | 'delayed';
  priority: number;
  run_at: number;
  attempts: number;
  max_attempts: number;
  fence: number;
  snoozes: number;
  backoff: string;
  timeout_ms: number | null;
  correlation_id: string;
  metadata: string;
  payload: string;
  result: string | null;
  checkpoint: string | null;
  progress: string | null;
  errors: Errors;
  reason: string | null;
  worker_id: string | null;
  lease_expires_at: number | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** Flows (JSON text; absent from rows that do not select it). */
  depends_on?: string | null;
  /** Fair groups (absent from rows that do not select it). */
  group_key?: string | null;
}

export function rowToJob<E>(r: JobRow<E>, errors: (stored: E) => JobErrorRecord[]): StoredJob {
  return {
    queue: r.queue,
    id: r.id,
    name: r.name,
    state: r.state === 'delayed' ? 'waiting' : r.state,
    priority: r.priority,
    runAt: r.run_at,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    fence: r.fence,
    snoozes: r.snoozes,
    backoff: r.backoff,
    timeoutMs: r.timeout_ms,
    correlationId: r.correlation_id,
    metadata: r.metadata,
    payload: r.payload,
    result: r.result,
    checkpoint: r.checkpoint,
    progress: r.progress,
    errors: errors(r.errors),
    reason: r.reason,
    workerId: r.worker_id,
    leaseExpiresAt: r.lease_expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    ...(r.depends_on ? { dependsOn: JSON.parse(r.depends_on) as string[] } : {}),
    ...(r.group_key ? { group: r.group_key } : {}),
  };
}
