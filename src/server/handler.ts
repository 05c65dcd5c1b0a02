/**
 * One request handler for everything bulwark serves over HTTP: the probes (`/livez`, `/readyz`),
 * `/healthz`, `/metrics`, and with a store the dashboard, its JSON API and its live feed, behind one
 * access check (auth.ts). Mount it in node:http, Express (`app.use(handler)`) or Fastify (hijack the
 * reply, pass `request.raw` and `reply.raw`).
 *
 * Every request ends in a response: the handler never throws and never leaves a promise unhandled;
 * a bad request target or encoding is a 400, an unexpected throw a 500 (logged), a response already
 * under way is cut.
 */
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { coerceError } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';
import { parseOptions } from '../kernel/validate.js';
import type { Store } from '../store/types.js';
import { createDashboard, type Dashboard, type DashboardOptions } from '../dashboard/api.js';
import { ASSET_VERSION } from '../dashboard/assets/bundle.js';
import {
  HttpError,
  parseTarget,
  readBody,
  send,
  sendError,
  statusOf,
  type Target,
} from '../dashboard/http.js';
import type { WatchedWorker } from '../dashboard/live.js';
import { loginPage } from '../dashboard/page.js';
import { Auth, type Identity } from './auth.js';
import { createProbes, zEndpoints, type HealthEndpointsOptions } from './health.js';

type Next = (error?: unknown) => void;

/** A worker as the server sees it: readiness follows `isRunning`, the dashboard its events. */
export type ServedWorker = { readonly isRunning: boolean } & Partial<WatchedWorker>;

export interface ServerOptions extends Omit<HealthEndpointsOptions, 'workers'> {
  /** The store the dashboard reads and acts on. Without one, only the probes, `/healthz` and `/metrics` are served. */
  store?: Store;
  /**
   * Required on every request but `/livez` and `/readyz` when set: `Authorization: Bearer <token>`, or
   * the session the login page opens. At least 16 characters.
   */
  token?: string;
  /** Refuse every change (pause, replay, cancel, purge); the dashboard hides its actions. @default false */
  readOnly?: boolean;
  /** Workers of this process: `/readyz` fails once one stops, and the dashboard shows their jobs live. */
  workers?: readonly ServedWorker[];
  /** Dependency breakers for the dashboard, e.g. `() => registry.stats()`. */
  breakers?: DashboardOptions['breakers'];
  /** Top error patterns for the dashboard, e.g. `() => analytics.top()`. */
  errors?: DashboardOptions['errors'];
  /** How the store is named in the health verdict. @default the store's name */
  storeLabel?: string;
  /** The live feed's tick and the longest the overview is cached, in ms. @default 1000 */
  intervalMs?: number;
  /** Longest a store call of the dashboard, API, feed or `/healthz` may take before it fails (503), in ms. @default 5000 */
  storeTimeoutMs?: number;
  /** Most live streams at once. @default 1000 */
  maxStreams?: number;
  /** Origins besides the server's own allowed to send changes (a proxy that rewrites Host). */
  trustedOrigins?: string[];
  /** Where failed requests (5xx) are logged. */
  logger?: Logger;
}

/** A request handler for node:http, Express or Fastify; paths it does not serve go to `next`, or get a 404. */
export interface BulwarkHandler {
  (req: IncomingMessage, res: ServerResponse, next?: Next): void;
  /** From now on `/readyz` answers 503 (true) or checks again (false). */
  setDraining(draining?: boolean): void;
  readonly draining: boolean;
  /** The dashboard's routes, when a store was given. */
  readonly dashboard: Dashboard | undefined;
  /** Ends the live streams and stops listening to the workers. */
  close(): void;
}

const zServerOptions = zEndpoints
  .extend({
    store: z
      .custom<Store>((s) => typeof (s as Store)?.claim === 'function', 'expected a bulwark Store')
      .optional(),
    token: z
      .string()
      .min(16, 'use a token of at least 16 characters')
      .max(1024)
      .regex(/^[\x21-\x7e]+$/, 'use printable ASCII without spaces')
      .optional(),
    readOnly: z.boolean().optional(),
    workers: z
      .array(
        z.custom<ServedWorker>(
          (w) => typeof w === 'object' && w !== null && 'isRunning' in w,
          'expected a Worker',
        ),
      )
      .optional(),
    breakers: z
      .custom<() => Iterable<{ name: string; state: string }>>((f) => typeof f === 'function')
      .optional(),
    errors: z.custom<NonNullable<DashboardOptions['errors']>>((f) => typeof f === 'function').optional(),
    storeLabel: z.string().min(1).max(300).optional(),
    intervalMs: z.number().int().min(100).max(60_000).optional(),
    storeTimeoutMs: z.number().int().min(50).max(120_000).optional(),
    maxStreams: z.number().int().min(1).max(100_000).optional(),
    trustedOrigins: z
      .array(z.string().regex(/^https?:\/\/[^/]+$/, 'an origin like https://ops.example.com'))
      .optional(),
    logger: z
      .custom<Logger>((l) => typeof (l as Logger)?.error === 'function', 'expected a logger')
      .optional(),
  })
  .strict();

const PAGE_PATHS = new Set(['/', '/index.html']);
const noop = (): void => {};

export function createHandler(options: ServerOptions = {}): BulwarkHandler {
  const o = parseOptions(zServerOptions, options, 'server options') as ServerOptions;
  const base = o.basePath ?? '';
  const auth = new Auth(o.token, o.trustedOrigins);
  const dashboard = o.store
    ? createDashboard({
        store: o.store,
        storeLabel: o.storeLabel,
        readOnly: o.readOnly,
        signIn: o.token !== undefined,
        version: o.version,
        intervalMs: o.intervalMs,
        storeTimeoutMs: o.storeTimeoutMs,
        monitor: o.monitor,
        breakers: o.breakers,
        errors: o.errors,
        workers: o.workers?.filter((w): w is ServedWorker & WatchedWorker => typeof w.on === 'function'),
        maxStreams: o.maxStreams,
      })
    : undefined;
  const probes = createProbes(o, dashboard ? () => dashboard.health() : undefined);

  const secure = (req: IncomingMessage): boolean =>
    (req.socket as TLSSocket).encrypted === true || req.headers['x-forwarded-proto'] === 'https';

  async function login(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (!auth.enabled) return redirect(res, './');
    if (method === 'GET' || method === 'HEAD') {
      return send(
        res,
        200,
        'text/html; charset=utf-8',
        loginPage({ version: ASSET_VERSION }),
        method === 'HEAD',
      );
    }
    if (method !== 'POST') throw new HttpError(405, 'use GET or POST', 'METHOD');
    auth.checkOrigin(req, 'open');
    const text = await readBody(req, 8192);
    let token = '';
    if (String(req.headers['content-type']).startsWith('application/json')) {
      try {
        token = String((JSON.parse(text) as { token?: unknown }).token ?? '');
      } catch {
        throw new HttpError(400, 'the body is not valid JSON', 'BAD_JSON');
      }
    } else token = new URLSearchParams(text).get('token') ?? '';
    if (!auth.login(token)) {
      return send(
        res,
        401,
        'text/html; charset=utf-8',
        loginPage({ version: ASSET_VERSION, error: 'That token is not valid.' }),
      );
    }
    res.setHeader('set-cookie', auth.sessionCookie(secure(req)));
    redirect(res, './');
  }

  function refuse(req: IncomingMessage, res: ServerResponse, path: string, method: string): void {
    const html = PAGE_PATHS.has(path) && (method === 'GET' || method === 'HEAD') && dashboard !== undefined;
    if (html) {
      return send(
        res,
        401,
        'text/html; charset=utf-8',
        loginPage({ version: ASSET_VERSION }),
        method === 'HEAD',
        {
          'www-authenticate': 'Bearer realm="bulwark"',
        },
      );
    }
    res.setHeader('www-authenticate', 'Bearer realm="bulwark"');
    throw new HttpError(401, 'a valid token is required (Authorization: Bearer <token>)', 'UNAUTHORIZED');
  }

  async function route(req: IncomingMessage, res: ServerResponse, next: Next | undefined): Promise<void> {
    const method = req.method ?? 'GET';
    let target: Target = parseTarget(req.url);
    // The page at a mount path without its trailing slash (`/ops`): its relative asset and API URLs
    // would resolve against `/`, so send the browser to `/ops/` (Express strips the mount path: its
    // `originalUrl` tells).
    const mounted = (req as { originalUrl?: unknown }).originalUrl;
    const shown =
      base !== '' && target.path === base
        ? base
        : base === '' && target.path === '/' && typeof mounted === 'string'
          ? mounted.split(/[?#]/)[0]!
          : '/';
    if (dashboard && shown !== '/' && !shown.endsWith('/') && (method === 'GET' || method === 'HEAD')) {
      const q = String(req.url).indexOf('?');
      return redirect(
        res,
        `${shown.slice(shown.lastIndexOf('/') + 1)}/${q < 0 ? '' : String(req.url).slice(q)}`,
        308,
      );
    }
    if (base !== '') {
      if (target.path !== base && !target.path.startsWith(`${base}/`)) return pass(res, next, method);
      target = {
        ...target,
        path: target.path.slice(base.length) || '/',
        segments: target.segments.slice(base.split('/').length - 1),
      };
    }
    if (target.query.has('token')) {
      throw new HttpError(
        400,
        'the token is never accepted in the URL: send Authorization: Bearer <token>, or sign in',
        'TOKEN_IN_URL',
      );
    }
    const path = target.path;
    if (probes.isPublic(path)) {
      await probes.handle(res, path, method);
      return;
    }
    if (path === '/login') return login(req, res, method);
    if (path === '/logout') {
      if (method !== 'POST') throw new HttpError(405, 'use POST', 'METHOD');
      auth.checkOrigin(req, 'open');
      auth.revoke(req);
      res.setHeader('set-cookie', auth.clearCookie(secure(req)));
      return redirect(res, 'login');
    }
    const isAsset = target.segments[0] === 'assets' && dashboard !== undefined;
    let who: Identity | null = 'open';
    if (!isAsset) {
      who = auth.identify(req);
      if (who === null) return refuse(req, res, path, method);
    }
    if (method !== 'GET' && method !== 'HEAD') auth.checkOrigin(req, who);
    if (await probes.handle(res, path, method)) return;
    if (dashboard && (await dashboard.handle(req, res, target))) return;
    pass(res, next, method);
  }

  const pass = (res: ServerResponse, next: Next | undefined, method: string): void => {
    if (next) return next();
    send(
      res,
      404,
      'application/json; charset=utf-8',
      JSON.stringify({ error: 'not found', code: 'NOT_FOUND' }),
      method === 'HEAD',
    );
  };

  const handler = ((req: IncomingMessage, res: ServerResponse, next?: Next): void => {
    // A client that hangs up mid-request must not become an unhandled 'error' event.
    req.on('error', noop);
    res.on('error', noop);
    let done: Promise<void>;
    try {
      done = route(req, res, next);
    } catch (e) {
      done = Promise.reject(e);
    }
    done.catch((e: unknown) => {
      try {
        if (statusOf(e) >= 500) {
          o.logger?.error(
            { err: coerceError(e), method: req.method, url: String(req.url).slice(0, 300) },
            'request failed',
          );
        }
        sendError(res, e);
      } catch {
        res.destroy();
      }
    });
  }) as BulwarkHandler;
  handler.setDraining = (d = true) => probes.setDraining(d);
  Object.defineProperty(handler, 'draining', { get: () => probes.draining, enumerable: true });
  Object.defineProperty(handler, 'dashboard', { value: dashboard, enumerable: true });
  handler.close = () => dashboard?.close();
  return handler;
}

function redirect(res: ServerResponse, location: string, status = 303): void {
  if (res.headersSent) return;
  res.writeHead(status, { location, 'cache-control': 'no-store', 'content-length': '0' });
  res.end();
}
