/**
 * HTTP request metrics for the user's own server (the documents' `track_request`): a request
 * counter and a duration histogram by method, route template and status, on a Prometheus registry
 * (bulwark's, or any). Works with node:http (`metrics.node(handler)`), Express
 * (`app.use(metrics.express)`) and Fastify (`app.register(metrics.fastify)`), none of which is
 * imported: the frameworks are read through the few fields they put on the request.
 *
 * Label values stay bounded: methods outside the standard ones count as `other`, a request that
 * matched no route as `unmatched` (never its raw path), and routes past `maxRoutes` as `other`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Registry, type RegistryContentType } from 'prom-client';
import { z } from 'zod';
import { ValidationError } from '../kernel/errors.js';
import { parseOptions } from '../kernel/validate.js';
import { CounterFamily, HistogramFamily, type CounterCell, type HistogramCell } from './families.js';
import { routeMatcher } from './http-routes.js';
import { LabelLimiter, OVERFLOW_LABEL } from './metrics.js';

export interface HttpMetricsOptions {
  /** Where the metrics go: a prom-client Registry, or bulwark's metrics (their registry). @default a new Registry */
  registry?: Registry<RegistryContentType> | { readonly registry: Registry<RegistryContentType> };
  /**
   * For plain node:http servers: the route templates (`/users/:id`, `/files/*`; the first match
   * wins), or a function from the request to its template (undefined: unmatched). Express and
   * Fastify name their routes themselves. @default none: every node:http request is `unmatched`
   */
  routes?: readonly string[] | ((req: IncomingMessage) => string | undefined);
  /** Most distinct route labels; later routes are counted as `other`. @default 100 */
  maxRoutes?: number;
  /** Buckets of the duration histogram, in seconds. @default 0.005 … 10 */
  durationBuckets?: number[];
  /** Put before the metric names, e.g. `api_` → `api_http_requests_total`. @default '' */
  prefix?: string;
}

/** What the Express middleware reads from a request (Express sets `route` and `baseUrl`). */
export interface ExpressLikeRequest extends IncomingMessage {
  route?: { path?: unknown } | undefined;
  baseUrl?: string | undefined;
}

/** What the Fastify plugin reads from a request and a reply. */
export interface FastifyLikeRequest {
  readonly method: string;
  readonly routeOptions?: { readonly url?: string | undefined } | undefined;
}
export interface FastifyLikeReply {
  readonly statusCode: number;
  readonly elapsedTime?: number;
}
type FastifyHook = (request: FastifyLikeRequest, reply: FastifyLikeReply, done: () => void) => void;
/** What the Fastify plugin needs of the instance it is registered on. */
export interface FastifyLike {
  addHook(name: 'onRequest' | 'onResponse' | 'onRequestAbort', hook: FastifyHook): unknown;
}
/** A Fastify plugin (callback style, not encapsulated: it sees every route). */
export interface FastifyLikePlugin {
  (instance: FastifyLike, options: unknown, done: (error?: Error) => void): void;
}

/** The label values of one request. */
export interface HttpRequestLabels {
  method: string;
  /** The route template; undefined when the request matched no route. */
  route: string | undefined;
  /** The response status, or 'aborted' when the client left before the response was sent. */
  status: number | 'aborted';
}

export interface HttpMetrics {
  readonly registry: Registry<RegistryContentType>;
  /** Wraps a node:http request listener: `createServer(metrics.node(handler))`. */
  node(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
  ): (req: IncomingMessage, res: ServerResponse) => void;
  /** Express middleware; register it before the routes: `app.use(metrics.express)`. */
  readonly express: (req: ExpressLikeRequest, res: ServerResponse, next: (error?: unknown) => void) => void;
  /** Fastify plugin: `await app.register(metrics.fastify)`. */
  readonly fastify: FastifyLikePlugin;
  /** Records one request by hand (for other frameworks). */
  observe(labels: HttpRequestLabels, durationSeconds: number): void;
  /** Removes these metrics from the registry. */
  close(): void;
}

export const HTTP_METRIC_NAMES = ['http_requests_total', 'http_request_duration_seconds'] as const;
/** The route label of a request that matched no route. */
export const UNMATCHED_ROUTE = 'unmatched';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

const zRegistry = z.custom<Registry<RegistryContentType>>(
  (r) => r instanceof Registry,
  'expected a prom-client Registry',
);
const zOptions = z
  .object({
    registry: z
      .union([
        zRegistry,
        z.custom<{ registry: Registry<RegistryContentType> }>(
          (m) =>
            typeof m === 'object' && m !== null && (m as { registry?: unknown }).registry instanceof Registry,
          'expected a prom-client Registry or bulwark metrics',
        ),
      ])
      .optional(),
    routes: z
      .union([
        z.array(z.string()).max(10_000),
        z.custom<(req: IncomingMessage) => string | undefined>((f) => typeof f === 'function'),
      ])
      .optional(),
    maxRoutes: z.number().int().positive().max(10_000).optional(),
    durationBuckets: z.array(z.number().positive().finite()).min(1).max(100).optional(),
    prefix: z
      .string()
      .max(100)
      .regex(
        /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/,
        'use a Prometheus metric name prefix (letters, digits, _ and :)',
      )
      .optional(),
  })
  .strict();

interface Cells {
  count: CounterCell;
  duration: HistogramCell;
}

const kStarted = Symbol('bulwark.httpStarted');
type Stamped = { [kStarted]?: number };

/** Request metrics on a registry; see the module comment for the three ways to hook a server. */
export function httpMetrics(options: HttpMetricsOptions = {}): HttpMetrics {
  const o = parseOptions(zOptions, options, 'http metrics options');
  // Before anything is registered: a bad template throws and changes nothing.
  const routeOf = nodeRoutes(o.routes);
  const registry =
    o.registry === undefined
      ? new Registry()
      : o.registry instanceof Registry
        ? o.registry
        : o.registry.registry;
  const prefix = o.prefix ?? '';
  const names = HTTP_METRIC_NAMES.map((n) => prefix + n) as [string, string];
  // Made again (a reload, a second server in one process) they replace the old ones.
  for (const name of names) if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
  const count = new CounterFamily(names[0], 'HTTP requests served, by method, route template and status');
  const duration = new HistogramFamily(
    names[1],
    'Time to serve an HTTP request (until the response is sent), by method, route template and status',
    [...new Set(o.durationBuckets ?? DURATION_BUCKETS)].sort((a, b) => a - b),
  );
  count.register(registry);
  duration.register(registry);

  const routes = new LabelLimiter(o.maxRoutes ?? 100);
  const cells = new Map<string, Cells>();

  const observe = (labels: HttpRequestLabels, seconds: number): void => {
    const method = METHODS.has(labels.method) ? labels.method : OVERFLOW_LABEL;
    const route =
      labels.route === undefined || labels.route === '' ? UNMATCHED_ROUTE : routes.value(labels.route);
    const s = labels.status;
    const status =
      s === 'aborted' ? s : Number.isInteger(s) && s >= 100 && s <= 599 ? String(s) : OVERFLOW_LABEL;
    const key = `${method} ${status} ${route}`;
    let c = cells.get(key);
    if (c === undefined) {
      const l = { method, route, status };
      c = { count: count.labels(l), duration: duration.labels(l) };
      cells.set(key, c);
    }
    c.count.inc();
    c.duration.observe(seconds);
  };

  /** Records `res` once it is sent (or abandoned), with the route known by then. */
  const track = (req: IncomingMessage, res: ServerResponse, route: () => string | undefined): void => {
    const t0 = performance.now();
    let done = false;
    const end = (aborted: boolean): void => {
      if (done) return;
      done = true;
      observe(
        { method: req.method ?? '', route: route(), status: aborted ? 'aborted' : res.statusCode },
        (performance.now() - t0) / 1000,
      );
    };
    res.once('finish', () => end(false));
    res.once('close', () => end(!res.writableFinished));
  };

  const node: HttpMetrics['node'] = (handler) => {
    if (typeof handler !== 'function') {
      throw new ValidationError('[bulwark] [http-metrics] node() expects a request listener', {
        path: 'handler',
      });
    }
    return (req, res) => {
      // Matched before the handler runs: a handler may rewrite req.url.
      const route = routeOf(req);
      track(req, res, () => route);
      handler(req, res);
    };
  };

  const express: HttpMetrics['express'] = (req, res, next) => {
    // Express sets `req.route` when a route matches; `req.baseUrl` is the mount path only then (an
    // error passed to next() leaves the router, and baseUrl is reset before the 500 goes out). So
    // the mount path is taken as the route is set.
    let route: ExpressLikeRequest['route'];
    let base = '';
    let watched = true;
    try {
      Object.defineProperty(req, 'route', {
        configurable: true,
        enumerable: true,
        get: () => route,
        set: (value: ExpressLikeRequest['route']) => {
          route = value;
          base = req.baseUrl ?? '';
        },
      });
    } catch {
      // Someone made `route` unconfigurable: read it at the end instead.
      watched = false;
    }
    track(req, res, () => (watched ? expressRoute(route, base) : expressRoute(req.route, req.baseUrl ?? '')));
    next();
  };

  const fastify = Object.assign(
    (instance: FastifyLike, _options: unknown, done: (error?: Error) => void): void => {
      instance.addHook('onRequest', (request, _reply, next) => {
        (request as Stamped)[kStarted] = performance.now();
        next();
      });
      const record = (request: FastifyLikeRequest, status: number | 'aborted'): void => {
        const t0 = (request as Stamped)[kStarted];
        const seconds = t0 === undefined ? 0 : (performance.now() - t0) / 1000;
        observe({ method: request.method, route: request.routeOptions?.url, status }, seconds);
      };
      instance.addHook('onResponse', (request, reply, next) => {
        record(request, reply.statusCode);
        next();
      });
      try {
        instance.addHook('onRequestAbort', (request, _reply, next) => {
          record(request, 'aborted');
          next();
        });
      } catch {
        // Fastify before 4.16 has no such hook: abandoned requests then go uncounted.
      }
      done();
    },
    // Not encapsulated (what fastify-plugin marks): its hooks see the routes of every context.
    { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'bulwark-http-metrics' },
  );

  return {
    registry,
    node,
    express,
    fastify,
    observe(labels, seconds) {
      if (typeof labels !== 'object' || labels === null || !Number.isFinite(seconds) || seconds < 0) {
        throw new ValidationError(
          '[bulwark] [http-metrics] observe expects ({ method, route, status }, seconds ≥ 0)',
          {
            path: 'observe',
          },
        );
      }
      observe(labels, seconds);
    },
    close() {
      for (const name of names) {
        const mine: unknown = name === names[0] ? count : duration;
        if (registry.getSingleMetric(name) === mine) registry.removeSingleMetric(name);
      }
    },
  };
}

/** The route of a node:http request, from templates or the user's function (a throw: unmatched). */
function nodeRoutes(routes: HttpMetricsOptions['routes']): (req: IncomingMessage) => string | undefined {
  if (routes === undefined) return () => undefined;
  if (typeof routes === 'function') {
    return (req) => {
      try {
        const r = routes(req);
        return typeof r === 'string' ? r : undefined;
      } catch {
        return undefined;
      }
    };
  }
  const match = routeMatcher(routes);
  return (req) => match(req.url);
}

/** Express's route template: the mount path of the router(s) plus the matched route's path. */
function expressRoute(route: ExpressLikeRequest['route'], base: string): string | undefined {
  const path = route?.path;
  if (path === undefined || path === null) return undefined;
  const own = typeof path === 'string' ? path : String(path);
  if (base === '') return own;
  return own === '/' ? base : base + own;
}
