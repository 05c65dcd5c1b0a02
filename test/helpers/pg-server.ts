/**
 * A private PostgreSQL server for tests and the chaos bench, never the shared one: initdb in a temp
 * dir, its own port and socket dir, started, stopped (a crash: `-m immediate`) and restarted at will.
 * initdb refuses root: the server's tools then run as the `postgres` OS user.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

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

/** The `postgres` OS user when we are root (initdb refuses root); throws if there is none. */
function osUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

export interface PrivatePostgresOptions {
  /** Part of the temp dir's name. */
  tag?: string;
  /** @default 30 */
  maxConnections?: number;
  /** Keep PostgreSQL's durability settings (a crash then replays the WAL); off: `fsync=off`, faster. @default false */
  durable?: boolean;
}

export class PrivatePostgres {
  /** Whether a server can be made here: binaries found, and an OS user to run them as root. */
  static available(): boolean {
    if (postgresBin() === undefined) return false;
    try {
      osUser();
      return true;
    } catch {
      return false;
    }
  }

  readonly dir: string;
  private readonly data: string;
  private readonly user = osUser();
  private readonly bin = postgresBin();
  port = 0;

  constructor(private readonly options: PrivatePostgresOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), `bulwark-${options.tag ?? 'pg'}-`));
    this.data = join(this.dir, 'data');
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /**
   * Runs a server tool (as `postgres` when we are root), its output in tools.log. Waits for the
   * tool's exit, not for its output to close: the server it starts keeps inherited descriptors open.
   */
  private tool(name: string, args: string[]): Promise<void> {
    if (this.bin === undefined) throw new Error('no PostgreSQL server binaries (set BULWARK_PG_BIN)');
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
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${name} exited with ${code}: see ${this.dir}/tools.log`)),
      );
    });
  }

  /** Makes the cluster on a free port and starts it. */
  async init(): Promise<void> {
    if (this.user) chownSync(this.dir, this.user.uid, this.user.gid);
    this.port = await freePort();
    const sync = this.options.durable ? [] : ['--no-sync'];
    await this.tool('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', ...sync, '-E', 'UTF8']);
    await this.start();
  }

  start(): Promise<void> {
    const opts = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      `-c max_connections=${this.options.maxConnections ?? 30}`,
      '-c superuser_reserved_connections=3',
      ...(this.options.durable ? [] : ['-c fsync=off']),
    ].join(' ');
    return this.tool('pg_ctl', [
      '-D',
      this.data,
      '-o',
      opts,
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      'start',
    ]);
  }

  /** A crash: every server process exits at once, no checkpoint; the next start replays the WAL. */
  stopImmediate(): Promise<void> {
    return this.tool('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  /** A clean restart (`-m fast`): sessions are ended, the server is back when this resolves. */
  restart(): Promise<void> {
    return this.tool('pg_ctl', [
      '-D',
      this.data,
      '-m',
      'fast',
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      'restart',
    ]);
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

  /** Stops the server if it runs and removes its directory. */
  async destroy(): Promise<void> {
    if (existsSync(join(this.data, 'postmaster.pid'))) await this.stopImmediate().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
