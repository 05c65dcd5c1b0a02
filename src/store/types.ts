/**
 * The Store contract: everything bulwark's core needs from a backend. Small and all-async.
 *
 * Rules every store follows (the conformance suite in test/conformance checks them):
 * - Every method that changes state is one atomic operation (one transaction or one script).
 * - Times are given by the caller (`now`, epoch ms) so that an injected clock drives the store too.
 * - User data (payload, result, checkpoint, progress, metadata) travels as JSON text; the store
 *   never parses it. bulwark's own fields (errors) are structured.
 * - A fenced call (`token`) succeeds only if the job is active and its fence equals the token;
 *   otherwise it changes nothing and reports `false`.
 * - Ordering of claims: priority descending, then run-at ascending, then insertion order.
 */
import { CapabilityError, type ErrorCategory } from '../kernel/errors.js';

/**
 * Stored job states. `delayed` is derived: a waiting job whose run-at is in the future. `blocked`: the
 * job waits for the jobs it depends on (flows).
 */
export type StoredState = 'waiting' | 'blocked' | 'active' | 'completed' | 'dead' | 'cancelled';
export type JobState = StoredState | 'delayed';
export const JOB_STATES: readonly JobState[] = [
  'waiting',
  'delayed',
  'blocked',
  'active',
  'completed',
  'dead',
  'cancelled',
];
export const FINAL_STATES = ['completed', 'dead', 'cancelled'] as const;
export type FinalState = (typeof FINAL_STATES)[number];

/** How many past errors a job keeps (oldest dropped first). */
export const ERROR_HISTORY_LIMIT = 10;

/**
 * The verbs of the failure table: what a category's failure does to the job (and, for pause and
 * stop, to the queue or the worker).
 * - retry: back off and try again, until max attempts. retry_long: the same with a longer backoff.
 * - snooze: wait (Retry-After, the breaker), giving the attempt back.
 * - pause: pause the queue and put the job back, giving the attempt back.
 * - dead: dead-letter now.
 * - stop: put the job back (checkpoint kept, attempt given back) and stop the worker.
 */
export const FAILURE_ACTIONS = ['retry', 'retry_long', 'snooze', 'pause', 'dead', 'stop'] as const;
export type FailureAction = (typeof FAILURE_ACTIONS)[number];

/** What a job's error record says happened: the table's action, or an attempt that ended without one. */
export type RecordedAction = FailureAction | 'stalled' | 'shutdown';

export interface JobErrorRecord {
  /** The attempt number the error happened on. */
  attempt: number;
  category: ErrorCategory;
  /** The action that followed: one of the table's, `stalled` (lease expired) or `shutdown`. */
  action: RecordedAction;
  name: string;
  message: string;
  /** The error's stack, cut to 2,000 characters; absent for errors without one (and older records). */
  stack?: string;
  at: number;
  /** How long the job waited before its next run (retries and snoozes), in ms. */
  delayMs?: number;
}

/** A job as the core hands it to the store. */
export interface NewJob {
  queue: string;
  id: string;
  name: string | null;
  payload: string;
  priority: number;
  runAt: number;
  maxAttempts: number;
  backoff: string;
  timeoutMs: number | null;
  correlationId: string;
  metadata: string;
  createdAt: number;
  /**
   * Uniqueness by key (absent on most jobs). With `uniqueMode: 'drop'`, while an unfinished job
   * (waiting, delayed, blocked or active) holds the key, adding returns that job and inserts nothing;
   * with `'debounce'`, while a waiting or delayed job holds it, that job takes this one's payload and
   * run-at instead. Otherwise the job is inserted and holds the key.
   */
  uniqueKey?: string;
  uniqueMode?: UniqueMode;
  /** Fair groups: the group (tenant) the job belongs to (absent on most jobs). */
  group?: string;
  /**
   * Flows: ids of jobs of the same queue this job waits for (absent on most jobs). Every id must exist
   * (an unknown one is a ValidationError and nothing is added); ids of jobs added earlier in the same
   * call count. The job is `blocked` until each of them completed (or, when one is dead or cancelled,
   * as `onDependencyDead` says).
   */
  dependsOn?: readonly string[];
  /** @default 'fail' */
  onDependencyDead?: DeadDependency;
}

/** How a store enforces a job's `uniqueKey` (see NewJob). */
export type UniqueMode = 'drop' | 'debounce';

/**
 * What a dead (or cancelled) dependency does to a blocked job: `fail` dead-letters it, `ignore` counts
 * the dependency as done, `wait` keeps it blocked until the dependency is replayed and completes.
 */
export type DeadDependency = 'fail' | 'ignore' | 'wait';

/** The result of `resolveDependants`. */
export interface ResolveResult {
  /** Jobs that left `blocked`: now waiting (ready), completed (a spawning job) or dead (a dead dependency). */
  ready: string[];
  completed: string[];
  dead: string[];
  /** Whether dependency edges are still open in the queue (a sweeper may then look again soon). */
  open: boolean;
}

/**
 * True when a job uses a feature beyond the plain queue (uniqueness, groups, flows): a store adds such
 * jobs through its own path, so that plain adds stay as lean as they are.
 */
export function usesFeatures(job: NewJob): boolean {
  return job.uniqueKey !== undefined || job.dependsOn !== undefined || job.group !== undefined;
}

/** A job as the store returns it. */
export interface StoredJob extends NewJob {
  state: StoredState;
  /** Attempts used so far (a snooze gives its attempt back). */
  attempts: number;
  /** The fencing token of the latest claim; increases on every claim. */
  fence: number;
  snoozes: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  leaseExpiresAt: number | null;
  workerId: string | null;
  result: string | null;
  checkpoint: string | null;
  progress: string | null;
  errors: JobErrorRecord[];
  /** Why a job is dead or cancelled. */
  reason: string | null;
}

/**
 * One per added job, in order: `null` when the job was created exactly as given, or the existing
 * job (unchanged) when one with the same (queue, id) was already there, or the job holding the job's
 * unique key (after a debounce, with its new payload and run-at).
 */
export type AddResult = StoredJob | null;

export interface ClaimRequest {
  queue: string;
  workerId: string;
  limit: number;
  leaseMs: number;
  now: number;
  /**
   * At most `max` claims per fixed window of `intervalMs`, counted in the store so the limit holds
   * across every worker and process. When a window is used up the store throttles the queue until
   * the window ends (see `QueueStatus.throttledUntil`).
   */
  rateLimit?: { max: number; intervalMs: number };
  /**
   * Fair groups: claim grouped jobs in fair order across groups (each grouped job carries a virtual
   * start time, so jobs of different groups interleave), skipping paused and throttled groups and
   * groups at their concurrency or rate limit; jobs without a group fill the slots left. Absent: the
   * plain claim.
   */
  groups?: GroupLimits;
}

/** The limits of a queue's groups: defaults for every group, and overrides by group name. */
export interface GroupLimits {
  /** Most active jobs per group, across every worker and process. Absent: no limit. */
  concurrency?: number;
  /** At most `max` claims per group per fixed window of `intervalMs`. */
  rateLimit?: { max: number; intervalMs: number };
  overrides?: Readonly<
    Record<string, { concurrency?: number; rateLimit?: { max: number; intervalMs: number } }>
  >;
}

/** A group as the store reports it. */
export interface GroupStatus {
  name: string;
  paused: boolean;
  pauseReason: string | null;
  /** No claims from this group before this time, epoch ms; 0 when not throttled. */
  throttledUntil: number;
  /** Jobs of the group now active, and ready to run. */
  active: number;
  waiting: number;
}

export interface CompleteItem {
  id: string;
  token: number;
  result: string | null;
}

/**
 * What the store does with a failed attempt's job.
 * - retry: back to waiting at `runAt`, the attempt counts.
 * - snooze: back to waiting at `runAt`, the attempt is given back, and `snoozes` grows (a rate limit
 *   or an open breaker: the job itself could not get through).
 * - release: back to waiting at `runAt`, the attempt is given back and `snoozes` stays (a pause, a
 *   shutdown, a fatal stop: nothing was wrong with the job).
 * - dead: dead-lettered now.
 */
export type StoreMove = 'retry' | 'snooze' | 'release' | 'dead';

export interface FailItem {
  id: string;
  token: number;
  store: StoreMove;
  runAt: number;
  /** Appended to the job's error history; absent for a job handed back before it ran (nothing failed). */
  error?: JobErrorRecord;
  /** Recorded on dead jobs. */
  reason?: string;
}

export interface QueueStatus {
  name: string;
  paused: boolean;
  pauseReason: string | null;
  /** No claims before this time (a rate-limit window), epoch ms; 0 when not throttled. */
  throttledUntil: number;
}

export type StateCounts = Record<JobState, number>;

export interface ListFilter {
  states?: readonly JobState[];
  /** Matches the id, the name, the correlation id, or a substring of the payload. */
  search?: string;
  correlationId?: string;
  limit?: number;
  offset?: number;
  /** `desc`/`asc` by creation time; `next` in claim order (what a worker would take first). @default 'desc' */
  order?: 'asc' | 'desc' | 'next';
}

export interface RetentionRule {
  state: FinalState;
  /** Delete jobs of this state finished more than this long ago. */
  maxAgeMs?: number;
  /** Keep at most this many jobs of this state (the newest). */
  maxCount?: number;
}

export interface ReapResult {
  /**
   * Jobs whose lease expired, put back to waiting (the attempt counts) in their old place: their
   * priority and run-at are kept, so they go ahead of jobs added since.
   */
  requeued: string[];
  /** Jobs whose lease expired on their last attempt, dead-lettered. */
  dead: string[];
}

/**
 * What a store can do beyond the contract's core. The runtime reads these flags (never guesses from
 * which methods exist), and the conformance suite runs the cases of every capability a store declares.
 */
export interface StoreCapabilities {
  /** `subscribe` wakes idle workers, in this and other processes, when a job becomes ready. */
  notify: boolean;
  /** `add` writes inside the caller's transaction (`AddContext.tx`); without it, `tx` is refused. */
  transactionalEnqueue: boolean;
  /** Several store objects, in several processes or machines, may share the same data. */
  multiProcess: boolean;
  /** Data survives closing the store and opening it again (a restart of the process). */
  durable: boolean;
}

export const CAPABILITIES = ['notify', 'transactionalEnqueue', 'multiProcess', 'durable'] as const;

/** Throws a CapabilityError (naming the store and the capability) unless the store declares it. */
export function requireCapability(store: Store, capability: keyof StoreCapabilities, what: string): void {
  if (store.capabilities[capability] !== true) throw new CapabilityError(store.name, capability, what);
}

export interface AddContext {
  /**
   * A backend-specific transaction handle (e.g. a `pg` client inside BEGIN), for stores with the
   * `transactionalEnqueue` capability; any other store refuses it with a CapabilityError.
   */
  tx?: unknown;
}

export interface Store {
  readonly name: string;
  readonly capabilities: StoreCapabilities;
  /** Largest payload accepted, in bytes, if the backend has its own limit. */
  readonly maxPayloadBytes?: number;

  /** Creates or migrates the schema. Idempotent; safe when several processes start at once. */
  init(): Promise<void>;
  /** Releases connections and handles. Idempotent. */
  close(): Promise<void>;
  /** `await using store = …` closes the store at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>;

  /** Inserts jobs atomically; for an existing (queue, id) the existing job is returned and nothing changes. */
  add(jobs: readonly NewJob[], ctx?: AddContext): Promise<AddResult[]>;
  /** Leases up to `limit` ready jobs (not when the queue is paused or throttled); bumps fence and attempts. */
  claim(req: ClaimRequest): Promise<StoredJob[]>;
  /** Completes fenced jobs in one operation; one boolean per item (false: stale token). */
  complete(queue: string, items: readonly CompleteItem[], now: number): Promise<boolean[]>;
  /**
   * Optional: `complete` and then `claim` in one atomic operation (one transaction or script, one round
   * trip). A worker whose jobs finish hands its freed slots straight to the next jobs this way.
   */
  completeAndClaim?(
    queue: string,
    items: readonly CompleteItem[],
    now: number,
    claim: ClaimRequest,
  ): Promise<{ completed: boolean[]; claimed: StoredJob[] }>;
  /** Settles failed attempts in one operation; one boolean per item (false: stale token). */
  fail(queue: string, items: readonly FailItem[], now: number): Promise<boolean[]>;
  /** Extends leases; one boolean per item (false: the lease is lost). */
  heartbeat(
    queue: string,
    items: readonly { id: string; token: number }[],
    leaseMs: number,
    now: number,
  ): Promise<boolean[]>;
  /** Saves a checkpoint and/or progress under the lease. */
  update(
    queue: string,
    id: string,
    token: number,
    patch: { checkpoint?: string; progress?: string },
    now: number,
  ): Promise<boolean>;
  /** Recovers jobs whose lease expired before `now`. */
  reapExpired(queue: string, now: number, limit: number): Promise<ReapResult>;

  getJob(queue: string, id: string): Promise<StoredJob | null>;
  list(queue: string, filter: ListFilter, now: number): Promise<StoredJob[]>;
  counts(queue: string, now: number): Promise<StateCounts>;
  /**
   * When the next job is due: a time ≤ now when one is ready, else the earliest run-at of a delayed
   * job, or null when none waits. Lets idle workers sleep exactly until then.
   */
  nextRunAt(queue: string): Promise<number | null>;
  queues(): Promise<string[]>;

  status(queue: string): Promise<QueueStatus>;
  /** Pauses claiming; true when this call paused it (it was running), false when it was already paused. */
  pause(queue: string, reason: string | null, now: number): Promise<boolean>;
  resume(queue: string, now: number): Promise<void>;
  /** Holds claims on the queue until `until` (never shortens an existing window). */
  throttle(queue: string, until: number): Promise<void>;

  /** Cancels waiting, delayed or active jobs; returns the ids that were cancelled. */
  cancel(queue: string, ids: readonly string[], reason: string, now: number): Promise<string[]>;
  /** Deletes waiting and delayed jobs; returns how many. */
  clear(queue: string): Promise<number>;
  /** Dead jobs back to waiting with attempts reset; all dead jobs when `ids` is omitted. */
  replay(queue: string, ids: readonly string[] | undefined, now: number): Promise<string[]>;
  /** Deletes jobs in final states; `ids` limits it, else all of the given states. */
  purge(queue: string, states: readonly FinalState[], ids: readonly string[] | undefined): Promise<number>;
  /** Applies retention rules; returns how many jobs were deleted. */
  cleanup(queue: string, rules: readonly RetentionRule[], now: number): Promise<number>;

  /** Wake-ups when a job of `queue` becomes ready, from any process (capability `notify`). Returns a disposer. */
  subscribe?(queue: string, onReady: () => void): () => void;

  // Schedules (cron). The core computes ticks; the store keeps the schedule and its last fired tick.

  /**
   * Creates or replaces a schedule's spec. A new schedule starts with `lastTickAt = now` (no tick before
   * its creation fires); replacing one keeps its `lastTickAt`, so every process may declare it at start.
   */
  saveSchedule(queue: string, key: string, spec: string, now: number): Promise<void>;
  /** Deletes a schedule; true when there was one. */
  removeSchedule(queue: string, key: string): Promise<boolean>;
  /** The queue's schedules, by key. */
  listSchedules(queue: string): Promise<StoredSchedule[]>;
  /**
   * Records that the ticks up to `tickAt` were fired: `lastTickAt = max(lastTickAt, tickAt)` (never
   * moves back). False when the schedule does not exist (it was removed meanwhile).
   */
  markScheduleFired(queue: string, key: string, tickAt: number, now: number): Promise<boolean>;

  // Flows. A dependant is added `blocked` (see NewJob.dependsOn); `resolveDependants` moves it on.

  /**
   * Settles the dependency edges whose dependency has finished (completed, dead or cancelled), oldest
   * first, at most `limit`, in one atomic operation: a blocked job whose last dependency completed
   * becomes waiting (or, for a job that waits for its children, completed, its own dependants then
   * resolved in the same call); one whose dependency died follows its `onDependencyDead`.
   */
  resolveDependants(queue: string, now: number, limit: number): Promise<ResolveResult>;
  /**
   * Completes an active job (fenced) once `children` have finished: completed now when every child
   * already completed, else `blocked` with `result` kept until they do (dead at once when a child is
   * dead and `onDependencyDead` is `fail`). Unknown child ids are ignored. Returns the state the job is
   * in now (`completed`, `blocked` or `dead`), or null when the token is stale.
   */
  completeAfter(
    queue: string,
    item: CompleteItem,
    children: readonly string[],
    onDependencyDead: DeadDependency,
    now: number,
  ): Promise<StoredState | null>;
  /** The jobs `id` depends on (its `dependsOn`, or the children it waits for), in that order; missing ones left out. */
  getDependencies(queue: string, id: string): Promise<StoredJob[]>;

  // Fair groups. Claims with `ClaimRequest.groups` are fair across groups; these act on one group.

  /** Pauses claiming from one group; true when this call paused it. */
  pauseGroup(queue: string, group: string, reason: string | null, now: number): Promise<boolean>;
  resumeGroup(queue: string, group: string, now: number): Promise<void>;
  /** No claims from the group until `until` (never shortens an existing window). */
  throttleGroup(queue: string, group: string, until: number): Promise<void>;
  /** Groups the queue knows of (a group is known once a job was added to it), by name. */
  listGroups(
    queue: string,
    filter: { paused?: boolean; throttledAfter?: number; limit: number; offset: number },
  ): Promise<GroupStatus[]>;
}

/** A cron schedule as the store keeps it. */
export interface StoredSchedule {
  queue: string;
  key: string;
  /** The schedule as the core wrote it (JSON text; the store never parses it). */
  spec: string;
  /** The newest tick fired (or the creation time), epoch ms: ticks at or before it never fire again. */
  lastTickAt: number;
  createdAt: number;
  updatedAt: number;
}
