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

/**
 * Backoff settings are stored compactly when they have the usual shape: the JSON text (~85 bytes)
 * would be the one field over Redis's 64-byte small-hash limit for a small job, and moving a hash
 * out of its compact encoding costs memory and time on every job. The compact form rebuilds the
 * exact same text; any other text is stored as it is (JSON never starts with '~').
 */
const BACKOFF_KEYS = ['type', 'delayMs', 'maxDelayMs', 'factor', 'jitter'] as const;
const backoffCodes = new Map<string, string>();
const backoffTexts = new Map<string, string>();

export function encodeBackoff(text: string): string {
  let code = backoffCodes.get(text);
  if (code === undefined) {
    code = text;
    try {
      const b = JSON.parse(text) as Record<string, unknown>;
      const parts = BACKOFF_KEYS.map((k) => b[k]);
      const rebuilt = JSON.stringify(Object.fromEntries(BACKOFF_KEYS.map((k, i) => [k, parts[i]])));
      const plain = parts.every((p) => typeof p === 'number' || (typeof p === 'string' && !p.includes('|')));
      if (plain && rebuilt === text) code = `~${parts.join('|')}`;
    } catch {
      // Not JSON: stored as given.
    }
    if (backoffCodes.size < 1000) backoffCodes.set(text, code);
  }
  return code;
}

export function decodeBackoff(code: string): string {
  if (code.charCodeAt(0) !== 126 /* ~ */) return code;
  let text = backoffTexts.get(code);
  if (text === undefined) {
    const [type, delayMs, maxDelayMs, factor, jitter] = code.slice(1).split('|');
    text = JSON.stringify({
      type,
      delayMs: Number(delayMs),
      maxDelayMs: Number(maxDelayMs),
      factor: Number(factor),
      jitter,
    });
    if (backoffTexts.size < 1000) backoffTexts.set(code, text);
  }
  return text;
}

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
    backoff: decodeBackoff(String(v[at + 8])),
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
