/** Rows as better-sqlite3 returns them, and their conversion to the contract's StoredJob. */
import { ERROR_HISTORY_LIMIT, type JobErrorRecord, type StoredJob, type StoredState } from '../types.js';
import { rowToJob, type JobRow } from '../shared/sql-row.js';

/** SQLite keeps the error history as JSON text. */
export type Row = JobRow<string> & { seq?: number };

const parseErrors = (text: string): JobErrorRecord[] =>
  text === '[]' ? [] : (JSON.parse(text) as JobErrorRecord[]);

export function fromRow(r: Row): StoredJob {
  return rowToJob(r, parseErrors);
}

/** The columns in `Row` order, for statements that return arrays. */
export const COLUMN_LIST = [
  'queue',
  'id',
  'name',
  'state',
  'priority',
  'run_at',
  'attempts',
  'max_attempts',
  'fence',
  'snoozes',
  'backoff',
  'timeout_ms',
  'correlation_id',
  'metadata',
  'payload',
  'result',
  'checkpoint',
  'progress',
  'errors',
  'reason',
  'worker_id',
  'lease_expires_at',
  'created_at',
  'updated_at',
  'started_at',
  'finished_at',
] as const satisfies readonly (keyof Row)[];
export const COLUMNS = COLUMN_LIST.join(', ');

/** A claim row (array in COLUMN_LIST order) straight to a StoredJob, with no intermediate object. */
export function fromRaw(a: unknown[]): StoredJob {
  const errors = a[18] as string;
  return {
    queue: a[0] as string,
    id: a[1] as string,
    name: a[2] as string | null,
    state: a[3] as StoredState,
    priority: a[4] as number,
    runAt: a[5] as number,
    attempts: a[6] as number,
    maxAttempts: a[7] as number,
    fence: a[8] as number,
    snoozes: a[9] as number,
    backoff: a[10] as string,
    timeoutMs: a[11] as number | null,
    correlationId: a[12] as string,
    metadata: a[13] as string,
    payload: a[14] as string,
    result: a[15] as string | null,
    checkpoint: a[16] as string | null,
    progress: a[17] as string | null,
    errors: errors === '[]' ? [] : (JSON.parse(errors) as JobErrorRecord[]),
    reason: a[19] as string | null,
    workerId: a[20] as string | null,
    leaseExpiresAt: a[21] as number | null,
    createdAt: a[22] as number,
    updatedAt: a[23] as number,
    startedAt: a[24] as number | null,
    finishedAt: a[25] as number | null,
  };
}

export function appendError(errorsJson: string, record: JobErrorRecord): string {
  const list = JSON.parse(errorsJson) as JobErrorRecord[];
  list.push(record);
  if (list.length > ERROR_HISTORY_LIMIT) list.splice(0, list.length - ERROR_HISTORY_LIMIT);
  return JSON.stringify(list);
}
