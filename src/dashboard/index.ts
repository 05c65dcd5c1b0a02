/**
 * `bulwark/dashboard`: the dashboard's routes and what they read from a store. Serve it with
 * `startServer` or `createHandler` from `bulwark/server`, which add the token, the login page and
 * the CSRF checks; `createDashboard(...).overview()` and `.health()` also work without HTTP.
 */
export { createDashboard, type Dashboard, type DashboardOptions } from './api.js';
export type {
  DashboardSources,
  JobDetail,
  JobPage,
  JobQuery,
  JobRow,
  Overview,
  Preview,
  QueueDetail,
  QueueOverview,
  PausedGroup,
  ThrottledGroup,
  QueueRunState,
} from './data.js';
export type { TopError } from './errors.js';
export type { Block, JobChange, WatchedWorker } from './live.js';
export type { SeriesPoint } from './series.js';
export type { DependencyVerdict, QueueVerdict, Verdict } from './verdict.js';
