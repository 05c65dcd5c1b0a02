/** One access check for every route: bearer (any case), the login page's session, CSRF, no token in URLs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, ValidationError, sqliteStore, type Store } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';

const TOKEN = 'ops-token-0123456789';
let store: Store;
let server: RunningServer;
let readOnly: RunningServer;
let open: RunningServer;
let queue: Queue;

beforeAll(async () => {
  store = sqliteStore({ path: ':memory:' });
  queue = new Queue('mail', { store });
  await queue.add({ to: 'a' }, { id: 'm1' });
  server = await startServer({ port: 0, store, token: TOKEN });
  readOnly = await startServer({ port: 0, store, token: TOKEN, readOnly: true });
  open = await startServer({ port: 0, store });
});
afterAll(async () => {
  await Promise.all([server.close(), readOnly.close(), open.close()]);
  await store.close();
});

const req = (s: RunningServer, path: string, init: RequestInit = {}) =>
  fetch(`${s.url}${path}`, { redirect: 'manual', ...init });

describe('access', () => {
  it('binds 127.0.0.1 by default and refuses weak tokens', async () => {
    expect(server.host).toBe('127.0.0.1');
    await expect(startServer({ port: 0, store, token: 'short' })).rejects.toThrow(ValidationError);
    await expect(startServer({ port: 0, store, token: 'has spaces in the token' })).rejects.toThrow(
      ValidationError,
    );
  });

  it('probes answer without a token; everything else needs it', async () => {
    expect((await req(server, '/livez')).status).toBe(200);
    expect((await req(server, '/readyz')).status).toBe(200);
    for (const path of ['/healthz', '/metrics', '/api/overview', '/api/events']) {
      const r = await req(server, path);
      expect(r.status, path).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="bulwark"');
    }
  });

  it('the bearer scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const r = await req(server, '/api/overview', { headers: { authorization: `${scheme} ${TOKEN}` } });
      expect(r.status, scheme).toBe(200);
    }
    expect(
      (await req(server, '/api/overview', { headers: { authorization: `Bearer ${TOKEN}x` } })).status,
    ).toBe(401);
    expect(
      (await req(server, '/api/overview', { headers: { authorization: `Basic ${TOKEN}` } })).status,
    ).toBe(401);
  });

  it('never accepts the token in the URL, on any route', async () => {
    for (const path of ['/', '/api/overview', '/api/queues/mail/jobs', '/api/events', '/healthz', '/livez']) {
      const r = await req(server, `${path}?token=${TOKEN}`);
      expect(r.status, path).toBe(400);
      expect(((await r.json()) as { code: string }).code).toBe('TOKEN_IN_URL');
    }
    expect((await req(open, '/api/queues/mail/jobs?token=x')).status).toBe(400);
  });

  it('a browser without a session gets the login page, not a raw 401; signing in opens a session', async () => {
    const page = await req(server, '/', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<form method="post" action="login">');
    const origin = server.url;
    const wrong = await req(server, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: 'token=nope',
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That token is not valid.');
    const ok = await req(server, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: `token=${TOKEN}`,
    });
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(
      /^bulwark_session=\d+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
    );
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0]!;
    expect((await req(server, '/api/overview', { headers: { cookie: session } })).status).toBe(200);
    // A forged or expired session is refused.
    expect(
      (await req(server, '/api/overview', { headers: { cookie: 'bulwark_session=99999999999999.abc' } }))
        .status,
    ).toBe(401);
    expect(
      (
        await req(server, '/api/overview', {
          headers: { cookie: `bulwark_session=1.${session.split('.')[1]}` },
        })
      ).status,
    ).toBe(401);
    const out = await req(server, '/logout', { method: 'POST', headers: { cookie: session, origin } });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    // Signed out means signed out: a copy of the cookie kept elsewhere no longer works (finding 20)…
    expect((await req(server, '/api/overview', { headers: { cookie: session } })).status).toBe(401);
    // …while a session opened by another sign-in still does.
    const again = await req(server, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: `token=${TOKEN}`,
    });
    const other = again.headers.get('set-cookie')!.split(';')[0]!;
    expect((await req(server, '/api/overview', { headers: { cookie: other } })).status).toBe(200);
  });

  it('CSRF: a cross-site form post is refused, with or without a token; same-origin and bearer pass', async () => {
    const login = await req(server, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: `token=${TOKEN}`,
    });
    const session = login.headers.get('set-cookie')!.split(';')[0]!;
    const attempts: [RunningServer, Record<string, string>][] = [
      [
        server,
        {
          cookie: session,
          origin: 'https://evil.example',
          'content-type': 'application/x-www-form-urlencoded',
        },
      ],
      [server, { cookie: session, 'sec-fetch-site': 'cross-site' }],
      [server, { cookie: session }],
      [open, { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }],
      [open, { 'sec-fetch-site': 'same-site' }],
    ];
    for (const [s, headers] of attempts) {
      const r = await req(s, '/api/queues/mail/pause', { method: 'POST', headers, body: 'reason=x' });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(((await r.json()) as { code: string }).code).toBe('CSRF');
    }
    expect((await queue.status()).paused).toBe(false);
    // A login form posted from another site is refused too.
    const forged = await req(server, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: `token=${TOKEN}`,
    });
    expect(forged.status).toBe(403);
    const same = await req(server, '/api/queues/mail/pause', {
      method: 'POST',
      headers: { cookie: session, origin: server.url, 'sec-fetch-site': 'same-origin' },
    });
    expect(same.status).toBe(200);
    const bearer = await req(server, '/api/queues/mail/resume', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, origin: 'https://elsewhere.example' },
    });
    expect(bearer.status).toBe(200);
    expect((await queue.status()).paused).toBe(false);
  });

  it('read-only refuses every change, whoever asks', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    const config = (await (await req(readOnly, '/api/config', { headers })).json()) as {
      readOnly: boolean;
      signIn: boolean;
    };
    expect(config).toMatchObject({ readOnly: true, signIn: true });
    for (const path of [
      '/api/queues/mail/pause',
      '/api/queues/mail/jobs/m1/cancel',
      '/api/queues/mail/dlq/purge',
    ]) {
      const r = await req(readOnly, path, { method: 'POST', headers });
      expect(r.status, path).toBe(403);
    }
    expect((await queue.getJob('m1'))!.state).toBe('waiting');
  });

  it('a wrong-token burst is slowed down', async () => {
    const s = await startServer({ port: 0, store, token: TOKEN });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 22; i++) {
        const r = await req(s, '/login', { method: 'POST', headers: { origin: s.url }, body: 'token=wrong' });
        statuses.push(r.status);
        await r.arrayBuffer();
      }
      expect(statuses.slice(0, 20).every((x) => x === 401)).toBe(true);
      expect(statuses.slice(20)).toEqual([429, 429]);
    } finally {
      await s.close();
    }
  });
});
