/**
 * `bulwark`: the durable queue and its runtime (queues, workers, pipelines, the failure table, the
 * errors that steer it) with the embedded SQLite store. Everything else has its own entry point, so
 * that importing one part loads nothing of the others:
 * `bulwark/resilience`, `bulwark/cache`, `bulwark/observe`, `bulwark/server`, `bulwark/dashboard`,
 * `bulwark/sqlite`, `bulwark/postgres`, `bulwark/redis`, and `bulwark/store` (the Store contract).
 */
export {
  Queue,
  type AddOptions,
  type BulkItem,
  type JobDefaults,
  type QueueEvents,
  type QueueOptions,
} from './core/queue.js';
export {
  Worker,
  DEFAULT_RETENTION,
  type FailureInfo,
  type Handler,
  type WorkerEvents,
  type WorkerOptions,
} from './core/worker/worker.js';
export type {
  DependencyGate,
  DependencySource,
  FailureRecord,
  FailureRecorder,
  WorkerOwnEvents,
} from './core/worker/options.js';
export type { JobContext } from './core/worker/context.js';
export type { SpawnOptions, Spawned } from './core/worker/spawn.js';
export type { AddOutcome, UniqueOptions } from './core/add-features.js';
export type { GroupLimitOptions, GroupsOptions } from './core/groups.js';
export type { CatchUp, ScheduleInfo, ScheduleOptions, ScheduledJobOptions } from './core/schedule.js';
export { DEFAULT_ACTIONS, type FateOptions } from './core/worker/fate.js';
export {
  Pipeline,
  type BatchContext,
  type BatchHandler,
  type BatchOptions,
  type BatchStageOptions,
  type PipelineJobStatus,
  type PipelineOptions,
  type StageOptions,
} from './core/pipeline.js';
export type { Job } from './core/job.js';
export { ManualClock, systemClock, type Clock } from './kernel/clock.js';
export type { Disposer, Listener } from './kernel/events.js';
export { currentJob, type JobScope, type Logger } from './kernel/logger.js';
export {
  AuthError,
  BulwarkError,
  CapabilityError,
  ClosedError,
  DependencyError,
  ERROR_CATEGORIES,
  FatalError,
  LeaseLostError,
  NotFoundError,
  PermanentError,
  RateLimitError,
  ResourceError,
  StateError,
  StoreError,
  TimeoutError,
  TransientError,
  ValidationError,
  coerceError,
  hasCode,
  isCapabilityError,
  isLeaseLostError,
  isNotFoundError,
  isRateLimitError,
  isTimeoutError,
  isValidationError,
  type BulwarkErrorOptions,
  type DependencyErrorOptions,
  type ErrorCategory,
  type RateLimitErrorOptions,
} from './kernel/errors.js';
export type { BackoffOptions, BackoffType, JitterType } from './resilience/backoff.js';
export type { Classification, ClassifyRule } from './resilience/classify.js';
export {
  FAILURE_ACTIONS,
  FINAL_STATES,
  JOB_STATES,
  type AddContext,
  type DeadDependency,
  type GroupStatus,
  type FailureAction,
  type FinalState,
  type JobErrorRecord,
  type JobState,
  type ListFilter,
  type QueueStatus,
  type RecordedAction,
  type RetentionRule,
  type StateCounts,
  type Store,
  type StoreCapabilities,
} from './store/types.js';
export { sqliteStore, SqliteStore, type SqliteStoreOptions } from './store/sqlite/index.js';
