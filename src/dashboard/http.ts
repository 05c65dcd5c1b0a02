/**
 * HTTP plumbing shared by the dashboard's API and the server above it: reading a request target
 * without trusting it, answering with JSON or text, and reading a small body. Nothing here throws
 * anything but an `HttpError` for bad input, so a caller can always turn a throw into a response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ClosedError,
  NotFoundError,
  StateError,
  StoreError,
  ValidationError,
  coerceError,
  hasCode,
} from '../kernel/errors.js';

/** A refusal with its HTTP status; `code` is a stable word clients can test. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'HTTP',
  ) {
    super(message);
  }
}

/** A request target split into decoded parts: `/api/queues/a%2Fb/jobs?x=1` → segments, query. */
export interface Target {
  /** The raw path, still encoded (for prefix checks). */
  path: string;
  /** The path's segments, each percent-decoded; empty segments dropped. */
  segments: string[];
  query: Map<string, string>;
}

const decode = (text: string, what: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in the ${what}`, 'BAD_ENCODING');
  }
};

/**
 * Parses `req.url` by hand: a URL parser throws on targets like `//[` that node:http accepts, and
 * a throw outside a handler's try is a crashed process. Absolute-form targets (`http://h/p`) are
 * reduced to their path; anything else that does not start with `/` is a 400.
 */
export function parseTarget(raw: string | undefined): Target {
  let target = raw ?? '/';
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (absolute) target = target.slice(absolute[0].length) || '/';
  if (!target.startsWith('/')) throw new HttpError(400, 'the request target must be a path', 'BAD_TARGET');
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decode(s, 'path'));
  const query = new Map<string, string>();
  if (q >= 0) {
    for (const part of target.slice(q + 1).split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const key = decode((eq < 0 ? part : part.slice(0, eq)).replaceAll('+', ' '), 'query');
      const value = eq < 0 ? '' : decode(part.slice(eq + 1).replaceAll('+', ' '), 'query');
      if (!query.has(key)) query.set(key, value);
    }
  }
  return { path, segments, query };
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
} as const;

export function sendJson(res: ServerResponse, status: number, body: unknown, head = false): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body ?? null), head);
}

export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  head = false,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(head ? undefined : body);
}

/** The status a thrown error maps to: bad input 400, unknown 404, wrong state 409, the store failing 503, else 500. */
export function statusOf(e: unknown): number {
  if (e instanceof HttpError) return e.status;
  if (hasCode(e, 'VALIDATION') || e instanceof ValidationError) return 400;
  if (hasCode(e, 'NOT_FOUND') || e instanceof NotFoundError) return 404;
  if (hasCode(e, 'INVALID_STATE') || e instanceof StateError) return 409;
  if (isStoreFailure(e)) return 503;
  return 500;
}

/** The store failed or did not answer (down, closed, timed out): a 503 that names the store's error. */
function isStoreFailure(e: unknown): boolean {
  if (e instanceof StoreError || e instanceof ClosedError || hasCode(e, 'STORE') || hasCode(e, 'CLOSED'))
    return true;
  const code = (e as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE)$/.test(code)
  );
}

/**
 * Answers a request that threw. A 5xx says only that something failed (details stay in the
 * server's log); a 4xx says what was wrong with the request. A response already under way is cut.
 */
export function sendError(res: ServerResponse, e: unknown): void {
  const status = statusOf(e);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const error = coerceError(e);
  const code = e instanceof HttpError ? e.code : ((e as { code?: unknown }).code ?? 'ERROR');
  sendJson(res, status, {
    error:
      status === 503 && !(e instanceof HttpError)
        ? `the store is unavailable: ${error.message}`
        : status >= 500 && !(e instanceof HttpError)
          ? `internal error: ${error.message}`
          : error.message,
    code: typeof code === 'string' ? code : 'ERROR',
  });
}

/** Reads a small body (forms, JSON actions); more than `maxBytes` is a 413. */
export async function readBody(req: IncomingMessage, maxBytes = 64 * 1024): Promise<string> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  // A framework's body parser (express.json(), express.urlencoded()) may have read it already.
  if (parsed !== undefined && req.readableEnded) {
    return typeof parsed === 'string' ? parsed : JSON.stringify(parsed);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > maxBytes) throw new HttpError(413, `the body is over ${maxBytes} bytes`, 'TOO_LARGE');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON object body, or `{}` when empty; anything else is a 400. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).trim();
  if (text === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not valid JSON', 'BAD_JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new HttpError(400, 'the body must be a JSON object', 'BAD_JSON');
  }
  return v as Record<string, unknown>;
}
