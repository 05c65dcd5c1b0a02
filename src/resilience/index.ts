/**
 * `bulwark/resilience`: policies usable on their own (retry, circuit breaker, timeout, bulkhead, rate
 * limit, fallback, wrap), the dependency registry, error classification and analytics. Loads no logger,
 * metrics library or database driver. The error classes that steer policies and classification are
 * the same objects `bulwark` exports.
 */
export {
  AuthError,
  BulwarkError,
  DependencyError,
  ERROR_CATEGORIES,
  FatalError,
  PermanentError,
  RateLimitError,
  ResourceError,
  TimeoutError,
  TransientError,
  ValidationError,
  coerceError,
  hasCode,
  isRateLimitError,
  isTimeoutError,
  isValidationError,
  type BulwarkErrorOptions,
  type DependencyErrorOptions,
  type ErrorCategory,
  type RateLimitErrorOptions,
} from '../kernel/errors.js';
export { Policy, type ExecuteContext, type Task, type Timers } from './policy.js';
export {
  classify,
  httpStatusOf,
  parseRetryAfter,
  type Classification,
  type ClassifyRule,
} from './classify.js';
export {
  DEFAULT_BACKOFF,
  backoffDelay,
  resolveBackoff,
  type BackoffOptions,
  type BackoffType,
  type JitterType,
  type ResolvedBackoff,
} from './backoff.js';
export {
  RetryBudget,
  RetryPolicy,
  retry,
  DEFAULT_RETRY_CATEGORIES,
  type CustomBackoffOptions,
  type GiveUpReason,
  type RetryBudgetOptions,
  type RetryEvents,
  type RetryOn,
  type RetryOptions,
} from './retry.js';
export {
  CircuitBreaker,
  circuitBreaker,
  type BreakerEvents,
  type BreakerOptions,
  type BreakerSnapshot,
  type BreakerState,
  type BreakerStats,
  type BreakerTransition,
  type BreakerWindow,
  type IsolationHandle,
  type Outcome,
} from './breaker.js';
export {
  TimeoutPolicy,
  timeout,
  type TimeoutEvents,
  type TimeoutOptions,
  type TimeoutStrategy,
} from './timeout.js';
export { BulkheadPolicy, bulkhead, type BulkheadEvents, type BulkheadOptions } from './bulkhead.js';
export { AdaptivePolicy, adaptive, type AdaptiveOptions } from './adaptive.js';
export {
  AdaptiveLimiter,
  adaptiveLimiter,
  type AdaptiveLimiterEvents,
  type AdaptiveLimiterOptions,
  type AdaptiveLimiterStats,
  type AdaptivePermit,
  type LimitChange,
} from './adaptive-limiter.js';
export type { LimitReason } from './adaptive-vegas.js';
export {
  RateLimiter,
  rateLimit,
  type AcquireResult,
  type RateLimitEvents,
  type RateLimitOptions,
} from './rate-limit.js';
export {
  FallbackPolicy,
  fallback,
  type FallbackCache,
  type FallbackEvents,
  type FallbackOptions,
} from './fallback.js';
export { WrappedPolicy, noop, wrap, type PolicyExtra } from './wrap.js';
export {
  BrokenCircuitError,
  BulkheadRejectedError,
  RateLimitRejectedError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isDependencyError,
  isLocalRejection,
  type BrokenCircuitErrorOptions,
} from './errors.js';
export {
  Dependency,
  DependencyRegistry,
  createRegistry,
  type DependencyEvents,
  type DependencyOptions,
  type DependencyStats,
  type RegistryOptions,
} from './registry.js';
export {
  ErrorAnalytics,
  SEVERITIES,
  severityOf,
  type Severity,
  type SeverityRates,
  type AnalyticsSummary,
  type ErrorAnalyticsOptions,
  type ErrorRecord,
  type PatternStats,
  type TopQuery,
  type Trend,
} from './analytics.js';
export {
  RECOVERY_TRIGGERS,
  RecoveryRunner,
  createRecovery,
  type BreakerEventSource,
  type ConcurrencyControl,
  type RecoveryAction,
  type RecoveryEvent,
  type RecoveryEvents,
  type RecoveryOptions,
  type RecoveryOutcome,
  type RecoveryPlan,
  type RecoveryTrigger,
} from './recovery.js';
export {
  Failover,
  alert,
  clearCache,
  failover,
  lowerConcurrency,
  type FailoverEvents,
  type FailoverOptions,
  type LowerConcurrencyOptions,
} from './recovery-actions.js';
