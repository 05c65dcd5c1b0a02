/**
 * Part (a) of the sustained suite: a long stream of jobs through one Postgres worker with retention
 * on, to see whether throughput holds as finished jobs pile up and retention deletes them. A producer
 * in the same process keeps a bounded backlog (so the table never holds the whole run up front); every
 * completion is time-stamped, and the run is cut into ten equal windows.
 */
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from '../../src/index.js';
import { dropStore, freshStore, openStore, postgresSizes, QUEUE, type TableSize } from './stores.js';

export interface RetentionOptions {
  jobs: number;
  concurrency: number;
  /** Jobs waiting at most, ahead of the worker. */
  backlog: number;
  cleanupIntervalMs: number;
}

export interface RetentionResult {
  jobs: number;
  window: number;
  /** Jobs/s in each tenth of the run, in order. */
  deciles_per_s: number[];
  first_window_per_s: number;
  last_window_per_s: number;
  total_per_s: number;
  /** Every table of the schema at the end of the run. */
  sizes: TableSize[];
  table_bytes: number;
  index_bytes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function retentionRun(
  o: RetentionOptions,
  progress: (msg: string) => void,
): Promise<RetentionResult> {
  const spec = freshStore('postgres', 'retention');
  const store = await openStore(spec);
  try {
    const queue = new Queue<number>(QUEUE, { store });
    // Retention is the worker's default rule set (completed and cancelled: 1 day, newest 10,000;
    // dead: 14 days, 100,000), applied every cleanupIntervalMs.
    const worker = new Worker(queue, () => undefined, {
      concurrency: o.concurrency,
      cleanupIntervalMs: o.cleanupIntervalMs,
    });
    const stamps = new Float64Array(o.jobs);
    let done = 0;
    worker.on('job:completed', () => {
      if (done < o.jobs) stamps[done++] = performance.now();
    });
    const t0 = performance.now();
    let added = 0;
    let nextReport = o.jobs / 10;
    while (added < o.jobs) {
      if (added - done >= o.backlog) {
        await sleep(2);
        continue;
      }
      const n = Math.min(1000, o.jobs - added);
      await queue.addBulk(Array.from({ length: n }, (_, k) => ({ payload: added + k })));
      added += n;
      if (done >= nextReport) {
        progress(`${done.toLocaleString('en-US')} / ${o.jobs.toLocaleString('en-US')} jobs done`);
        nextReport += o.jobs / 10;
      }
    }
    while (done < o.jobs) await sleep(5);
    await worker.close();
    const sizes = await postgresSizes(spec.namespace);

    const window = Math.floor(o.jobs / 10);
    const at = (i: number): number => (i < 0 ? t0 : stamps[i]!);
    const rate = (from: number, to: number): number =>
      Math.round(((to - from) / (at(to - 1) - at(from - 1))) * 1000);
    const deciles = Array.from({ length: 10 }, (_, k) =>
      rate(k * window, k === 9 ? o.jobs : (k + 1) * window),
    );
    return {
      jobs: o.jobs,
      window,
      deciles_per_s: deciles,
      first_window_per_s: rate(0, window),
      last_window_per_s: rate(o.jobs - window, o.jobs),
      total_per_s: rate(0, o.jobs),
      sizes,
      table_bytes: sizes.reduce((s, t) => s + t.table_bytes, 0),
      index_bytes: sizes.reduce((s, t) => s + t.index_bytes, 0),
    };
  } finally {
    await store.close();
    await dropStore(spec);
  }
}
