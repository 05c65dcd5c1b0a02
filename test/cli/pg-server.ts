/**
 * A private PostgreSQL server for outage tests: initdb in a temp dir, its own port and socket dir,
 * stopped and started at will (never the shared server). Runs the tools as the `postgres` OS user
 * when the tests run as root (initdb refuses root). `available` is false without the binaries.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function binDir(): string | undefined {
  if (process.env.BULWARK_PG_BIN) return process.env.BULWARK_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'initdb')));
}

const BIN = binDir();

function osUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });

export class PrivatePostgres {
  static readonly available =
    BIN !== undefined &&
    (() => {
      try {
        osUser();
        return true;
      } catch {
        return false;
      }
    })();

  readonly dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-pg-'));
  private readonly data = join(this.dir, 'data');
  private readonly user = osUser();
  port = 0;

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private tool(name: string, args: string[]): Promise<void> {
    const cmd = join(BIN!, name);
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
        code === 0 ? resolve() : reject(new Error(`${name} exited with ${code}`)),
      );
    });
  }

  async init(): Promise<void> {
    if (this.user) chownSync(this.dir, this.user.uid, this.user.gid);
    this.port = await freePort();
    await this.tool('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await this.start();
  }

  start(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=30`;
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

  stop(): Promise<void> {
    return this.tool('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  async remove(): Promise<void> {
    if (existsSync(join(this.data, 'postmaster.pid'))) await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
