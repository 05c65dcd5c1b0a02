/**
 * `bulwark/server`: one HTTP server for operators and orchestrators — `/livez`, `/readyz`, `/healthz`,
 * `/metrics`, and with a store the dashboard, its JSON API and its live feed, behind one token —
 * as a server of its own (`startServer`) or a handler to mount (`createHandler`), and draining on
 * SIGTERM.
 */
export { createHandler, type BulwarkHandler, type ServedWorker, type ServerOptions } from './handler.js';
export {
  startServer,
  startHealthServer,
  healthHandler,
  type HealthHandler,
  type HealthServer,
  type RunningServer,
  type StartHealthServerOptions,
  type StartServerOptions,
} from './server.js';
export {
  toHealthJson,
  verdictToHealthJson,
  healthCheckStatus,
  type HealthEndpointsOptions,
} from './health.js';
export { storeMetrics, type StoreMetrics } from './metrics.js';
export { storeReachable, drainOnSignal, type Drain, type DrainOptions } from './drain.js';
