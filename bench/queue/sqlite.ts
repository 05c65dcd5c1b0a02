/** bulwark on a durable SQLite file (WAL) against plainjob, its peer on SQLite. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue, Worker, sqliteStore, type Logger, type Store } from '../../src/index.js';
import { HealthMonitor } from '../../src/observe/health.js';
import { instrument } from '../../src/observe/instrument.js';
import { createLogger } from '../../src/observe/log.js';
import { BulwarkMetrics } from '../../src/observe/metrics.js';
import type { BenchTarget, QueueBenchSystem } from './types.js';

const tempDb = (): { dir: string; path: string } => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-'));
  return { dir, path: join(dir, 'bench.db') };
};

/** Optional instrumentation of the bulwark side: attached to the queue once and to every worker. */
export interface BenchInstrumentation {
  /** Called with the queue when the target is made (e.g. to count enqueues). */
  onQueue?: (queue: Queue<number>) => void;
  /** Called with each worker as it starts; the returned disposer runs after the worker closes. */
  instrument?: (worker: Worker<number>, queue: Queue<number>) => () => void;
  /** The workers' logger. */
  logger?: Logger;
}

/** Health monitor, metrics and a pino logger (to a null destination): what an operator would run. */
export function fullInstrumentation(): BenchInstrumentation {
  const monitor = new HealthMonitor();
  const metrics = new BulwarkMetrics({ monitor });
  const logger = createLogger({ destination: { write: () => {} } });
  return {
    logger,
    onQueue: (queue) => void metrics.watchQueue(queue),
    instrument: (worker) => instrument(worker, { monitor, metrics, logger }),
  };
}

/** The bulwark side of a queue benchmark, for any store. */
export function bulwarkTarget(
  store: Store,
  cleanup: () => Promise<void>,
  options: BenchInstrumentation = {},
): BenchTarget {
  const queue = new Queue<number>('bench', { store });
  options.onQueue?.(queue);
  const logger = options.logger === undefined ? {} : { logger: options.logger };
  const attach = (worker: Worker<number>): (() => void) => options.instrument?.(worker, queue) ?? (() => {});
  const run = async (n: number, concurrency: number): Promise<void> => {
    let done = 0;
    let finish!: () => void;
    const all = new Promise<void>((r) => (finish = r));
    const worker = new Worker(queue, () => undefined, {
      concurrency,
      retention: false,
      pollIntervalMs: 100,
      ...logger,
    });
    const detach = attach(worker);
    worker.on('job:completed', () => {
      if (++done === n) finish();
    });
    await all;
    await worker.close();
    detach();
  };
  return {
    async enqueue(n) {
      for (let i = 0; i < n; i += 1000) {
        await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ payload: i + k })));
      }
    },
    process: run,
    async pickup(samples, concurrency) {
      const started = new Map<number, () => void>();
      const worker = new Worker(queue, (ctx) => started.get(ctx.payload)?.(), {
        concurrency,
        retention: false,
        ...logger,
      });
      const detach = attach(worker);
      const out: number[] = [];
      for (let i = 0; i < samples; i++) {
        const seen = new Promise<void>((r) => started.set(i, r));
        const t0 = performance.now();
        await queue.add(i);
        await seen;
        out.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 2));
      }
      await worker.close();
      detach();
      return out;
    },
    async teardown() {
      await store.close();
      await cleanup();
    },
  };
}

export const systems: QueueBenchSystem[] = [
  {
    system: 'bulwark',
    package: 'bulwark',
    store: 'sqlite',
    settings: 'file DB, WAL, synchronous=NORMAL; addBulk ×1000; claim batch = concurrency',
    async setup({ instrumented }) {
      const { dir, path } = tempDb();
      return bulwarkTarget(
        sqliteStore({ path }),
        async () => rmSync(dir, { recursive: true, force: true }),
        instrumented ? fullInstrumentation() : {},
      );
    },
  },
  {
    system: 'plainjob',
    package: 'plainjob',
    store: 'sqlite',
    // Its README: better-sqlite3 connection (it sets WAL, synchronous=NORMAL itself), addMany for bulk,
    // a worker processes one job at a time, so concurrency c is c workers.
    settings:
      'file DB, WAL + synchronous=NORMAL (it sets both); addMany ×1000; one worker per unit of concurrency; pollIntervall 10 ms (default 1000)',
    async setup() {
      const { better, defineQueue, defineWorker } = await import('plainjob');
      const { dir, path } = tempDb();
      const db = new Database(path);
      const queue = defineQueue({ connection: better(db), logger: silent, maintenanceInterval: 3_600_000 });
      const workers = (concurrency: number, fn: (data: string) => void) =>
        Array.from({ length: concurrency }, () =>
          defineWorker('bench', (job) => fn(job.data), { queue, pollIntervall: 10, logger: silent }),
        );
      return {
        async enqueue(n) {
          for (let i = 0; i < n; i += 1000) {
            queue.addMany(
              'bench',
              Array.from({ length: Math.min(1000, n - i) }, (_, k) => i + k),
            );
          }
        },
        async process(n, concurrency) {
          let done = 0;
          let finish!: () => void;
          const all = new Promise<void>((r) => (finish = r));
          const ws = workers(concurrency, () => {
            if (++done === n) finish();
          });
          for (const w of ws) void w.start();
          await all;
          await Promise.all(ws.map((w) => w.stop()));
        },
        async pickup(samples, concurrency) {
          const started = new Map<string, () => void>();
          const ws = workers(concurrency, (data) => started.get(data)?.());
          for (const w of ws) void w.start();
          const out: number[] = [];
          for (let i = 0; i < samples; i++) {
            const key = JSON.stringify(`p${i}`);
            const seen = new Promise<void>((r) => started.set(key, r));
            const t0 = performance.now();
            queue.add('bench', `p${i}`);
            await seen;
            out.push(performance.now() - t0);
          }
          await Promise.all(ws.map((w) => w.stop()));
          return out;
        },
        async teardown() {
          queue.close();
          rmSync(dir, { recursive: true, force: true });
        },
      } satisfies BenchTarget;
    },
  },
];

const noop = (): void => {};
const silent = { error: noop, warn: noop, info: noop, debug: noop };
