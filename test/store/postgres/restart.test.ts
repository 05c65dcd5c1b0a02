/**
 * Restarts PostgreSQL under running workers. Starts its own server (initdb in a temp dir, its own
 * port and socket dir), processes jobs, restarts the server mid-run with `pg_ctl restart -m fast`,
 * and checks that the workers report the outage as `worker:error` events, reconnect, and that every
 * job still ends completed or dead-lettered. The server and its directory are removed at the end.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../../src/index.js';
import { postgresStore, type PostgresStore } from '../../../src/store/postgres/index.js';
import { PrivatePostgres } from '../../helpers/pg-server.js';
import { REQUIRE_SERVICES } from '../../helpers/services.js';
import { sleep, waitFor } from '../../helpers/wait.js';

const JOBS = 2000;

const runnable = PrivatePostgres.available();
if (!runnable) {
  const msg =
    '[bulwark tests] the restart test needs PostgreSQL server binaries (initdb; set BULWARK_PG_BIN)';
  if (REQUIRE_SERVICES) throw new Error(msg);
  console.warn(`\n${msg}: SKIPPED\n`);
}

describe.skipIf(!runnable)('postgres: a server restart under running workers', () => {
  const server = new PrivatePostgres({ tag: 'pg-restart', maxConnections: 50 });
  const stores: PostgresStore[] = [];
  const workers: Worker<number>[] = [];

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close({ graceMs: 0 })));
    await Promise.all(stores.map((s) => s.close()));
    await server.destroy();
  });

  it('workers reconnect and every job ends completed or dead', async () => {
    await server.init();
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
