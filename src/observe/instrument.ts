/** One call to hook a worker into health, metrics and lifecycle logs. */
import { ValidationError } from '../kernel/errors.js';
import type { Disposer } from '../kernel/events.js';
import type { Logger } from '../kernel/logger.js';
import type { Worker } from '../core/worker/worker.js';
import type { HealthMonitor } from './health.js';
import { logJobEvents } from './log.js';
import type { BulwarkMetrics } from './metrics.js';

export interface Instrumentation {
  monitor?: HealthMonitor;
  metrics?: BulwarkMetrics;
  /** Logs the worker's job lifecycle. (Give the same logger as the worker's `logger` option for handler lines.) */
  logger?: Logger;
}

/** Watches `worker` with each part given; returns one disposer for all of them. */
export function instrument(
  worker: Pick<Worker, 'on' | 'queue' | 'busy' | 'isRunning'>,
  parts: Instrumentation,
): Disposer {
  if (typeof parts !== 'object' || parts === null) {
    throw new ValidationError('[bulwark] instrument expects { monitor?, metrics?, logger? }', {
      path: 'parts',
    });
  }
  const w = worker;
  const offs: Disposer[] = [];
  try {
    if (parts.monitor) offs.push(parts.monitor.watch(w));
    if (parts.metrics) offs.push(parts.metrics.watch(w));
    if (parts.logger) offs.push(logJobEvents(w, parts.logger));
  } catch (e) {
    for (const off of offs) off();
    throw e;
  }
  return () => {
    for (const off of offs.splice(0)) off();
  };
}
