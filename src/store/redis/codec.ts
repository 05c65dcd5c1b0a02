/**
 * The job hash: short field names (a queue holds many jobs; every byte is paid per job), read with
 * one HMGET in `FIELDS` order and decoded straight into a StoredJob. Counters a fresh job has at
 * zero (attempts, fence, snoozes) and its updated-at (= created-at) are not written until they change.
 */
import type { JobErrorRecord, StoredJob, StoredState } from '../types.js';

/** Fields in HMGET order. The Lua scripts get this list from here, so the two cannot drift. */
export const FIELDS = [
  's', // state: waiting (ready or delayed, by run-at), active, completed, dead, cancelled
  'n', // name
  'p', // priority
  'r', // run-at
  'a', // attempts
  'm', // max attempts
  'f', // fence
  'z', // snoozes
  'b', // backoff (JSON)
  't', // timeout ms
  'c', // correlation id
  'md', // metadata (JSON)
  'd', // payload (JSON)
  'rs', // result (JSON)
  'cp', // checkpoint (JSON)
  'pg', // progress (JSON)
  'e', // errors: one JSON record per line, oldest first
  'why', // reason
  'w', // worker id
  'l', // lease expires at
  'ca', // created at
  'ua', // updated at
  'sa', // started at
  'fa', // finished at
] as const;

/** Values per job in a reply that carries jobs: the id, then FIELDS. */
export const JOB_STRIDE = FIELDS.length + 1;

/** A Lua table literal of the field list, for `unpack(FIELDS)`. */
export const LUA_FIELDS = `{${FIELDS.map((f) => `'${f}'`).join(', ')}}`;

/** A Lua table literal of each field's position in an HMGET reply (`F.a` is the attempts). */
export const LUA_POSITIONS = `{${FIELDS.map((f, i) => `${f} = ${i + 1}`).join(', ')}}`;

/** Replies carry strings, and integers where a script wrote a value it had just computed. */
type Value = string | number | null | undefined;

const num = (v: Value): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: Value): string | null => (v === null || v === undefined ? null : String(v));
const count = (v: Value): number => (v === null || v === undefined ? 0 : Number(v));

/** Error records are stored one JSON text per line: JSON.stringify never writes a raw newline. */
export function decodeErrors(v: Value): JobErrorRecord[] {
  if (typeof v !== 'string' || v === '') return [];
  return JSON.parse(`[${v.replaceAll('\n', ',')}]`) as JobErrorRecord[];
}

/** FIELDS values (from `v[at]` on) to a StoredJob; null when the hash does not exist. */
export function decodeJob(queue: string, id: string, v: readonly Value[], at = 0): StoredJob | null {
  const state = v[at];
  if (state === null || state === undefined) return null;
  const createdAt = Number(v[at + 20]);
  // A job keeps its last worker and lease in the hash after it leaves that state (one write fewer
  // per transition); what a job shows is derived from its state, as the SQL stores keep it.
  const updatedAt = v[at + 21];
  return {
    queue,
    id,
    name: str(v[at + 1]),
    state: state as StoredState,
    priority: Number(v[at + 2]),
    runAt: Number(v[at + 3]),
    attempts: count(v[at + 4]),
    maxAttempts: Number(v[at + 5]),
    fence: count(v[at + 6]),
    snoozes: count(v[at + 7]),
    backoff: String(v[at + 8]),
    timeoutMs: num(v[at + 9]),
    correlationId: String(v[at + 10]),
    metadata: String(v[at + 11]),
    payload: String(v[at + 12]),
    result: str(v[at + 13]),
    checkpoint: str(v[at + 14]),
    progress: str(v[at + 15]),
    errors: decodeErrors(v[at + 16]),
    reason: str(v[at + 17]),
    workerId: state === 'waiting' ? null : str(v[at + 18]),
    leaseExpiresAt: state === 'active' ? num(v[at + 19]) : null,
    createdAt,
    updatedAt: updatedAt === null || updatedAt === undefined ? createdAt : Number(updatedAt),
    startedAt: num(v[at + 22]),
    finishedAt: num(v[at + 23]),
  };
}

/** A reply of jobs (id, FIELDS…, id, FIELDS…) to StoredJobs, skipping any that vanished. */
export function decodeJobs(queue: string, flat: readonly Value[]): StoredJob[] {
  const out: StoredJob[] = [];
  for (let i = 0; i + JOB_STRIDE <= flat.length; i += JOB_STRIDE) {
    const job = decodeJob(queue, flat[i] as string, flat, i + 1);
    if (job) out.push(job);
  }
  return out;
}
