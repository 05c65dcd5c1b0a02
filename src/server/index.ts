/**
 * `bulwark/server`: the HTTP endpoints for orchestrators and scrapers (`/livez`, `/readyz`, `/healthz`,
 * `/metrics`), as a server of their own or a handler to mount, and draining on SIGTERM.
 */
export {
  startHealthServer,
  healthHandler,
  storeReachable,
  drainOnSignal,
  toHealthJson,
  healthCheckStatus,
  type Drain,
  type DrainOptions,
  type HealthEndpointsOptions,
  type HealthHandler,
  type HealthServer,
  type StartHealthServerOptions,
} from './http.js';
