/**
 * The chaos suite's own servers, never the shared ones: a PostgreSQL cluster made with initdb in a temp
 * dir on a free port (stopped with `pg_ctl stop -m immediate`, a crash, and started again), and
 * redis-server processes with AOF on other ports (SIGKILLed and started again on the same AOF).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { PrivatePostgres } from '../../test/helpers/pg-server.js';
import { freePort } from '../../test/helpers/ports.js';
import { now } from './protocol.js';

export { postgresBin } from '../../test/helpers/pg-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const hasRedisServer = (): boolean =>
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * The suite's PostgreSQL: PostgreSQL's own durability settings (a crash replays the WAL), and a
 * `startTimed()` that resolves with the time the server first answered a query, polled every 20 ms
 * (`pg_ctl -w` itself may return a while after that).
 */
export class ChaosPostgres extends PrivatePostgres {
  constructor(maxConnections: number) {
    super({ tag: 'chaos-pg', maxConnections, durable: true });
  }

  async startTimed(): Promise<number> {
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
      await this.start();
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      started = true;
    }
    await probe;
    return answered!;
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
