/**
 * One worker process of the scale-out measurement: opens the store it is handed, waits for `go`,
 * processes the queue with bulwark's public API, reports progress to its parent every 50 ms, and on
 * `stop` closes and sends the pickup latencies it saw.
 * argv: <StoreSpec as JSON> <concurrency>
 */
import { Queue, Worker } from '../../src/index.js';
import { openStore, QUEUE, wallMs, type StoreSpec } from './stores.js';

/** What a worker process tells its parent. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; completed: number; lastAt: number }
  | { type: 'done'; completed: number; lastAt: number; latencies: number[] };

const spec = JSON.parse(process.argv[2]!) as StoreSpec;
const concurrency = Number(process.argv[3]);
const send = (m: WorkerMessage): void => void process.send?.(m);

const store = await openStore(spec);
const queue = new Queue<number>(QUEUE, { store });
let completed = 0;
let lastAt = 0;
const latencies: number[] = [];
// A payload > 0 is the wall-clock ms at which the parent called add(): the job's pickup starts there.
const worker = new Worker(
  queue,
  (ctx) => {
    if (ctx.payload > 0) latencies.push(wallMs() - ctx.payload);
  },
  { concurrency, retention: false, autostart: false },
);
worker.on('job:completed', () => {
  completed++;
  lastAt = wallMs();
});
const progress = setInterval(() => send({ type: 'progress', completed, lastAt }), 50);

process.on('message', (m) => {
  if (m === 'go') worker.start();
  if (m === 'stop') {
    void (async () => {
      await worker.close();
      clearInterval(progress);
      send({ type: 'done', completed, lastAt, latencies });
      await store.close();
      process.disconnect();
    })();
  }
});
send({ type: 'ready' });
