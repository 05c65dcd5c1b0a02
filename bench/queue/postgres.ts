/**
 * bulwark on PostgreSQL against its peers there, pg-boss and graphile-worker: same server, same
 * no-op jobs, a fresh schema per run (dropped on teardown). Each peer runs with the settings its
 * documentation gives for throughput and latency; the `settings` column says which, and where from.
 * Peers are imported when measured, so a runtime they do not support never loads them.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { postgresStore } from '../../src/store/postgres/index.js';
import { POSTGRES_URL, serviceAvailable } from '../../test/helpers/services.js';
import { bulwarkTarget } from './sqlite.js';
import type { BenchTarget, QueueBenchSystem } from './types.js';

let seq = 0;
/** A schema name no other run uses (dropped on teardown). */
export const freshSchema = (tag: string): string => `bench_${tag}_${process.pid}_${seq++}`;

/** One statement on its own connection. */
export async function sql(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

export const dropSchema = (schema: string) => sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
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
  package: 'bulwark',
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

// pg-boss 12 at its documented fast path: LISTEN/NOTIFY wake-ups (instance `useListenNotify` plus the
// queue's `notify`, both off by default; docs/api: ConstructorOptions.useListenNotify, Queue.notify),
// large batches (`batchSize`; a batch is completed in one statement) and `burstWhenBatchFull` (fetch
// again at once while batches come back full, instead of sleeping `pollingIntervalSeconds`).
const PG_BOSS_BATCH = 1000;
const pgBoss: QueueBenchSystem = {
  system: 'pg-boss',
  package: 'pg-boss',
  store: 'postgres',
  settings: `insert() ×1000; useListenNotify + queue notify: true; one work() with batchSize ${PG_BOSS_BATCH}, burstWhenBatchFull: true, pollingIntervalSeconds 0.5 (its minimum); the handler runs up to \`concurrency\` jobs of its batch at once; pool max 10; supervise/schedule off`,
  available,
  async setup() {
    const { PgBoss } = await import('pg-boss');
    const schema = freshSchema('pgboss');
    const boss = new PgBoss({
      connectionString: POSTGRES_URL,
      schema,
      max: 10,
      supervise: false,
      schedule: false,
      useListenNotify: true,
    });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue('bench', { notify: true });
    const options = { batchSize: PG_BOSS_BATCH, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 };
    const completed = async (n: number): Promise<boolean> => {
      const r = await boss
        .getDb()
        .executeSql(
          `SELECT count(*)::int AS n FROM "${schema}".job WHERE name = 'bench' AND state = 'completed'`,
          [],
        );
      return Number((r.rows[0] as { n: number }).n) >= n;
    };
    let total = 0;
    return {
      async enqueue(n) {
        for (let i = 0; i < n; i += 1000) {
          await boss.insert(
            'bench',
            Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ data: { i: i + k } })),
          );
        }
      },
      async process(n, concurrency) {
        let done = 0;
        let finish!: () => void;
        const all = new Promise<void>((r) => (finish = r));
        await boss.work<{ i: number }>('bench', options, async (jobs) => {
          await withLimit(
            concurrency,
            jobs.map(() => () => {
              if (++done === n) finish();
            }),
          );
        });
        await all;
        // pg-boss writes completions after the handler returns: count a job when it is completed.
        total += n;
        await until(() => completed(total));
        await boss.offWork('bench');
      },
      async pickup(samples) {
        const started = new Map<number, () => void>();
        await boss.work<{ i: number }>('bench', options, async (jobs) => {
          for (const j of jobs) started.get(j.data.i)?.();
        });
        await sleep(100); // let its LISTEN connection come up
        const out: number[] = [];
        for (let i = 0; i < samples; i++) {
          const seen = new Promise<void>((r) => started.set(i, r));
          const t0 = performance.now();
          await boss.send('bench', { i });
          await seen;
          out.push(performance.now() - t0);
          await sleep(2);
        }
        await boss.offWork('bench');
        return out;
      },
      async teardown() {
        await boss.stop({ graceful: false, close: true });
        await dropSchema(schema);
      },
    } satisfies BenchTarget;
  },
};

// graphile-worker 0.18 as its performance page runs it (worker.graphile.org/docs/performance): a local
// queue of 500 jobs fetched and locked per query, completions and failures batched (delay 0), a pool
// one larger than the concurrency. The options live in the preset (`preset.worker`), not in run()'s own.
const GRAPHILE_PRESET = {
  worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
};
const graphile: QueueBenchSystem = {
  system: 'graphile-worker',
  package: 'graphile-worker',
  store: 'postgres',
  settings:
    'add_jobs() ×1000; run() with concurrency = `concurrency`, preset.worker { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 }, maxPoolSize max(10, concurrency + 1), LISTEN/NOTIFY for new jobs, pollInterval 2000, preparedStatements on (default)',
  available,
  async setup() {
    const { Logger, run, runMigrations } = await import('graphile-worker');
    const silentLogger = new Logger(() => () => undefined);
    const schema = freshSchema('graphile');
    await runMigrations({ connectionString: POSTGRES_URL, schema, logger: silentLogger });
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    let handler: (payload: { i: number }) => void = () => undefined;
    const start = (concurrency: number) =>
      run({
        connectionString: POSTGRES_URL,
        schema,
        concurrency,
        maxPoolSize: Math.max(10, concurrency + 1),
        pollInterval: 2000,
        noHandleSignals: true,
        logger: silentLogger,
        preset: GRAPHILE_PRESET,
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
