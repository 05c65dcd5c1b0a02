/** bulwark's public API. Internals are not exported; stores live in their own subpaths too. */
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
  type Handler,
  type WorkerEvents,
  type WorkerOptions,
} from './core/worker.js';
export type {
  DependencyGate,
  DependencySource,
  FailureInfo,
  FailureRecord,
  FailureRecorder,
} from './core/worker-options.js';
export type { JobContext } from './core/attempt.js';
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
export { DEFAULT_ACTIONS, decideFate, type FailureAction, type Fate, type FateOptions } from './core/fate.js';
export { ManualClock, systemClock, type Clock } from './core/clock.js';
export { TypedEmitter, type Disposer, type Listener } from './core/events.js';
export { currentJob, jobScope, noopLogger, type JobScope, type Logger } from './core/logger.js';
export {
  AuthError,
  BulwarkError,
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
  isLeaseLostError,
  isNotFoundError,
  isRateLimitError,
  isTimeoutError,
  isValidationError,
  type ErrorCategory,
} from './core/errors.js';
export {
  classify,
  httpStatusOf,
  parseRetryAfter,
  type Classification,
  type ClassifyRule,
} from './resilience/classify.js';
export {
  backoffDelay,
  baseDelay,
  resolveBackoff,
  DEFAULT_BACKOFF,
  type BackoffOptions,
  type BackoffType,
  type JitterType,
} from './resilience/backoff.js';
export type * from './store/types.js';
export { ERROR_HISTORY_LIMIT, FINAL_STATES, JOB_STATES } from './store/types.js';
export { sqliteStore, SqliteStore, type SqliteStoreOptions } from './store/sqlite/index.js';
export {
  createDashboard,
  startDashboard,
  type Dashboard,
  type DashboardOptions,
  type Overview,
  type QueueOverview,
  type RunningDashboard,
  type StartDashboardOptions,
} from './dashboard/index.js';
