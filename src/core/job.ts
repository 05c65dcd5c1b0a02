import type { ResolvedBackoff } from '../resilience/backoff.js';
import type { AddOutcome } from './add-features.js';
import type { JobErrorRecord, JobState, NewJob, StoredJob } from '../store/types.js';

/** A job as bulwark's API returns it. */
export interface Job<T = unknown, R = unknown> {
  id: string;
  queue: string;
  name: string | null;
  payload: T;
  state: JobState;
  priority: number;
  /** Attempts used so far; during a run, the current attempt's number. */
  attempts: number;
  maxAttempts: number;
  /** Fencing token of the latest claim. */
  fence: number;
  snoozes: number;
  runAt: number;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  leaseExpiresAt: number | null;
  workerId: string | null;
  backoff: ResolvedBackoff;
  timeoutMs: number | null;
  correlationId: string;
  metadata: Record<string, unknown>;
  result: R | null;
  checkpoint: unknown;
  progress: unknown;
  errors: JobErrorRecord[];
  /** Why the job is dead or cancelled. */
  reason: string | null;
  /** Fair groups: the job's group, or null. */
  group: string | null;
  /** Flows: the ids this job waits for (its `dependsOn`, or the children it spawned to wait for). */
  dependsOn?: string[];
  /** On jobs that `add` / `addBulk` return: how the add was treated (created, existing, dropped, …). */
  outcome?: AddOutcome;
}

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

/** Most jobs share one backoff setting: parse each distinct text once. */
const backoffs = new Map<string, ResolvedBackoff>();
function parseBackoff(text: string): ResolvedBackoff {
  let b = backoffs.get(text);
  if (!b) {
    b = Object.freeze(JSON.parse(text) as ResolvedBackoff);
    if (backoffs.size < 1000) backoffs.set(text, b);
  }
  return b;
}

const parseMetadata = (text: string): Record<string, unknown> =>
  text === '{}' ? {} : (JSON.parse(text) as Record<string, unknown>);

/** @internal A job just created from `row`, without a round trip through JSON. */
export function freshJob<T, R>(
  row: NewJob,
  item: { payload: T; options?: { metadata?: Record<string, unknown> } },
  now: number,
): Job<T, R> {
  return {
    id: row.id,
    queue: row.queue,
    name: row.name,
    payload: item.payload === undefined ? (null as T) : item.payload,
    state: row.runAt > now ? 'delayed' : 'waiting',
    priority: row.priority,
    attempts: 0,
    maxAttempts: row.maxAttempts,
    fence: 0,
    snoozes: 0,
    runAt: row.runAt,
    createdAt: row.createdAt,
    updatedAt: row.createdAt,
    startedAt: null,
    finishedAt: null,
    leaseExpiresAt: null,
    workerId: null,
    backoff: parseBackoff(row.backoff),
    timeoutMs: row.timeoutMs,
    correlationId: row.correlationId,
    metadata: item.options?.metadata ?? {},
    result: null,
    checkpoint: null,
    progress: null,
    errors: [],
    reason: null,
    group: row.group ?? null,
    ...(row.dependsOn ? { dependsOn: [...row.dependsOn] } : {}),
  };
}

/** @internal Turns a stored row into the public shape. */
export function toJob<T, R>(s: StoredJob, now: number): Job<T, R> {
  return {
    id: s.id,
    queue: s.queue,
    name: s.name,
    payload: JSON.parse(s.payload) as T,
    state: s.state === 'waiting' && s.runAt > now ? 'delayed' : s.state,
    priority: s.priority,
    attempts: s.attempts,
    maxAttempts: s.maxAttempts,
    fence: s.fence,
    snoozes: s.snoozes,
    runAt: s.runAt,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    leaseExpiresAt: s.leaseExpiresAt,
    workerId: s.workerId,
    backoff: parseBackoff(s.backoff),
    timeoutMs: s.timeoutMs,
    correlationId: s.correlationId,
    metadata: parseMetadata(s.metadata),
    result: parse(s.result) as R | null,
    checkpoint: parse(s.checkpoint),
    progress: parse(s.progress),
    errors: s.errors,
    reason: s.reason,
    group: s.group ?? null,
    ...(s.dependsOn ? { dependsOn: [...s.dependsOn] } : {}),
  };
}
