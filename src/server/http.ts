/**
 * Health and metrics endpoints with Kubernetes semantics, on a small node:http server bulwark
 * starts, or as a handler mounted into an existing app:
 *
 * - `/livez`   the process is alive: always 200 while it can answer (never checks a dependency).
 * - `/readyz`  ready to take work: not draining, watched workers running, `ready()` true; else 503.
 * - `/healthz` the full health report as `application/health+json`: 200 for pass/warn, 503 for fail.
 * - `/metrics` Prometheus text.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ValidationError, coerceError } from '../kernel/errors.js';
import type { Disposer } from '../kernel/events.js';
import { parseOptions, zPositiveInt } from '../kernel/validate.js';
import type { Queue } from '../core/queue.js';
import type { Worker } from '../core/worker/worker.js';
import type { HealthMonitor, HealthStatus, SystemHealth } from '../observe/health.js';
import type { BulwarkMetrics } from '../observe/metrics.js';

export interface HealthEndpointsOptions {
  /** The health report of `/healthz`. Without one, `/healthz` reports pass with no checks. */
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

export interface StartHealthServerOptions extends HealthEndpointsOptions {
  /** 0 picks a free port. */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
}

type Next = (error?: unknown) => void;

/** A request handler for node:http or express-style apps; unknown paths go to `next` (or 404). */
export interface HealthHandler {
  (req: IncomingMessage, res: ServerResponse, next?: Next): void;
  /** From now on `/readyz` answers 503 (true) or checks again (false). */
  setDraining(draining?: boolean): void;
  readonly draining: boolean;
}

export interface HealthServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  setDraining(draining?: boolean): void;
  readonly draining: boolean;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const fn = <F>(what: string) => z.custom<F>((f) => typeof f === 'function', `expected ${what}`);
const zEndpoints = z
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
const zServer = zEndpoints
  .extend({
    port: z.number().int().min(0).max(65_535),
    host: z.string().min(1).max(255).optional(),
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

/**
 * The four endpoints as one request handler. Mount it in node:http, or in express
 * (`app.use(healthHandler({ ... }))`); a path it does not serve goes to `next`, or gets a 404.
 */
export function healthHandler(options: HealthEndpointsOptions = {}): HealthHandler {
  const o = parseOptions(zEndpoints, options, 'health endpoint options');
  const base = o.basePath ?? '';
  const readyTimeoutMs = o.readyTimeoutMs ?? 2000;
  const routes: Record<string, (res: ServerResponse, head: boolean) => Promise<void>> = {
    [`${base}/livez`]: async (res, head) => send(res, 200, TEXT, 'ok\n', head),
    [`${base}/readyz`]: async (res, head) => {
      const why = await notReady();
      if (why === null) send(res, 200, TEXT, 'ready\n', head);
      else send(res, 503, TEXT, `not ready: ${why}\n`, head);
    },
    [`${base}/healthz`]: async (res, head) => {
      if (!o.monitor) {
        return send(
          res,
          200,
          HEALTH_JSON,
          JSON.stringify({ status: 'pass', notes: ['no health monitor'] }),
          head,
        );
      }
      const h = await o.monitor.check();
      const body = toHealthJson(h, o.version);
      send(res, body.status === 'fail' ? 503 : 200, HEALTH_JSON, JSON.stringify(body), head);
    },
    [`${base}/metrics`]: async (res, head) => {
      if (!o.metrics) return send(res, 404, TEXT, 'no metrics configured\n', head);
      const text = await o.metrics.metrics();
      send(res, 200, o.metrics.contentType, text, head);
    },
  };

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

  const handler = ((req: IncomingMessage, res: ServerResponse, next?: Next): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const route = routes[path];
    if (!route) {
      if (next) return next();
      return send(res, 404, TEXT, 'not found\n', req.method === 'HEAD');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, TEXT, 'method not allowed\n', false);
    }
    route(res, req.method === 'HEAD').catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, TEXT, `error: ${coerceError(e).message}\n`, false);
      else res.end();
    });
  }) as HealthHandler;
  handler.setDraining = (d = true) => {
    draining = d;
  };
  Object.defineProperty(handler, 'draining', { get: () => draining, enumerable: true });
  return handler;
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(head ? undefined : body);
}

/** Starts the endpoints on their own server, on 127.0.0.1 unless told otherwise. */
export async function startHealthServer(options: StartHealthServerOptions): Promise<HealthServer> {
  const { port, host = '127.0.0.1', ...endpoints } = parseOptions(zServer, options, 'health server options');
  const handler = healthHandler(endpoints);
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      server.closeIdleConnections();
    }));
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    host: address.address,
    port: address.port,
    url: `http://${urlHost}:${address.port}`,
    setDraining: (d?: boolean) => handler.setDraining(d),
    get draining() {
      return handler.draining;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A `ready` check that passes when every queue's store answers a status read: the usual meaning of
 * "able to take work". A throw (store down, closed) fails readiness with the error's message.
 */
export function storeReachable(...queues: Pick<Queue, 'status'>[]): () => Promise<boolean> {
  if (queues.length === 0 || queues.some((q) => typeof (q as Queue)?.status !== 'function')) {
    throw new ValidationError('[bulwark] [server] storeReachable expects one or more queues', {
      path: 'queues',
    });
  }
  return async () => {
    await Promise.all(queues.map((q) => q.status()));
    return true;
  };
}

export interface DrainOptions {
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: NodeJS.Signals[];
  /** Grace period given to each worker's close(), in ms. @default each worker's shutdownGraceMs */
  graceMs?: number;
  /** Close the server once the workers are closed. @default true */
  closeServer?: boolean;
  /** Called when draining is over (with the first error, if any). */
  onDrained?: (error?: Error) => void;
}

export interface Drain {
  /** Drains now, as the signal would: readiness 503, workers closed, then the server. Idempotent. */
  drain(): Promise<void>;
  /** Removes the signal listeners. */
  dispose: Disposer;
}

const zDrain = z
  .object({
    signals: z
      .array(z.string().regex(/^SIG[A-Z0-9]+$/))
      .min(1)
      .optional(),
    graceMs: z.number().int().nonnegative().optional(),
    closeServer: z.boolean().optional(),
    onDrained: fn<(error?: Error) => void>('a function').optional(),
  })
  .strict();

/**
 * On SIGTERM (or the given signals): `/readyz` turns 503 at once so the load balancer or Kubernetes
 * stops sending work, the workers stop claiming and finish their jobs, then the server closes.
 * `/livez` keeps answering 200 until then.
 */
export function drainOnSignal(
  workers: readonly Pick<Worker, 'close'>[],
  server: { setDraining(draining?: boolean): void; close?(): Promise<void> },
  options: DrainOptions = {},
): Drain {
  if (!Array.isArray(workers) || workers.some((w) => typeof (w as Worker)?.close !== 'function')) {
    throw new ValidationError('[bulwark] [server] drainOnSignal expects an array of workers', {
      path: 'workers',
    });
  }
  if (typeof server?.setDraining !== 'function') {
    throw new ValidationError('[bulwark] [server] drainOnSignal expects a health server or handler', {
      path: 'server',
    });
  }
  const o = parseOptions(zDrain, options, 'drain options');
  const signals = (o.signals ?? ['SIGTERM', 'SIGINT']) as NodeJS.Signals[];
  let draining: Promise<void> | undefined;
  const drain = (): Promise<void> =>
    (draining ??= (async () => {
      server.setDraining(true);
      const closeOptions = o.graceMs === undefined ? {} : { graceMs: o.graceMs };
      const results = await Promise.allSettled(workers.map((w) => w.close(closeOptions)));
      let error = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason as unknown;
      if (o.closeServer !== false && server.close) {
        try {
          await server.close();
        } catch (e) {
          error ??= e;
        }
      }
      o.onDrained?.(error === undefined ? undefined : coerceError(error));
    })());
  const onSignal = (): void => void drain();
  for (const s of signals) process.on(s, onSignal);
  return {
    drain,
    dispose: () => {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
