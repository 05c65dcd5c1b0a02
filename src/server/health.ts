/**
 * The endpoints for orchestrators and scrapers, with Kubernetes semantics:
 *
 * - `/livez`   the process is alive: always 200 while it can answer (never checks a dependency).
 * - `/readyz`  ready to take work: not draining, watched workers running, `ready()` true; else 503.
 * - `/healthz` the full health report as `application/health+json`: 200 for pass/warn, 503 for fail.
 * - `/metrics` Prometheus text.
 *
 * `createHandler` and `startServer` (handler.ts, server.ts) serve them beside the dashboard.
 */
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { coerceError } from '../kernel/errors.js';
import { zPositiveInt } from '../kernel/validate.js';
import type { Worker } from '../core/worker/worker.js';
import type { HealthMonitor, HealthStatus, SystemHealth } from '../observe/health.js';
import type { BulwarkMetrics } from '../observe/metrics.js';
import { send } from '../dashboard/http.js';
import type { Verdict } from '../dashboard/verdict.js';

export interface HealthEndpointsOptions {
  /**
   * The processors and breakers of `/healthz`. With a store (the dashboard), `/healthz` serves the
   * dashboard's verdict, which includes them; without either, it reports pass with no checks.
   */
  monitor?: Pick<HealthMonitor, 'check'>;
  /** The metrics of `/metrics`. Without them, `/metrics` is 404. */
  metrics?: Pick<BulwarkMetrics, 'metrics' | 'contentType'>;
  /** Is the process able to take work (e.g. the store answers)? false or a throw → 503. @default () => true */
  ready?: () => Promise<boolean> | boolean;
  /** Workers that must be running for `/readyz` to pass: it fails as soon as one starts closing. */
  workers?: readonly Pick<Worker, 'isRunning'>[];
  /** How long `ready()` may take before `/readyz` fails, in ms. @default 2000 */
  readyTimeoutMs?: number;
  /** Prefix of the paths, e.g. '/ops' serves '/ops/livez'. @default '' */
  basePath?: string;
  /** `version` and `releaseId` in the health report. */
  version?: string;
}

const fn = <F>(what: string) => z.custom<F>((f) => typeof f === 'function', `expected ${what}`);
export const zEndpoints = z
  .object({
    monitor: z
      .custom<Pick<HealthMonitor, 'check'>>(
        (m) => typeof (m as HealthMonitor)?.check === 'function',
        'expected a HealthMonitor',
      )
      .optional(),
    metrics: z
      .custom<Pick<BulwarkMetrics, 'metrics' | 'contentType'>>(
        (m) => typeof (m as BulwarkMetrics)?.metrics === 'function',
        'expected BulwarkMetrics',
      )
      .optional(),
    ready: fn<() => Promise<boolean> | boolean>('a function').optional(),
    workers: z
      .array(
        z.custom<Pick<Worker, 'isRunning'>>((w) => typeof w === 'object' && w !== null && 'isRunning' in w),
      )
      .optional(),
    readyTimeoutMs: zPositiveInt.max(60_000).optional(),
    basePath: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)*$/, "a path like '/ops' (no trailing slash), or ''")
      .optional(),
    version: z.string().min(1).max(100).optional(),
  })
  .strict();
const HEALTH_JSON = 'application/health+json';
const TEXT = 'text/plain; charset=utf-8';

/** The RFC-draft health status of a bulwark status: no data yet is not a failure. */
export function healthCheckStatus(status: HealthStatus): 'pass' | 'warn' | 'fail' {
  return status === 'UNHEALTHY' ? 'fail' : status === 'DEGRADED' ? 'warn' : 'pass';
}

interface CheckItem {
  componentId: string;
  componentType: string;
  status: 'pass' | 'warn' | 'fail';
  observedValue?: number | string | boolean;
  observedUnit?: string;
  time: string;
  output?: string;
}

/**
 * A system health report in the `application/health+json` shape (draft-inadarei-api-health-check):
 * `status`, `checks` keyed `processor:<name>`, `breaker:<name>`, `queue:<name>`, the reasons as
 * `notes`, and bulwark's full report under `bulwark`.
 */
export function toHealthJson(h: SystemHealth, version?: string): Record<string, unknown> {
  const time = new Date(h.checkedAt).toISOString();
  const checks: Record<string, CheckItem[]> = {};
  for (const p of h.processors) {
    const item: CheckItem = {
      componentId: p.name,
      componentType: 'processor',
      status: healthCheckStatus(p.status),
      time,
    };
    if (p.window.successRate !== null) {
      item.observedValue = p.window.successRate;
      item.observedUnit = 'ratio';
    }
    if (p.status !== 'HEALTHY' && p.lastError !== null) item.output = p.lastError;
    checks[`processor:${p.name}`] = [item];
  }
  for (const b of h.breakers) {
    checks[`breaker:${b.name}`] = [
      {
        componentId: b.name,
        componentType: 'circuit-breaker',
        status: healthCheckStatus(b.status),
        observedValue: b.state,
        time,
      },
    ];
  }
  for (const q of h.queues) {
    const item: CheckItem = {
      componentId: q.name,
      componentType: 'queue',
      status: healthCheckStatus(q.status),
      observedValue: q.paused ? 'paused' : 'running',
      time,
    };
    if (q.pauseReason !== null) item.output = q.pauseReason;
    checks[`queue:${q.name}`] = [item];
  }
  return {
    status: healthCheckStatus(h.status),
    ...(version === undefined ? {} : { version, releaseId: version }),
    description: 'bulwark job processing',
    ...(h.reasons.length > 0 ? { output: h.reasons[0], notes: h.reasons } : {}),
    checks,
    bulwark: h,
  };
}

/** The verdict of the dashboard (store-derived) in the same `application/health+json` shape. */
export function verdictToHealthJson(v: Verdict, version?: string): Record<string, unknown> {
  const time = new Date(v.checkedAt).toISOString();
  const checks: Record<string, CheckItem[]> = {};
  for (const d of v.dependencies) {
    checks[`${d.kind}:${d.name}`] = [
      {
        componentId: d.name,
        componentType: d.kind,
        status: healthCheckStatus(d.status),
        time,
        output: d.detail,
      },
    ];
  }
  for (const q of v.queues) {
    const item: CheckItem = {
      componentId: q.name,
      componentType: 'queue',
      status: healthCheckStatus(q.status),
      time,
    };
    if (q.reasons.length > 0) item.output = q.reasons.join('; ');
    checks[`queue:${q.name}`] = [item];
  }
  return {
    status: healthCheckStatus(v.status),
    ...(version === undefined ? {} : { version, releaseId: version }),
    description: 'bulwark job processing',
    ...(v.reasons.length > 0 ? { output: v.reasons[0], notes: v.reasons } : {}),
    checks,
    bulwark: v,
  };
}

/** The probe and scrape routes: resolves false for paths they do not own. */
export interface Probes {
  handle(res: ServerResponse, path: string, method: string): Promise<boolean>;
  /** True for the paths that answer without a token (`/livez`, `/readyz`). */
  isPublic(path: string): boolean;
  setDraining(draining?: boolean): void;
  readonly draining: boolean;
}

export function createProbes(
  o: Omit<HealthEndpointsOptions, 'basePath'>,
  verdict?: () => Promise<Verdict>,
): Probes {
  const readyTimeoutMs = o.readyTimeoutMs ?? 2000;
  let draining = false;

  const notReady = async (): Promise<string | null> => {
    if (draining) return 'draining';
    if (o.workers?.some((w) => !w.isRunning)) return 'a worker is stopping';
    if (!o.ready) return null;
    let timer: NodeJS.Timeout | undefined;
    try {
      const ok = await Promise.race([
        Promise.resolve().then(() => o.ready!()),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), readyTimeoutMs);
          timer.unref();
        }),
      ]);
      if (ok === 'timeout') return `ready check took over ${readyTimeoutMs} ms`;
      return ok === true ? null : 'ready check failed';
    } catch (e) {
      return `ready check failed: ${coerceError(e).message}`;
    } finally {
      clearTimeout(timer);
    }
  };

  const routes: Record<string, (res: ServerResponse, head: boolean) => Promise<void>> = {
    '/livez': async (res, head) => send(res, 200, TEXT, 'ok\n', head),
    '/readyz': async (res, head) => {
      const why = await notReady();
      if (why === null) send(res, 200, TEXT, 'ready\n', head);
      else send(res, 503, TEXT, `not ready: ${why}\n`, head);
    },
    '/healthz': async (res, head) => {
      let body: Record<string, unknown>;
      // With a store, the verdict (store facts and the monitor's processors): what `bulwark health` says.
      if (verdict) body = verdictToHealthJson(await verdict(), o.version);
      else if (o.monitor) body = toHealthJson(await o.monitor.check(), o.version);
      else body = { status: 'pass', notes: ['no health monitor'] };
      send(res, body.status === 'fail' ? 503 : 200, HEALTH_JSON, JSON.stringify(body), head);
    },
    '/metrics': async (res, head) => {
      if (!o.metrics) return send(res, 404, TEXT, 'no metrics configured\n', head);
      const text = await o.metrics.metrics(); // first: a source may load its registry on the first scrape
      send(res, 200, o.metrics.contentType, text, head);
    },
  };

  return {
    async handle(res, path, method) {
      const route = routes[path];
      if (!route) return false;
      if (method !== 'GET' && method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        send(res, 405, TEXT, 'method not allowed\n');
        return true;
      }
      await route(res, method === 'HEAD');
      return true;
    },
    isPublic: (path) => path === '/livez' || path === '/readyz',
    setDraining(d = true) {
      draining = d;
    },
    get draining() {
      return draining;
    },
  };
}
