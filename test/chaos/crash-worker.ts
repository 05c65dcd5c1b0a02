/**
 * A worker process for the crash test: processes the `crash` queue of the store made by a factory
 * module and appends one line per settled attempt to a log, with synchronous writes so a SIGKILL
 * loses nothing written.
 * argv: <store factory module path> <store arg> <log path> <name>
 */
import { openSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Queue, Worker, type Store } from '../../src/index.js';

const [factoryPath, storeArg, logPath, name] = process.argv.slice(2) as [string, string, string, string];
const factory = (await import(pathToFileURL(factoryPath).href)) as { default: (arg: string) => Store };
const log = openSync(logPath, 'a');
const store = factory.default(storeArg);
const queue = new Queue<number>('crash', { store });
const worker = new Worker(
  queue,
  async (ctx) => {
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
    return { by: name, pid: process.pid, fence: ctx.job.fence };
  },
  {
    concurrency: 8,
    leaseMs: 1000,
    heartbeatMs: 250,
    reapIntervalMs: 200,
    pollIntervalMs: 50,
    retention: false,
  },
);
worker.on('job:completed', ({ job }) => writeSync(log, `${job.id} ${job.fence} ok ${name}\n`));
worker.on('job:stale', ({ job }) => writeSync(log, `${job.id} ${job.fence} stale ${name}\n`));
worker.on('worker:error', ({ error }) => writeSync(log, `# error ${error.message}\n`));
process.on('SIGTERM', () => {
  void worker
    .close()
    .then(() => store.close())
    .then(() => process.exit(0));
});
process.send?.('ready');
