/**
 * A worker process of the features bench. argv: store kind, where, queue, mode.
 * - `groups`: a worker on a queue with groups { concurrency: LIMIT }; prints one JSON line per job
 *   (group, start, end in µs since the epoch) so the parent can count in-flight jobs per group.
 * - `schedule`: a worker that fires the queue's schedules and completes their jobs.
 * Runs until stdin closes.
 */
import { Queue, Worker } from '../../src/index.js';
import { openStore, type StoreKind } from './stores.js';

const [kind, where, queueName, mode, limit] = process.argv.slice(2) as [
  StoreKind,
  string,
  string,
  string,
  string,
];
const store = openStore({ kind, where });
const now = (): number => (performance.timeOrigin + performance.now()) * 1000;
const queue = new Queue<{ group?: string }>(queueName, {
  store,
  ...(mode === 'groups' ? { groups: { concurrency: Number(limit) } } : {}),
});
const lines: string[] = [];
const worker = new Worker(
  queue,
  async (ctx) => {
    if (mode !== 'groups') return;
    const start = now();
    await new Promise((r) => setTimeout(r, 2 + Math.random() * 4));
    lines.push(JSON.stringify({ g: ctx.job.group, s: start, e: now() }));
  },
  { concurrency: 10, pollIntervalMs: 200, schedules: mode === 'schedule' },
);
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => {
  void (async () => {
    await worker.close();
    await store.close();
    process.stdout.write(lines.join('\n') + '\nbye\n');
    process.exit(0);
  })();
});
