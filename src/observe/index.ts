/**
 * `bulwark/observe`: health verdicts (HEALTHY / DEGRADED / UNHEALTHY), Prometheus metrics, pino logs
 * with the job's correlation id, and `instrument()` to attach all three to a worker.
 */
export {
  HealthMonitor,
  HEALTH_STATUSES,
  formatHealth,
  type BreakerHealth,
  type BreakerProvider,
  type BreakerSource,
  type HealthCheckRecord,
  type HealthMonitorOptions,
  type HealthStatus,
  type HealthThresholds,
  type HealthWindow,
  type ProcessorHealth,
  type QueueHealth,
  type SystemHealth,
} from './health.js';
export type { WindowStats } from './window.js';
export {
  BulwarkMetrics,
  METRIC_NAMES,
  OVERFLOW_LABEL,
  type CacheCounters,
  type CacheProvider,
  type CacheSource,
  type MetricsOptions,
} from './metrics.js';
export { createLogger, logJobEvents, LOG_LEVELS, type LogLevel, type LogOptions } from './log.js';
export { instrument, type Instrumentation } from './instrument.js';
export { enableTracing, traceStore, type TracerProviderLike, type TracingOptions } from './tracing.js';
