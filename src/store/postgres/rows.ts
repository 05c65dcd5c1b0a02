/** Rows as `pg` returns them, and their conversion to the contract's StoredJob. */
import pg from 'pg';
import type { CustomTypesConfig } from 'pg';
import type { JobErrorRecord, StoredJob, StoredState } from '../types.js';

export interface JobRow {
  queue: string;
  id: string;
  seq: number;
  name: string | null;
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
  errors: JobErrorRecord[];
  reason: string | null;
  worker_id: string | null;
  lease_expires_at: number | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

const INT8_OID = 20;
const parseInt8 = (v: string): number => Number(v);

/**
 * Epoch-ms columns are bigint, which `pg` returns as strings by default. These parsers are set per
 * query, so a pool the user hands in keeps its own global settings.
 */
export const TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format ?? 'text')) as CustomTypesConfig['getTypeParser'],
};

export function fromRow(r: JobRow): StoredJob {
  return {
    queue: r.queue,
    id: r.id,
    name: r.name,
    // 'delayed' is this store's own state for a future run-at; the contract derives it from runAt.
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
    errors: r.errors,
    reason: r.reason,
    workerId: r.worker_id,
    leaseExpiresAt: r.lease_expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}
