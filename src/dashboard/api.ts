/**
 * The dashboard's routes over a store: the page, its assets, the JSON API and the live feed.
 *
 *   GET  /                                   the page (a prebuilt single-page app)
 *   GET  /assets/<file>                      the app's script and styles (gzip when accepted)
 *   GET  /api/config                         { readOnly, version }
 *   GET  /api/overview                       queues with counts and why a queue is not running
 *   GET  /api/health                         the verdict with reasons, breakers, top errors
 *   GET  /api/queues/:queue                  one queue with its throughput and duration series
 *   GET  /api/queues/:queue/jobs             ?state=&name=&search=&deep=&from=&to=&limit=&offset=
 *   GET  /api/queues/:queue/jobs/:id         one job, attempts and all
 *   POST /api/queues/:queue/pause | resume   (pause takes { reason })
 *   POST /api/queues/:queue/jobs/:id/replay | cancel | purge
 *   POST /api/queues/:queue/dlq/replay | purge        ({ ids } for some, all dead jobs without)
 *   GET  /api/events?queue=&job=             Server-Sent Events (see feed.ts)
 *
 * Authentication and CSRF checks belong to the server that mounts these routes (bulwark/server);
 * `readOnly` refuses every POST here as well, whoever asks.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { parseOptions, zText } from '../kernel/validate.js';
import { JOB_STATES, type JobState } from '../store/types.js';
import { ASSETS, ASSET_VERSION } from './assets/bundle.js';
import { DashboardData, type DashboardSources, type Overview } from './data.js';
import { Feed, type FeedOptions } from './feed.js';
import { HttpError, readJsonBody, send, sendJson, type Target } from './http.js';
import { dashboardPage } from './page.js';
import type { Verdict } from './verdict.js';

export interface DashboardOptions extends DashboardSources, FeedOptions {
  /** Refuse every change (pause, replay, cancel, purge) and hide the actions. @default false */
  readOnly?: boolean;
  /** Shown in the page's footer and in /api/config. */
  version?: string;
  /** The server asks for a token: the page offers to sign out. @default false */
  signIn?: boolean;
}

/** The dashboard as routes: `handle` answers the paths it owns and resolves false for the others. */
export interface Dashboard {
  handle(req: IncomingMessage, res: ServerResponse, target: Target): Promise<boolean>;
  /** The overview (from the last read while it is recent; `fresh` waits for a new read). */
  overview(o?: { fresh?: boolean }): Promise<Overview>;
  health(): Promise<Verdict>;
  /** Open live streams. */
  readonly streams: number;
  /** Queue entries held in memory: never more than the store's queues. */
  readonly trackedQueues: number;
  /** Ends every open event stream and stops listening to the workers. */
  close(): void;
}

const zFn = z.custom<() => unknown>((f) => typeof f === 'function', 'expected a function');
const zOptions = z
  .object({
    store: z.custom<DashboardSources['store']>(
      (s) => typeof (s as DashboardSources['store'])?.claim === 'function',
      'expected a bulwark Store',
    ),
    storeLabel: z.string().min(1).max(300).optional(),
    readOnly: z.boolean().optional(),
    version: z.string().max(100).optional(),
    signIn: z.boolean().optional(),
    intervalMs: z.number().int().min(100).max(60_000).optional(),
    storeTimeoutMs: z.number().int().min(50).max(120_000).optional(),
    monitor: z
      .custom<NonNullable<DashboardSources['monitor']>>(
        (m) => typeof (m as { check?: unknown })?.check === 'function',
        'expected a HealthMonitor',
      )
      .optional(),
    breakers: zFn.optional(),
    errors: zFn.optional(),
    workers: z
      .array(
        z.custom<NonNullable<DashboardSources['workers']>[number]>(
          (w) => typeof (w as { on?: unknown })?.on === 'function',
          'expected a Worker',
        ),
      )
      .optional(),
    maxStreams: z.number().int().min(1).max(100_000).optional(),
    heartbeatMs: z.number().int().min(1000).max(600_000).optional(),
    maxBufferedBytes: z.number().int().min(1024).optional(),
  })
  .strict();

const zEpoch = z.coerce.number().int().min(0).max(8.64e15);
const zJobQuery = z
  .object({
    state: z.enum(JOB_STATES as unknown as [JobState, ...JobState[]]).optional(),
    name: zText.min(1).max(200).optional(),
    search: zText.min(1).max(200).optional(),
    from: zEpoch.optional(),
    to: zEpoch.optional(),
    deep: z
      .enum(['0', '1'])
      .transform((v) => v === '1')
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).optional(),
    offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
  })
  .strict();
const zWatch = z
  .object({ queue: zText.min(1).max(200).optional(), job: zText.min(1).max(512).optional() })
  .strict();
/** Ids and texts the API passes to the store are checked as the Queue checks them (no NUL, no lone surrogate). */
const zJobId = zText.min(1).max(512);
const zIds = z.array(zJobId).min(1).max(10_000);
/** Action bodies: unknown keys are refused, as the library refuses them. */
const zPauseBody = z
  .object({ reason: z.string().max(500, 'reason must be at most 500 characters').optional() })
  .strict();
const zIdsBody = z.object({ ids: zIds.optional() }).strict();
const zEmptyBody = z.object({}).strict();
/** The job ids of a bulk action; none means every dead job. */
const ids = async (body: () => Promise<Json>): Promise<string[] | undefined> =>
  parseOptions(zIdsBody, await body(), 'body').ids;
const empty = async (body: () => Promise<Json>): Promise<void> => {
  parseOptions(zEmptyBody, await body(), 'body');
};

type Json = Record<string, unknown>;
type Route = {
  method: 'GET' | 'POST';
  /** Segments after `api`; `:q` and `:id` are parameters. */
  pattern: string[];
  run: (p: {
    q: string;
    id: string;
    query: Map<string, string>;
    body: () => Promise<Json>;
  }) => Promise<unknown>;
};

/** Drops empty query values, so `?state=&search=` means "no filter" (what a plain form sends). */
const present = (query: Map<string, string>): Record<string, string> =>
  Object.fromEntries([...query].filter(([, v]) => v !== ''));

export function createDashboard(options: DashboardOptions): Dashboard {
  const o = parseOptions(zOptions, options, 'dashboard options') as DashboardOptions;
  const data = new DashboardData(o);
  const feed = new Feed(data, o);
  const readOnly = o.readOnly === true;
  const page = dashboardPage({ version: ASSET_VERSION });
  const gz = new Map<string, Buffer>();

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: ['config'],
      run: async () => ({ readOnly, version: o.version ?? null, signIn: o.signIn === true }),
    },
    { method: 'GET', pattern: ['overview'], run: () => data.overview() },
    {
      method: 'GET',
      pattern: ['health'],
      run: async () => {
        const [verdict, errors] = await Promise.all([data.health(), data.topErrors().catch(() => [])]);
        return { verdict, breakers: data.breakers(), errors };
      },
    },
    { method: 'GET', pattern: ['queues', ':q'], run: ({ q }) => data.queueDetail(q) },
    {
      method: 'GET',
      pattern: ['queues', ':q', 'jobs'],
      run: ({ q, query }) => {
        const f = parseOptions(zJobQuery, present(query), 'job query');
        return data.jobs(q, { ...f, limit: f.limit ?? 50, offset: f.offset ?? 0 });
      },
    },
    {
      method: 'GET',
      pattern: ['queues', ':q', 'jobs', ':id'],
      run: ({ q, id }) => data.job(q, parseOptions(zJobId, id, 'job id')),
    },
    {
      method: 'POST',
      pattern: ['queues', ':q', 'pause'],
      run: async ({ q, body }) => {
        const { reason } = parseOptions(zPauseBody, await body(), 'body');
        return data.pause(q, reason || undefined);
      },
    },
    {
      method: 'POST',
      pattern: ['queues', ':q', 'resume'],
      run: async ({ q, body }) => (await empty(body), data.resume(q)),
    },
    {
      method: 'POST',
      pattern: ['queues', ':q', 'jobs', ':id', 'replay'],
      run: async ({ q, id, body }) => (await empty(body), data.replay(q, [id])),
    },
    {
      method: 'POST',
      pattern: ['queues', ':q', 'jobs', ':id', 'cancel'],
      run: async ({ q, id, body }) => (await empty(body), data.cancel(q, [id])),
    },
    {
      method: 'POST',
      pattern: ['queues', ':q', 'jobs', ':id', 'purge'],
      run: async ({ q, id, body }) => (await empty(body), data.purge(q, [id])),
    },
    {
      method: 'POST',
      pattern: ['queues', ':q', 'dlq', 'replay'],
      run: async ({ q, body }) => data.replay(q, await ids(body)),
    },
    {
      method: 'POST',
      pattern: ['queues', ':q', 'dlq', 'purge'],
      run: async ({ q, body }) => data.purge(q, await ids(body)),
    },
  ];

  const match = (pattern: string[], segs: string[]): { q: string; id: string } | null => {
    if (pattern.length !== segs.length) return null;
    const p = { q: '', id: '' };
    for (let i = 0; i < pattern.length; i++) {
      const want = pattern[i]!;
      if (want === ':q') p.q = segs[i]!;
      else if (want === ':id') p.id = segs[i]!;
      else if (want !== segs[i]) return null;
    }
    return p;
  };

  const asset = (req: IncomingMessage, res: ServerResponse, name: string, head: boolean): void => {
    const a = ASSETS[name];
    if (!a) throw new HttpError(404, `no asset ${name}`, 'NOT_FOUND');
    const etag = `"${ASSET_VERSION}-${name}"`;
    const headers: Record<string, string> = {
      etag,
      'cache-control': 'public, max-age=31536000, immutable',
      vary: 'accept-encoding',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      let body = gz.get(name);
      if (!body) gz.set(name, (body = gzipSync(a.body, { level: 9 })));
      return send(res, 200, a.type, body, head, { ...headers, 'content-encoding': 'gzip' });
    }
    send(res, 200, a.type, a.body, head, headers);
  };

  async function handle(req: IncomingMessage, res: ServerResponse, target: Target): Promise<boolean> {
    const segs = target.segments;
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const read = method === 'GET' || head;
    if (segs.length === 0 || (segs.length === 1 && segs[0] === 'index.html')) {
      if (!read) throw new HttpError(405, 'use GET', 'METHOD');
      send(res, 200, 'text/html; charset=utf-8', page, head, {
        'content-security-policy': CSP,
        'x-frame-options': 'DENY',
      });
      return true;
    }
    if (segs[0] === 'assets' && segs.length === 2) {
      if (!read) throw new HttpError(405, 'use GET', 'METHOD');
      asset(req, res, segs[1]!, head);
      return true;
    }
    if (segs[0] !== 'api') return false;
    const rest = segs.slice(1);
    if (rest.length === 1 && rest[0] === 'events') {
      if (method !== 'GET') throw new HttpError(405, 'use GET', 'METHOD');
      const watch = parseOptions(zWatch, present(target.query), 'event query');
      if (watch.queue !== undefined) await data.queue(watch.queue);
      await feed.open(req, res, watch);
      return true;
    }
    for (const r of routes) {
      const p = match(r.pattern, rest);
      if (!p) continue;
      const allowed = r.method === 'GET' ? read : method === 'POST';
      if (!allowed) {
        res.setHeader('allow', r.method === 'GET' ? 'GET, HEAD' : 'POST');
        throw new HttpError(405, `use ${r.method}`, 'METHOD');
      }
      if (r.method === 'POST' && readOnly)
        throw new HttpError(403, 'the dashboard is read-only', 'READ_ONLY');
      if (r.method === 'GET' && target.query.size > 0 && r.pattern.at(-1) !== 'jobs') {
        parseOptions(z.object({}).strict(), present(target.query), 'query');
      }
      const result = await r.run({ ...p, query: target.query, body: () => readJsonBody(req) });
      sendJson(res, 200, result, head);
      return true;
    }
    throw new HttpError(404, `no route for ${method} /${segs.join('/')}`, 'NOT_FOUND');
  }

  return {
    handle,
    overview: (o) => data.overview(o),
    health: () => data.health(),
    get streams() {
      return feed.size;
    },
    get trackedQueues() {
      return data.trackedQueues;
    },
    close() {
      feed.close();
      data.close();
    },
  };
}

export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
