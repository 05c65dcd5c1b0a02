/** The CLI as real processes against SQLite, Postgres and Redis: every command, exit codes, `--json`. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, ValidationError, Worker, type Store } from '../../src/index.js';
import { storeCases } from '../dashboard/stores.js';
import { waitFor } from '../helpers/wait.js';
import { buildCli, killAll, run, serve } from './cli.js';

const cases = await storeCases('cli');
const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-'));
beforeAll(() => buildCli(), 60_000);
afterAll(async () => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw request line a URL parser rejects: the process must answer it and live on. */
const rawStatus = (port: number, line: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => {
      out += d.toString();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(out);
      if (m) {
        s.destroy();
        resolve(Number(m[1]));
      }
    });
    s.on('error', reject);
    s.write(`${line}\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });

describe('CLI basics', () => {
  it('--version, --help, and usage errors exit 2 without a doubled prefix', async () => {
    const v = await run(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    const h = await run(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Exit codes: 0 done, 1 failed/);
    expect((await run(['jobs', 'list'])).code).toBe(2);
    expect((await run(['nope'])).code).toBe(2);
    const bad = await run(['health', '--store', './bulwark.db']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /^bulwark: bad store URL: "\.\/bulwark\.db" has no scheme; for a SQLite file write sqlite:\.\/bulwark\.db/,
    );
    expect(bad.stderr).not.toMatch(/\[bulwark\]/);
    expect((await run(['health', '--store', 'mysql://x'])).code).toBe(2);
  });

  it('a SQLite file that does not exist is an error (exit 3) and is not created, except by migrate and enqueue', async () => {
    const file = join(dir, 'typo.db');
    for (const args of [
      ['health'],
      ['jobs', 'list', 'mail'],
      ['dashboard', '--port', '0'],
      ['dlq', 'list', 'mail'],
    ]) {
      const r = await run([...args, '--store', `sqlite:${file}`]);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(/^bulwark: sqlite \S+typo\.db: no such database file \(check --store/);
    }
    expect(existsSync(file)).toBe(false);
    expect((await run(['migrate', '--store', `sqlite:${file}`])).code).toBe(0);
    expect(existsSync(file)).toBe(true);
    const env = { BULWARK_STORE: `sqlite:${join(dir, 'env.db')}` };
    expect((await run(['enqueue', 'mail', '{"a":1}'], env)).code).toBe(0);
    expect((await run(['health'], env)).code).toBe(0);
  });

  it('an unreachable server fails fast with exit 3 and names host:port', async () => {
    const t0 = Date.now();
    const pg = await run(['health', '--store', 'postgres://postgres@127.0.0.1:1/x']);
    expect(pg.code).toBe(3);
    expect(pg.stderr).toBe('bulwark: postgres 127.0.0.1:1: cannot connect: ECONNREFUSED\n');
    const redis = await run(['jobs', 'list', 'q', '--store', 'redis://127.0.0.1:1']);
    expect(redis.code).toBe(3);
    expect(redis.stderr).toBe('bulwark: redis 127.0.0.1:1: cannot connect: ECONNREFUSED\n');
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('an in-memory SQLite store is refused (exit 2): its data would be gone when the command exits', async () => {
    for (const url of [
      'sqlite::memory:',
      'sqlite:file::memory:',
      'sqlite:file:jobs?mode=memory&cache=shared',
    ]) {
      for (const args of [['enqueue', 'q', '{}'], ['health'], ['migrate']]) {
        const r = await run([...args, '--store', url]);
        expect(r.code, `${args.join(' ')} ${url}`).toBe(2);
        expect(r.stderr).toMatch(
          /^bulwark: bad store URL: .* is in memory, and its data would be gone when this command exits/,
        );
        expect(r.stdout).toBe('');
      }
    }
    const env = await run(['health'], { BULWARK_STORE: 'sqlite::memory:' });
    expect(env.code).toBe(2);
  });

  it('every store that cannot be opened exits 3 naming it, in one format', async () => {
    const garbage = join(dir, 'garbage.db');
    writeFileSync(
      garbage,
      'this is not a database, just text that is long enough to have a header\n'.repeat(20),
    );
    const cases: [string[], RegExp][] = [
      [['health', '--store', `sqlite:${dir}`], /^bulwark: sqlite \S+: cannot open: it is a directory/],
      [['migrate', '--store', `sqlite:${dir}`], /^bulwark: sqlite \S+: cannot open: it is a directory/],
      [
        ['migrate', '--store', `sqlite:${join(dir, 'no-such-dir', 'x.db')}`],
        /^bulwark: sqlite \S+x\.db: cannot create: no directory \S+no-such-dir\n$/,
      ],
      [
        ['enqueue', 'q', '{}', '--store', `sqlite:${join(dir, 'no-such-dir', 'x.db')}`],
        /^bulwark: sqlite \S+x\.db: cannot create: no directory/,
      ],
      [
        ['health', '--store', `sqlite:${garbage}`],
        /^bulwark: sqlite \S+garbage\.db: cannot open: file is not a database\n$/,
      ],
      [
        ['migrate', '--store', `sqlite:${garbage}`],
        /^bulwark: sqlite \S+garbage\.db: cannot open: file is not a database\n$/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).toContain(args.at(-1)!.replace(/^sqlite:/, ''));
    }
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
  });

  it('with --json every error is one JSON object on stderr: { error: { code, message } }', async () => {
    const parse = (text: string): unknown => JSON.parse(text) as unknown;
    const store = await run(['health', '--json', '--store', 'redis://127.0.0.1:1']);
    expect(store.code).toBe(3);
    expect(parse(store.stderr)).toEqual({
      error: { code: 'STORE', message: 'redis 127.0.0.1:1: cannot connect: ECONNREFUSED' },
    });
    const memory = await run(['enqueue', 'q', '{}', '--json', '--store', 'sqlite::memory:']);
    expect(memory.code).toBe(2);
    expect(parse(memory.stderr)).toMatchObject({ error: { code: 'USAGE' } });
    const unknown = await run(['nope', '--json']);
    expect(unknown.code).toBe(2);
    expect(parse(unknown.stderr)).toEqual({ error: { code: 'USAGE', message: "unknown command 'nope'" } });
    const option = await run(['health', '--json', '--nope']);
    expect(option.code).toBe(2);
    expect(parse(option.stderr)).toEqual({ error: { code: 'USAGE', message: "unknown option '--nope'" } });
    const missing = await run(['health', '--json', '--store', `sqlite:${join(dir, 'missing.db')}`]);
    expect(missing.code).toBe(3);
    expect(parse(missing.stderr)).toMatchObject({
      error: {
        code: 'STORE',
        message: expect.stringMatching(/^sqlite \S+missing\.db: no such database file/),
      },
    });
  });
});

describe.each(cases)('CLI on $name', (c) => {
  let store: Store;
  const cli = (...args: string[]) => run([...args, '--store', c.url]);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await cli(...args, '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    if (!c.available) return;
    const r = await cli('migrate');
    expect(r.code, r.stderr).toBe(0);
    store = c.create();
  }, 60_000);
  afterAll(async () => {
    if (!c.available) return;
    await store?.close();
    await c.cleanup();
  });

  it.skipIf(!c.available)(
    'enqueue: JSON payloads, options, stdin; bad JSON and bad options exit 2 and write nothing',
    async () => {
      expect(
        (await cli('enqueue', 'mail', '{"to":"a@b.c"}', '--id', 'm1', '--priority', '5', '--name', 'welcome'))
          .stdout,
      ).toBe('added m1 to mail (waiting)\n');
      expect(
        (await run(['enqueue', 'mail', '-', '--id', 'm2', '--store', c.url], {}, '{"to":"b@c.d"}')).code,
      ).toBe(0);
      const delayed = await json<{ state: string; priority: number }>(
        'enqueue',
        'mail',
        '{}',
        '--id',
        'm3',
        '--delay-ms',
        '3600000',
      );
      expect(delayed.state).toBe('delayed');
      const badJson = await cli('enqueue', 'mail', '{"to":', '--id', 'm9');
      expect(badJson.code).toBe(2);
      expect(badJson.stderr).toMatch(/^bulwark: payload is not valid JSON: /);
      const badOption = await cli('enqueue', 'mail', '{}', '--priority', 'high');
      expect(badOption.code).toBe(2);
      expect(badOption.stderr).toMatch(/--priority must be an integer/);
      const badId = await cli('enqueue', 'mail', '{}', '--id', 'x'.repeat(600));
      expect(badId.code).toBe(2);
      expect(badId.stderr).toMatch(/^bulwark: invalid job options\.id/);
      expect(await new Queue('mail', { store }).counts()).toMatchObject({ waiting: 2, delayed: 1 });
    },
  );

  it.skipIf(!c.available)(
    'jobs list, search and inspect (with attempts and stacks); unknown queue or job exit 4',
    async () => {
      const q = new Queue<{ n: number; tag?: string }>('work', { store });
      await q.add({ n: 1 }, { id: 'w1', maxAttempts: 2, backoff: { delayMs: 0 } });
      await q.add({ n: 2, tag: 'needle' }, { id: 'w2' });
      const w = new Worker(
        q,
        (ctx) => {
          if (ctx.payload.n === 1)
            throw Object.assign(new Error('connection reset by the mail server'), { code: 'ECONNRESET' });
          return { ok: true };
        },
        { pollIntervalMs: 20 },
      );
      await waitFor(
        async () => (await q.counts()).dead === 1 && (await q.counts()).completed === 1,
        'jobs to settle',
      );
      await w.close();
      const list = await json<{ counts: { dead: number }; jobs: { id: string }[] }>('jobs', 'list', 'work');
      expect(list.counts.dead).toBe(1);
      expect(list.jobs.map((j) => j.id).sort()).toEqual(['w1', 'w2']);
      const text = await cli('jobs', 'list', 'work', '--state', 'dead');
      expect(text.stdout).toMatch(/^work: waiting 0 .* dead 1/);
      expect(text.stdout).toMatch(
        /w1 +dead +2\/2 +(now|\S+ ago) +transient: connection reset by the mail server/,
      );
      // A job waiting for its dependencies is counted as blocked (and so the states add up).
      await q.add({ n: 4 }, { id: 'w4', delayMs: 3_600_000 });
      await q.add({ n: 3 }, { id: 'w3', dependsOn: ['w4'] });
      expect((await cli('jobs', 'list', 'work')).stdout).toMatch(/^work: waiting 0 +delayed 1 +blocked 1 /);
      const found = await json<{ id: string }[]>('jobs', 'search', 'work', 'needle');
      expect(found.map((j) => j.id)).toEqual(['w2']);
      const one = await cli('jobs', 'inspect', 'work', 'w1');
      expect(one.code).toBe(0);
      expect(one.stdout).toMatch(/^job +w1\nqueue +work\nstate +dead — /);
      expect(one.stdout).toMatch(/created +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \((?:now|\d+s ago)\)/);
      expect(one.stdout).toMatch(/attempts that failed \(2\)\n {2}#1 +transient → retry/);
      expect(one.stdout).toMatch(/Error: connection reset by the mail server\n\s+at /);
      const detail = await json<{ errors: { stack?: string }[] }>('jobs', 'inspect', 'work', 'w1');
      expect(detail.errors[0]!.stack).toMatch(/^Error: connection reset/);
      expect((await cli('jobs', 'inspect', 'work', 'nope')).code).toBe(4);
      expect((await cli('jobs', 'list', 'nope')).code).toBe(4);
    },
  );

  it.skipIf(!c.available)('dlq list, replay and purge (ids or --all), pause, resume, cancel', async () => {
    const q = new Queue('dl', { store });
    await q.addBulk([1, 2, 3].map((n) => ({ payload: { n }, options: { id: `d${n}`, maxAttempts: 1 } })));
    const w = new Worker(q, () => Promise.reject(new ValidationError('bad payload')), { pollIntervalMs: 20 });
    await waitFor(async () => (await q.counts()).dead === 3, 'dead jobs');
    await w.close();
    expect((await json<{ id: string }[]>('dlq', 'list', 'dl')).length).toBe(3);
    expect((await cli('dlq', 'replay', 'dl')).code).toBe(2);
    expect((await json<{ replayed: string[] }>('dlq', 'replay', 'dl', 'd1')).replayed).toEqual(['d1']);
    expect((await cli('dlq', 'purge', 'dl', 'd2')).stdout).toBe('purged 1\n');
    expect((await json<{ replayed: string[] }>('dlq', 'replay', 'dl', '--all')).replayed).toEqual(['d3']);
    expect((await cli('pause', 'dl', '--reason', 'vendor outage')).code).toBe(0);
    expect(await q.status()).toMatchObject({ paused: true, pauseReason: 'cli: vendor outage' });
    const health = await cli('health');
    expect(health.stdout).toMatch(/DEGRADED +dl: paused by an operator, from the CLI: vendor outage/);
    expect((await cli('resume', 'dl')).code).toBe(0);
    expect((await q.status()).paused).toBe(false);
    expect((await cli('cancel', 'dl', 'd1', 'd3')).stdout).toBe('cancelled 2 of 2: d1 d3\n');
    const again = await cli('cancel', 'dl', 'd1');
    expect(again).toMatchObject({
      code: 4,
      stderr: 'bulwark: no waiting, delayed or active job to cancel in dl: d1\n',
    });
  });

  it.skipIf(!c.available)(
    'dlq replay and purge of ids that are not dead jobs exit 4 and name them, like cancel',
    async () => {
      const q = new Queue('dl2', { store });
      await q.add({}, { id: 'x1', maxAttempts: 1 });
      const w = new Worker(q, () => Promise.reject(new ValidationError('bad payload')), {
        pollIntervalMs: 20,
      });
      await waitFor(async () => (await q.counts()).dead === 1, 'a dead job');
      await w.close();
      await q.add({}, { id: 'x2' });
      const replay = await cli('dlq', 'replay', 'dl2', 'nope');
      expect(replay).toMatchObject({
        code: 4,
        stdout: 'replayed 0\n',
        stderr: 'bulwark: no dead job to replay in dl2: nope\n',
      });
      const waiting = await cli('dlq', 'replay', 'dl2', 'x2', '--json');
      expect(waiting.code).toBe(4);
      expect(JSON.parse(waiting.stdout)).toEqual({ replayed: [] });
      expect(JSON.parse(waiting.stderr)).toEqual({
        error: { code: 'NOT_FOUND', message: 'no dead job to replay in dl2: x2' },
      });
      const purge = await cli('dlq', 'purge', 'dl2', 'x1', 'nope');
      expect(purge).toMatchObject({
        code: 4,
        stdout: 'purged 1\n',
        stderr: 'bulwark: no dead job to purge in dl2: nope\n',
      });
      const cancel = await cli('cancel', 'dl2', 'nope', '--json');
      expect(cancel.code).toBe(4);
      expect(JSON.parse(cancel.stderr)).toMatchObject({ error: { code: 'NOT_FOUND' } });
      expect((await q.getJob('x2'))!.state).toBe('waiting');
    },
  );

  it.skipIf(!c.available)(
    'health: the verdict with reasons; exit 1 while a queue is paused by an auth failure',
    async () => {
      const ok = await json<{ status: string; dependencies: { kind: string; name: string }[] }>('health');
      expect(ok.status).not.toBe('UNHEALTHY');
      expect(ok.dependencies[0]).toMatchObject({
        kind: 'store',
        name: expect.stringMatching(new RegExp(`^${c.name} `)),
      });
      const q = new Queue('crm', { store });
      await q.add({}, { id: 'c1' });
      await q.pause('auth: 401 token expired');
      const bad = await cli('health');
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(
        /^health: UNHEALTHY\n {2}- queue crm: paused by a worker, after an auth failure: 401 token expired/,
      );
      await q.resume();
      expect((await cli('health')).code).toBe(0);
    },
  );

  it.skipIf(!c.available)(
    'dashboard: one server for the page, API, /healthz and /metrics; answers a malformed request line; exits 0 on SIGTERM',
    async () => {
      const s = await serve(['dashboard', '--port', '0', '--store', c.url], /listening on (http:\S+)\//);
      const url = /listening on (http:\S+)\//.exec(s.output())![1]!;
      const overview = (await (await fetch(`${url}/api/overview`)).json()) as { queues: { name: string }[] };
      expect(overview.queues.map((q) => q.name)).toContain('mail');
      expect((await fetch(`${url}/healthz`)).headers.get('content-type')).toBe('application/health+json');
      expect((await fetch(`${url}/`)).status).toBe(200);
      const port = Number(new URL(url).port);
      expect(await rawStatus(port, 'GET //[ HTTP/1.1')).toBe(404);
      expect(await rawStatus(port, 'GET /api/queues/%E0%A4%A/jobs HTTP/1.1')).toBe(400);
      expect((await fetch(`${url}/livez`)).status).toBe(200);
      s.child.kill('SIGTERM');
      expect(await s.exited()).toBe(0);
    },
  );

  it.skipIf(!c.available)('dashboard beyond loopback needs a token', async () => {
    const r = await cli('dashboard', '--port', '0', '--host', '0.0.0.0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give --token/);
  });

  it.skipIf(!c.available)(
    'start: loads a .ts module, logs job outcomes with pino, serves with --port, drains on SIGTERM',
    async () => {
      const mod = join(dir, `workers-${c.name}.ts`);
      writeFileSync(
        mod,
        `import type { Handler } from '${join(process.cwd(), 'src/index.ts').replaceAll('\\', '/')}';
       const double: Handler<number, number> = (ctx) => ctx.payload * 2;
       const picky = async (ctx: { payload: { ok: boolean } }): Promise<string> => {
         if (!ctx.payload.ok) throw Object.assign(new Error('unsupported input'), { status: 422 });
         return 'fine';
       };
       export default { double, picky: { handler: picky, options: { concurrency: 2 } } };\n`,
      );
      const q = new Queue<number>('double', { store });
      const picky = new Queue<{ ok: boolean }>('picky', { store });
      await q.add(21, { id: 'n21' });
      await picky.add({ ok: false }, { id: 'p1' });
      const s = await serve(
        ['start', mod, '--port', '0', '--log-level', 'debug', '--store', c.url],
        /"msg":"started 2 worker\(s\)/,
      );
      await waitFor(
        async () => (await q.getJob('n21'))?.state === 'completed',
        'the .ts handler to run',
        20_000,
      );
      expect((await q.getJob('n21'))!.result).toBe(42);
      await waitFor(
        () => /"msg":"job dead-lettered"/.test(s.output()) && /"msg":"job completed"/.test(s.output()),
        'the outcome log lines',
        20_000,
      );
      const lines = s
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'job completed', jobId: 'n21', queue: 'double' }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'job dead-lettered', jobId: 'p1', category: 'validation' }),
      );
      const url = /"url":"(http:[^"]+)"/.exec(s.output())![1]!;
      const port = Number(new URL(url).port);
      expect(await rawStatus(port, 'GET //[ HTTP/1.1')).toBe(404);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
      s.child.kill('SIGTERM');
      expect(await s.exited()).toBe(0);
      expect(s.output()).toMatch(/"msg":"stopped"/);
    },
  );

  it.skipIf(!c.available)("start: one warn line per recovery of a dead worker's jobs", async () => {
    const mod = join(dir, `reaper-${c.name}.mjs`);
    writeFileSync(
      mod,
      `export default { orphan: { handler: () => 'done', options: { reapIntervalMs: 50 } } };\n`,
    );
    const q = new Queue('orphan', { store });
    await q.add('x', { id: 'o1' });
    // A worker that died holding the job: claimed with a lease that ran out a minute ago.
    const claimed = await store.claim({
      queue: 'orphan',
      workerId: 'gone',
      limit: 1,
      leaseMs: 1,
      now: Date.now() - 60_000,
    });
    expect(claimed.map((j) => j.id)).toEqual(['o1']);
    const s = await serve(['start', mod, '--store', c.url], /"msg":"started 1 worker\(s\)/);
    await waitFor(
      async () => (await q.getJob('o1'))?.state === 'completed',
      'the recovered job to run',
      20_000,
    );
    s.child.kill('SIGTERM');
    expect(await s.exited()).toBe(0);
    const warns = s
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; requeued?: number })
      .filter((l) => l.level === 40);
    expect(warns).toEqual([
      expect.objectContaining({ msg: 'recovered stalled jobs', requeued: 1, queue: 'orphan' }),
    ]);
  });

  it.skipIf(!c.available)(
    'start: --log-level warn hides completions; a fatal error stops every worker and exits 1',
    async () => {
      const mod = join(dir, `fatal-${c.name}.mjs`);
      writeFileSync(
        mod,
        `export default {
         ok: () => 'done',
         broken: () => { throw Object.assign(new Error('config missing: API_KEY'), { name: 'FatalError', code: 'FATAL', category: 'fatal' }); },
       };\n`,
      );
      await new Queue('ok', { store }).add('x', { id: 'o1' });
      await new Queue('broken', { store }).add('y', { id: 'b1' });
      const s = await serve(
        ['start', mod, '--log-level', 'warn', '--store', c.url],
        /worker stopped on a fatal error|"level":50|"level":60/,
      );
      const code = await s.exited();
      expect(code).toBe(1);
      expect(s.output()).toMatch(
        /bulwark: a worker stopped on a fatal error: fatal error in job b1: config missing: API_KEY/,
      );
      expect(s.output()).not.toMatch(/"msg":"job completed"/);
      // The job went back to waiting (no attempt used), ready for a fixed deployment.
      expect((await new Queue('broken', { store }).getJob('b1'))!.state).toBe('waiting');
    },
  );
});
