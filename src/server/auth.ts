/**
 * One access check for every route of the server.
 *
 * - With a `token`, a request is let in when it carries `Authorization: Bearer <token>` (the scheme
 *   in any case) or the session cookie the login page sets. The token is never accepted in the URL:
 *   a query string ends up in logs, proxies and browser history.
 * - The session cookie is `HttpOnly; SameSite=Strict`, holds an expiry and an HMAC keyed by the token
 *   (never the token itself), and dies when the token changes, or when it signs out: the server keeps
 *   the sessions signed out until they expire (per process; past 10 000 of them, every session ends).
 * - CSRF: a change (any method but GET and HEAD) needs the bearer header, which a cross-site form
 *   cannot send, or a same-origin request: `Sec-Fetch-Site` and `Origin` must say so. A form posted
 *   from another site is refused, with or without a token.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../dashboard/http.js';

export const SESSION_COOKIE = 'bulwark_session';
const SESSION_MS = 12 * 3_600_000;
const MAX_REVOKED = 10_000;

export type Identity = 'bearer' | 'session' | 'open';

const equal = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

const hostOf = (origin: string): string | null => {
  const m = /^https?:\/\/([^/]+)$/i.exec(origin);
  return m ? m[1]!.toLowerCase() : null;
};

export class Auth {
  private failures = { at: 0, n: 0 };
  /** Sessions signed out before their expiry: cookie value → expiry. */
  private readonly revoked = new Map<string, number>();
  /** Part of every session's signature: changing it ends every session at once. */
  private epoch = randomBytes(16).toString('base64url');
  private lastExp = 0;

  constructor(
    private readonly token: string | undefined,
    private readonly trustedOrigins: readonly string[] = [],
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.token !== undefined;
  }

  /** Who the request is, or null when a token is needed and none valid was given. */
  identify(req: IncomingMessage): Identity | null {
    if (this.token === undefined) return 'open';
    const header = req.headers.authorization;
    if (typeof header === 'string') {
      const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
      if (m && equal(m[1]!, this.token)) return 'bearer';
    }
    const session = cookies(req).get(SESSION_COOKIE);
    if (session !== undefined && this.validSession(session)) return 'session';
    return null;
  }

  /** Throws a 403 unless a change request is same-origin (or carries the bearer header). */
  checkOrigin(req: IncomingMessage, who: Identity): void {
    if (who === 'bearer') return;
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new HttpError(403, `cross-site request refused (Sec-Fetch-Site: ${String(site)})`, 'CSRF');
    }
    // The browser sets Sec-Fetch-Site itself (no page can forge it): same-origin settles it.
    if (site === 'same-origin') return;
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const host = String(req.headers.host ?? '').toLowerCase();
      if (this.trustedOrigins.includes(origin)) return;
      if (hostOf(origin) !== host)
        throw new HttpError(403, `cross-origin request refused (Origin: ${origin})`, 'CSRF');
      return;
    }
    // A browser always says where a POST comes from; a cookie without either header is not trusted.
    if (who === 'session' && site === undefined) {
      throw new HttpError(403, 'a change needs an Origin header or the bearer token', 'CSRF');
    }
  }

  /** Checks a token typed into the login page; a burst of wrong ones is slowed down with 429s. */
  login(token: string): boolean {
    const now = this.now();
    if (now - this.failures.at > 60_000) this.failures = { at: now, n: 0 };
    if (this.failures.n >= 20)
      throw new HttpError(429, 'too many failed sign-ins: wait a minute', 'RATE_LIMITED');
    if (this.token !== undefined && equal(token, this.token)) return true;
    this.failures.n++;
    return false;
  }

  sessionCookie(secure: boolean): string {
    // Every session its own expiry (to the ms): signing one out never signs out another.
    const exp = (this.lastExp = Math.max(this.now() + SESSION_MS, this.lastExp + 1));
    return `${SESSION_COOKIE}=${exp}.${this.sign(exp)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}${secure ? '; Secure' : ''}`;
  }

  /** Signs out the request's session: its cookie is refused from now on, even if a copy was kept. */
  revoke(req: IncomingMessage): void {
    const value = cookies(req).get(SESSION_COOKIE);
    if (value === undefined || !this.validSession(value)) return;
    const now = this.now();
    for (const [v, exp] of this.revoked) if (exp < now) this.revoked.delete(v);
    if (this.revoked.size >= MAX_REVOKED) {
      // Too many to remember: end every session instead.
      this.revoked.clear();
      this.epoch = randomBytes(16).toString('base64url');
      return;
    }
    this.revoked.set(value, Number(value.slice(0, value.indexOf('.'))));
  }

  clearCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
  }

  private sign(exp: number): string {
    return createHmac('sha256', this.token ?? '')
      .update(`bulwark-session:${this.epoch}:${exp}`)
      .digest('base64url');
  }

  private validSession(value: string): boolean {
    const dot = value.indexOf('.');
    const exp = Number(value.slice(0, dot));
    if (dot < 0 || !Number.isSafeInteger(exp) || exp < this.now()) return false;
    if (this.revoked.has(value)) return false;
    return equal(value.slice(dot + 1), this.sign(exp));
  }
}
