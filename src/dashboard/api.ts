/**
 * The dashboard's JSON API and live feed, as one request handler over a store:
 *
 *   GET  /api/overview                       queues with counts and status, plus health/breakers/errors
 *   GET  /api/queues/:queue/jobs?state=&search=&limit=&offset=
 *   GET  /api/queues/:queue/jobs/:id
 *   POST /api/queues/:queue/pause | resume
 *   POST /api/queues/:queue/jobs/:id/replay | cancel
 *   POST /api/queues/:queue/dlq/replay | purge
 *   GET  /api/events                         Server-Sent Events: an overview every `intervalMs`
 *
 * Access: with a `token`, every request must carry it (`Authorization: Bearer …`, or `?token=` for
 * the page and the event stream, which browsers cannot give headers). `readOnly` refuses every POST.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import {
  NotFoundError,
  StateError,
  ValidationError,
  coerceError,
  type BulwarkError,
} from '../kernel/errors.js';
import { Queue } from '../core/queue.js';
import { parseOptions } from '../kernel/validate.js';
import { JOB_STATES, type JobState, type StateCounts, type Store } from '../store/types.js';
import { dashboardPage } from './page.js';

export interface DashboardOptions {
  store: Store;
  /** Required on every request when set. */
  token?: string;
  /** Refuse every change (pause, replay, cancel, purge). @default false */
  readOnly?: boolean;
  /** How often the live feed sends an overview, in ms. @default 1000 */
  intervalMs?: number;
  /** The system health report (e.g. `() => monitor.check()`), shown when given. */
  health?: () => unknown;
  /** Breaker states per dependency, shown when given. */
  breakers?: () => unknown;
  /** Top error patterns (e.g. `() => analytics.top()`), shown when given. */
  errors?: () => unknown;
}

export interface QueueOverview {
  name: string;
  counts: StateCounts;
  paused: boolean;
  pauseReason: string | null;
  throttledUntil: number;
}

export interface Overview {
  at: number;
  queues: QueueOverview[];
  health?: unknown;
  breakers?: unknown;
  errors?: unknown;
}

const zDashboardOptions = z
  .object({
    store: z.custom<Store>((s) => typeof (s as Store)?.claim === 'function', 'expected a bulwark Store'),
    token: z.string().min(8, 'use a token of at least 8 characters').optional(),
    readOnly: z.boolean().optional(),
    intervalMs: z.number().int().min(100).max(60_000).optional(),
    health: z.function().optional(),
    breakers: z.function().optional(),
    errors: z.function().optional(),
  })
  .strict();

const zListQuery = z
  .object({
    state: z.enum(JOB_STATES as unknown as [JobState, ...JobState[]]).optional(),
    search: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    offset: z.coerce.number().int().min(0).optional(),
  })
  .strict();

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The dashboard as a request handler: resolves true when it answered, false for paths it does not own. */
export interface Dashboard {
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  overview(): Promise<Overview>;
  /** Ends every open event stream. */
  close(): void;
}

export function createDashboard(options: DashboardOptions): Dashboard {
  const o = parseOptions(zDashboardOptions, options, 'dashboard options') as DashboardOptions;
  const queues = new Map<string, Queue<unknown>>();
  const streams = new Set<ServerResponse>();
  const queue = (name: string): Queue<unknown> => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { store: o.store });
      queues.set(name, q);
    }
    return q;
  };

  async function overview(): Promise<Overview> {
    const names = await o.store.queues();
    const list = await Promise.all(
      names.map(async (name): Promise<QueueOverview> => {
        const q = queue(name);
        const [counts, status] = await Promise.all([q.counts(), q.status()]);
        return {
          name,
          counts,
          paused: status.paused,
          pauseReason: status.pauseReason,
          throttledUntil: status.throttledUntil,
        };
      }),
    );
    const out: Overview = { at: Date.now(), queues: list };
    if (o.health) out.health = await o.health();
    if (o.breakers) out.breakers = await o.breakers();
    if (o.errors) out.errors = await o.errors();
    return out;
  }

  function authorized(req: IncomingMessage, url: URL): boolean {
    if (o.token === undefined) return true;
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token');
    if (!given) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(o.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** A 404 for a queue the store has never seen (asked only when the answer would otherwise be empty). */
  const assertKnown = async (name: string): Promise<void> => {
    if (!(await o.store.queues()).includes(name)) throw new HttpError(404, `no queue '${name}'`);
  };
  const knownQueue = async (name: string): Promise<Queue<unknown>> => {
    await assertKnown(name);
    return queue(name);
  };

  const routes: [string, RegExp, (m: string[], url: URL) => Promise<unknown>][] = [
    ['GET', /^\/api\/overview$/, () => overview()],
    [
      'GET',
      /^\/api\/queues\/([^/]+)\/jobs$/,
      async ([name], url) => {
        const q = parseOptions(zListQuery, Object.fromEntries(url.searchParams), 'job list query');
        const jobs = await queue(name!).list({
          states: q.state ? [q.state] : undefined,
          search: q.search || undefined,
          limit: q.limit ?? 50,
          offset: q.offset ?? 0,
        });
        if (jobs.length === 0) await assertKnown(name!);
        return jobs;
      },
    ],
    ['GET', /^\/api\/queues\/([^/]+)\/jobs\/([^/]+)$/, async ([name, id]) => queue(name!).inspect(id!)],
    [
      'POST',
      /^\/api\/queues\/([^/]+)\/pause$/,
      async ([name]) => (await knownQueue(name!)).pause('dashboard'),
    ],
    ['POST', /^\/api\/queues\/([^/]+)\/resume$/, async ([name]) => (await knownQueue(name!)).resume()],
    [
      'POST',
      /^\/api\/queues\/([^/]+)\/jobs\/([^/]+)\/replay$/,
      async ([name, id]) => ({ replayed: await (await knownQueue(name!)).dlq.replay(id!) }),
    ],
    [
      'POST',
      /^\/api\/queues\/([^/]+)\/jobs\/([^/]+)\/cancel$/,
      async ([name, id]) => ({
        cancelled: await (await knownQueue(name!)).cancel(id!, 'cancelled from the dashboard'),
      }),
    ],
    [
      'POST',
      /^\/api\/queues\/([^/]+)\/dlq\/replay$/,
      async ([name]) => ({ replayed: await (await knownQueue(name!)).dlq.replay() }),
    ],
    [
      'POST',
      /^\/api\/queues\/([^/]+)\/dlq\/purge$/,
      async ([name]) => ({ purged: await (await knownQueue(name!)).dlq.purge() }),
    ],
  ];

  // One feed for every open stream: each tick computes the overview once and writes it to all.
  let feed: NodeJS.Timeout | undefined;
  let sending = false;
  const broadcast = async (to: Iterable<ServerResponse>): Promise<void> => {
    let frame: string;
    try {
      frame = `event: overview\ndata: ${JSON.stringify(await overview())}\n\n`;
    } catch (e) {
      frame = `event: error\ndata: ${JSON.stringify({ error: coerceError(e).message })}\n\n`;
    }
    for (const res of to) if (!res.writableEnded) res.write(frame);
  };
  const tick = async (): Promise<void> => {
    if (sending) return;
    sending = true;
    try {
      await broadcast(streams);
    } finally {
      sending = false;
    }
  };

  const events: Handler = async (req, res) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    streams.add(res);
    feed ??= setInterval(() => void tick(), o.intervalMs ?? 1000);
    const stop = (): void => {
      streams.delete(res);
      if (streams.size === 0) {
        clearInterval(feed);
        feed = undefined;
      }
    };
    req.once('close', stop);
    res.once('close', stop);
    await broadcast([res]);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path !== '/' && path !== '/dashboard' && !path.startsWith('/api/')) return false;
    try {
      if (!authorized(req, url)) throw new HttpError(401, 'a valid token is required');
      if (path === '/' || path === '/dashboard') {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy':
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        });
        res.end(dashboardPage({ readOnly: o.readOnly === true }));
        return true;
      }
      if (path === '/api/events' && req.method === 'GET') {
        await events(req, res);
        return true;
      }
      for (const [method, pattern, run] of routes) {
        const m = pattern.exec(path);
        if (!m) continue;
        if (req.method !== method) throw new HttpError(405, `use ${method}`);
        if (method === 'POST' && o.readOnly) throw new HttpError(403, 'the dashboard is read-only');
        const params = m.slice(1).map((p) => decodeURIComponent(p));
        const body = await run(params, url);
        json(res, 200, body ?? { ok: true });
        return true;
      }
      throw new HttpError(404, `no route for ${req.method} ${path}`);
    } catch (e) {
      const status =
        e instanceof HttpError
          ? e.status
          : e instanceof NotFoundError
            ? 404
            : e instanceof ValidationError
              ? 400
              : e instanceof StateError
                ? 409
                : 500;
      json(res, status, { error: coerceError(e).message, code: (e as BulwarkError).code });
      return true;
    }
  }

  return {
    handle,
    overview,
    close() {
      clearInterval(feed);
      feed = undefined;
      for (const s of streams) s.end();
      streams.clear();
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
