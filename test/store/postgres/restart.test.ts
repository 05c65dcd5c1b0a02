/**
 * Restarts PostgreSQL under running workers. Starts its own server (initdb in a temp dir, its own
 * port and socket dir), processes jobs, restarts the server mid-run with `pg_ctl restart -m fast`,
 * and checks that the workers report the outage as `worker:error` events, reconnect, and that every
 * job still ends completed or dead-lettered. The server and its directory are removed at the end.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../../src/index.js';
import { postgresStore, type PostgresStore } from '../../../src/store/postgres/index.js';
import { REQUIRE_SERVICES } from '../../helpers/services.js';
import { sleep, waitFor } from '../../helpers/wait.js';

const BIN = process.env.BULWARK_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const JOBS = 2000;

/** initdb refuses to run as root: run the server's tools as the `postgres` OS user then. */
function osUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function canRun(): boolean {
  try {
    if (!existsSync(join(BIN, 'initdb')) || !existsSync(join(BIN, 'pg_ctl'))) return false;
    if (process.getuid?.() === 0) osUser();
    return true;
  } catch {
    return false;
  }
}

const runnable = canRun();
if (!runnable) {
  const msg = `[bulwark tests] the restart test needs PostgreSQL server binaries in ${BIN} (set BULWARK_PG_BIN)`;
  if (REQUIRE_SERVICES) throw new Error(msg);
  console.warn(`\n${msg}: SKIPPED\n`);
}

function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number): Promise<number | null> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(null));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(port)));
    });
  return (async () => {
    for (let p = preferred; p < preferred + 50; p++) if ((await tryPort(p)) !== null) return p;
    throw new Error('no free port for the test server');
  })();
}

class TestServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'bulwark-pg-restart-'));
  readonly data = join(this.dir, 'data');
  private readonly user = osUser();
  port = 0;

  /**
   * Runs a server tool with its output in tools.log. Waits for the tool's exit, not for its output
   * to close: the server it starts keeps inherited descriptors open.
   */
  private tool(name: string, args: string[]): Promise<void> {
    const cmd = join(BIN, name);
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
        code === 0
          ? resolve()
          : reject(new Error(`${name} exited with ${code}: see ${join(this.dir, 'tools.log')}`)),
      );
    });
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    if (this.user) chownSync(this.dir, this.user.uid, this.user.gid);
    this.port = await freePort(55432);
    await this.tool('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
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
  }

  restart(): Promise<void> {
    const log = join(this.dir, 'server.log');
    return this.tool('pg_ctl', ['-D', this.data, '-m', 'fast', '-l', log, '-w', 'restart']);
  }

  async stop(): Promise<void> {
    if (existsSync(join(this.data, 'postmaster.pid'))) {
      await this.tool('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe.skipIf(!runnable)('postgres: a server restart under running workers', () => {
  const server = new TestServer();
  const stores: PostgresStore[] = [];
  const workers: Worker<number>[] = [];

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close({ graceMs: 0 })));
    await Promise.all(stores.map((s) => s.close()));
    await server.stop();
  });

  it('workers reconnect and every job ends completed or dead', async () => {
    await server.start();
    const storeErrors: Error[] = [];
    const make = (listen: boolean): PostgresStore => {
      const s = postgresStore({
        connectionString: server.url,
        schema: 'restart',
        maxConnections: 4,
        connectTimeoutMs: 2000,
        reconnectMaxDelayMs: 300,
        listen,
        onError: (e) => storeErrors.push(e),
      });
      stores.push(s);
      return s;
    };
    const store = make(true);
    const producer = make(false); // another process's view: adds jobs, never listens
    const queue = new Queue<number>('restart', { store });
    const adder = new Queue<number>('restart', { store: producer });
    for (let i = 0; i < JOBS; i += 500) {
      await adder.addBulk(
        Array.from({ length: 500 }, (_, k) => ({
          payload: i + k,
          options: { id: `job-${i + k}`, maxAttempts: 20, backoff: { delayMs: 50, jitter: 'none' } },
        })),
      );
    }

    const workerErrors: { during: string; message: string }[] = [];
    for (let w = 0; w < 2; w++) {
      const worker = new Worker(
        queue,
        async (ctx) => {
          await sleep(2 + (ctx.payload % 4));
          return { fence: ctx.job.fence };
        },
        {
          concurrency: 8,
          leaseMs: 2000,
          heartbeatMs: 400,
          reapIntervalMs: 300,
          pollIntervalMs: 200,
          retention: false,
        },
      );
      worker.on('worker:error', ({ error, during }) => workerErrors.push({ during, message: error.message }));
      workers.push(worker);
    }

    const counts = () => queue.counts().catch(() => null);
    await waitFor(async () => ((await counts())?.completed ?? 0) >= 400, '400 jobs completed', 60_000);
    const before = (await counts())!.completed;
    expect(before).toBeLessThan(JOBS); // the restart happens mid-run

    // Workers keep running while the server goes down and comes back.
    await server.restart();

    await waitFor(
      async () => {
        const c = await counts();
        return c !== null && c.completed + c.dead === JOBS && c.active === 0;
      },
      'every job settled after the restart',
      120_000,
    );
    const c = (await queue.counts())!;
    expect(c.completed + c.dead).toBe(JOBS);
    expect(c.waiting + c.delayed + c.active + c.cancelled).toBe(0);
    // The outage was seen, as events: the process is still here to count them.
    expect(workerErrors.length).toBeGreaterThan(0);
    expect(workerErrors.every((e) => e.message.startsWith('[bulwark]'))).toBe(true);
    expect(workers.every((w) => w.isRunning)).toBe(true);

    const jobs = await queue.list({ states: ['completed'], limit: JOBS });
    for (const j of jobs) expect((j.result as { fence: number }).fence, j.id).toBe(j.fence);

    // The listener reconnected too: a job added by another store wakes this one.
    let wakes = 0;
    const off = store.subscribe('restart', () => wakes++);
    await waitFor(async () => {
      if (wakes > 0) return true;
      await adder.add(-1).catch(() => undefined);
      await sleep(50);
      return wakes > 0;
    }, 'a wake-up through the reconnected listener');
    off();
    await waitFor(
      async () => (await queue.counts()).completed + (await queue.counts()).dead > JOBS,
      'the late jobs',
    );
    console.log(
      `restart test: ${c.completed} completed, ${c.dead} dead, ${workerErrors.length} worker:error events, ${storeErrors.length} store errors reported`,
    );
  }, 240_000);
});
