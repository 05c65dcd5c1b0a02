/**
 * The chaos suite's own servers, never the shared ones: a PostgreSQL cluster made with initdb in a temp
 * dir on a free port (stopped with `pg_ctl stop -m immediate`, a crash, and started again), and
 * redis-server processes with AOF on other ports (SIGKILLed and started again on the same AOF).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { now } from './protocol.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A TCP port nobody listens on now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The newest PostgreSQL server binaries on the machine (or BULWARK_PG_BIN). */
export function postgresBin(): string | undefined {
  const given = process.env.BULWARK_PG_BIN;
  if (given) return existsSync(join(given, 'initdb')) ? given : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

export const hasRedisServer = (): boolean =>
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** initdb refuses root: the server's tools then run as the `postgres` OS user. */
function osUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export class PrivatePostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'bulwark-chaos-pg-'));
  private readonly data = join(this.dir, 'data');
  private readonly user = osUser();
  port = 0;

  constructor(
    private readonly bin: string,
    private readonly maxConnections = 100,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Runs a server tool (as `postgres` when we are root), its output in tools.log. */
  private tool(name: string, args: string[]): Promise<void> {
    const cmd = join(this.bin, name);
    const out = openSync(join(this.dir, 'tools.log'), 'a');
    const child = this.user
      ? spawn('runuser', ['-u', 'postgres', '--', cmd, ...args], {
          cwd: this.dir,
          stdio: ['ignore', out, out],
        })
      : spawn(cmd, args, { cwd: this.dir, stdio: ['ignore', out, out] });
    closeSync(out);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      // The exit, not the output's close: the server it starts keeps inherited descriptors open.
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${name} exited with ${code}: see ${this.dir}/tools.log`)),
      );
    });
  }

  async init(): Promise<void> {
    if (this.user) chownSync(this.dir, this.user.uid, this.user.gid);
    this.port = await freePort();
    await this.tool('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8']);
    await this.start();
  }

  /**
   * Starts the server (durability settings are the defaults) and resolves with the time it first
   * answered a query, polled every 20 ms: `pg_ctl -w` itself may return a while after that.
   */
  async start(): Promise<number> {
    const opts = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      `-c max_connections=${this.maxConnections}`,
      '-c superuser_reserved_connections=3',
    ].join(' ');
    let answered: number | undefined;
    let started = false;
    let failed = false;
    const probe = (async () => {
      while (!failed && (!started || answered === undefined)) {
        if (answered === undefined) {
          const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 1000 });
          c.on('error', () => undefined);
          try {
            await c.connect();
            await c.query('SELECT 1');
            answered = now();
          } catch {
            await sleep(20);
          } finally {
            await c.end().catch(() => undefined);
          }
        } else await sleep(20);
      }
    })();
    try {
      await this.tool('pg_ctl', [
        '-D',
        this.data,
        '-o',
        opts,
        '-l',
        join(this.dir, 'server.log'),
        '-w',
        'start',
      ]);
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      started = true;
    }
    await probe;
    return answered!;
  }

  /** A crash: every server process exits at once, no checkpoint; the next start replays the WAL. */
  stopImmediate(): Promise<void> {
    return this.tool('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  /** Runs one statement on a connection of its own. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    values: unknown[] = [],
    database = 'postgres',
  ): Promise<R[]> {
    const c = new pg.Client({ connectionString: this.url.replace(/\/postgres$/, `/${database}`) });
    await c.connect();
    try {
      return (await c.query<R>(sql, values)).rows;
    } finally {
      await c.end();
    }
  }

  async destroy(): Promise<void> {
    if (existsSync(join(this.data, 'postmaster.pid'))) await this.stopImmediate().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export type AppendFsync = 'always' | 'everysec';

export class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'bulwark-chaos-redis-'));
  port = 0;
  private child: ChildProcess | undefined;

  constructor(readonly fsync: AppendFsync) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async init(): Promise<void> {
    this.port = await freePort();
    await this.start();
  }

  /**
   * Starts redis-server with AOF on (replaying the AOF left in its directory); resolves with the time
   * it first answered PING (polled every 20 ms).
   */
  async start(): Promise<number> {
    const c = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        this.fsync,
        '--maxmemory-policy',
        'noeviction',
        '--daemonize',
        'no',
        '--logfile',
        join(this.dir, 'server.log'),
      ],
      { stdio: 'ignore' },
    );
    this.child = c;
    const exited = new Promise<never>((_, reject) =>
      c.once('exit', (code) => reject(new Error(`redis-server on ${this.port} exited with ${code}`))),
    );
    exited.catch(() => undefined);
    return Promise.race([this.ready(), exited]);
  }

  /** SIGKILL: no shutdown, no final AOF flush beyond what `appendfsync` already did. */
  kill(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }

  private async ready(): Promise<number> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      r.on('error', () => undefined);
      try {
        await r.connect();
        // Loading the AOF answers -LOADING: not ready until PING says PONG.
        if ((await r.ping()) === 'PONG') return now();
      } catch (e) {
        if (Date.now() > deadline) throw e;
      } finally {
        r.disconnect();
      }
      await sleep(20);
    }
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
