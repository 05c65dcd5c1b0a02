/**
 * bulwark on PostgreSQL against its peers there, pg-boss and graphile-worker: same server, same
 * no-op jobs, a fresh schema per run (dropped on teardown). Each peer runs with the settings its
 * documentation gives for throughput and latency; the `settings` column says which.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { Logger, run, runMigrations, type Runner } from 'graphile-worker';
import { postgresStore } from '../../src/store/postgres/index.js';
import { POSTGRES_URL, serviceAvailable } from '../../test/helpers/services.js';
import { bulwarkTarget } from './sqlite.js';
import type { BenchTarget, QueueBenchSystem } from './types.js';

let seq = 0;
const freshSchema = (tag: string): string => `bench_${tag}_${process.pid}_${seq++}`;

async function sql(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

const dropSchema = (schema: string) => sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const available = () => serviceAvailable('postgres');

/** Runs `fns` with at most `limit` running at once. */
async function withLimit(limit: number, fns: (() => Promise<void> | void)[]): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < fns.length) await fns[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, fns.length) }, lane));
}

/** Polls until `check` holds: for peers that write their outcome after the handler returned. */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(2);
}

const bulwark: QueueBenchSystem = {
  system: 'bulwark',
  store: 'postgres',
  settings:
    'pg pool 10; addBulk ×1000 (one INSERT … unnest); claim batch = concurrency (SKIP LOCKED function); completions batched and claim the next jobs in the same statement; LISTEN/NOTIFY + in-process wake',
  available,
  async setup() {
    const schema = freshSchema('bulwark');
    const store = postgresStore({ connectionString: POSTGRES_URL, schema });
    await store.init();
    return bulwarkTarget(store, () => dropSchema(schema).then(() => undefined));
  },
};

const pgBoss: QueueBenchSystem = {
  system: 'pg-boss',
  store: 'postgres',
  settings:
    'insert ×1000; one work() with batchSize 1000, pollingIntervalSeconds 0.5 (its minimum), up to `concurrency` jobs of a batch at once; pickup wakes the worker with notifyWorker(); pool max 10; maintenance off',
  available,
  async setup() {
    const schema = freshSchema('pgboss');
    const boss = new PgBoss({
      connectionString: POSTGRES_URL,
      schema,
      max: 10,
      supervise: false,
      schedule: false,
    });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue('bench');
    const completed = async (n: number) =>
      Number(
        (
          await boss
            .getDb()
            .executeSql(
              `SELECT count(*)::int AS n FROM "${schema}".job WHERE name = 'bench' AND state = 'completed'`,
              [],
            )
        ).rows[0].n,
      ) >= n;
    let total = 0;
    return {
      async enqueue(n) {
        for (let i = 0; i < n; i += 1000) {
          await boss.insert(
            Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: 'bench', data: { i: i + k } })),
          );
        }
      },
      async process(n, concurrency) {
        let done = 0;
        let finish!: () => void;
        const all = new Promise<void>((r) => (finish = r));
        await boss.work<{ i: number }>(
          'bench',
          { batchSize: 1000, pollingIntervalSeconds: 0.5 },
          async (jobs) => {
            await withLimit(
              concurrency,
              jobs.map(() => () => {
                if (++done === n) finish();
              }),
            );
          },
        );
        await all;
        // pg-boss writes completions after the handler returns: count a job when it is completed.
        total += n;
        await until(() => completed(total));
        await boss.offWork('bench');
      },
      async pickup(samples, concurrency) {
        const started = new Map<number, () => void>();
        const workerId = await boss.work<{ i: number }>(
          'bench',
          { batchSize: concurrency, pollingIntervalSeconds: 0.5 },
          async (jobs) => {
            for (const j of jobs) started.get(j.data.i)?.();
          },
        );
        const out: number[] = [];
        for (let i = 0; i < samples; i++) {
          const seen = new Promise<void>((r) => started.set(i, r));
          const t0 = performance.now();
          await boss.send('bench', { i });
          boss.notifyWorker(workerId);
          await seen;
          out.push(performance.now() - t0);
          await sleep(2);
        }
        await boss.offWork('bench');
        return out;
      },
      async teardown() {
        await boss.stop({ graceful: false, wait: true });
        await dropSchema(schema);
      },
    } satisfies BenchTarget;
  },
};

const silentLogger = new Logger(() => () => undefined);

const graphile: QueueBenchSystem = {
  system: 'graphile-worker',
  store: 'postgres',
  settings:
    'add_jobs() ×1000; run() with concurrency = `concurrency`, maxPoolSize max(10, concurrency) (it warns below that), LISTEN/NOTIFY for new jobs, pollInterval 2000 (default; for delayed jobs only), preparedStatements on (default)',
  available,
  async setup() {
    const schema = freshSchema('graphile');
    await runMigrations({ connectionString: POSTGRES_URL, schema, logger: silentLogger });
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    let handler: (payload: { i: number }) => void = () => undefined;
    const start = (concurrency: number): Promise<Runner> =>
      run({
        connectionString: POSTGRES_URL,
        schema,
        concurrency,
        maxPoolSize: Math.max(10, concurrency),
        pollInterval: 2000,
        noHandleSignals: true,
        logger: silentLogger,
        taskList: { bench: async (payload) => handler(payload as { i: number }) },
      });
    const remaining = async () =>
      Number((await pool.query(`SELECT count(*)::int AS n FROM "${schema}"._private_jobs`)).rows[0].n);
    return {
      async enqueue(n) {
        for (let i = 0; i < n; i += 1000) {
          await pool.query(
            `SELECT "${schema}".add_jobs(ARRAY(
               SELECT ROW('bench', json_build_object('i', g), NULL, NULL, NULL, NULL, NULL, NULL)::"${schema}".job_spec
                 FROM generate_series($1::int, $2::int) g))`,
            [i, Math.min(n, i + 1000) - 1],
          );
        }
      },
      async process(n, concurrency) {
        let done = 0;
        let finish!: () => void;
        const all = new Promise<void>((r) => (finish = r));
        handler = () => {
          if (++done === n) finish();
        };
        const runner = await start(concurrency);
        await all;
        // A completed job is deleted after the handler returns: count it when it is gone.
        await until(async () => (await remaining()) === 0);
        await runner.stop();
      },
      async pickup(samples, concurrency) {
        const started = new Map<number, () => void>();
        handler = (p) => started.get(p.i)?.();
        const runner = await start(concurrency);
        await sleep(100); // let its LISTEN connection come up
        const out: number[] = [];
        for (let i = 0; i < samples; i++) {
          const seen = new Promise<void>((r) => started.set(i, r));
          const t0 = performance.now();
          await runner.addJob('bench', { i });
          await seen;
          out.push(performance.now() - t0);
          await sleep(2);
        }
        await runner.stop();
        return out;
      },
      async teardown() {
        await pool.end();
        await dropSchema(schema);
      },
    } satisfies BenchTarget;
  },
};

export const systems: QueueBenchSystem[] = [bulwark, pgBoss, graphile];
