/**
 * A redis-server of the test's own, on its own port (never the shared one): for restarts, kills and
 * server settings a test must not change on a server others use.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

export const hasRedisServer = (): boolean =>
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

export interface OwnRedis {
  url: string;
  dir: string;
  /** Stops the server with `signal` and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory (its AOF is replayed). */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** Starts a redis-server of its own, on `port` or (by default) a free one, in a temp dir. */
export async function ownRedis(wanted?: number, extraArgs: string[] = []): Promise<OwnRedis> {
  const port = wanted ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const c = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--daemonize',
        'no',
        ...extraArgs,
      ],
      { stdio: 'ignore' },
    );
    child = c;
    const exited = new Promise<never>((_, reject) =>
      c.once('exit', (code) => reject(new Error(`redis-server on ${port} exited with ${code}`))),
    );
    exited.catch(() => {});
    await Promise.race([ready(url), exited]);
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };

  try {
    await start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url,
    dir,
    stop,
    start,
    async destroy() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once the server answers PING (tries for up to 10 s). */
async function ready(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      await r.ping();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((res) => setTimeout(res, 50));
    } finally {
      r.disconnect();
    }
  }
}
