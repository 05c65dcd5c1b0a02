/**
 * A worker process of the chaos suite (forked by the harness). argv[2] is a JSON `WorkerConfig`.
 *
 * Its handler ignores the abort signal (the worst case for concurrency and double runs) and does what
 * the job's payload says: sleep `ms` (`slowMs` on its first `slowAttempts` attempts), fail transiently
 * on its first `fail` attempts, report progress `progress` times. Every handler start and end, and every outcome the store accepted or refused, is
 * appended to this process's attempts log with a synchronous write, so a SIGKILL loses nothing written:
 *
 *   S <id> <fence> <attempt> <t>       the handler started
 *   E <id> <fence> <t> ok|late|fail|lost|err  it returned (late: after its signal aborted), failed
 *                                     as planned, lost its lease (a refused progress write), or
 *                                     threw something else (then also:)
 *   U <id> <fence> <t> <error>         the unplanned error
 *   A <id> <fence> <t>                 the store accepted the completion (job:completed)
 *   X <id> <fence> <t>                 the store refused an outcome (job:stale)
 *   D <id> <fence> <t>                 dead-lettered
 *   W <t> <during> <message>           worker:error
 *
 * Times are ms since the epoch with sub-ms precision (`now()`), comparable across processes.
 * IPC: `{ cmd: 'block', ms }` busy-loops the event loop; `{ cmd: 'close' }` closes and exits.
 */
import { openSync, writeSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { Queue, TransientError, Worker } from '../../src/index.js';
import { now, type ChaosPayload, type WorkerConfig } from './protocol.js';
import { openStore } from './stores.js';

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const fd = openSync(config.log, 'a');
const log = (line: string): void => {
  writeSync(fd, line + '\n');
};
const t = (): string => now().toFixed(1);

const store = openStore(config.spec);
if (config.maxPageCount !== undefined) {
  (store as unknown as { db: BetterSqlite3.Database }).db.pragma(`max_page_count = ${config.maxPageCount}`);
}
const queue = new Queue<ChaosPayload>(config.queue, { store });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const worker = new Worker<ChaosPayload>(
  queue,
  async (ctx) => {
    const { id, fence, attempts } = ctx.job;
    log(`S ${id} ${fence} ${attempts} ${t()}`);
    let outcome = 'err';
    try {
      const p = ctx.payload;
      const ms = p.slowMs !== undefined && attempts <= (p.slowAttempts ?? 0) ? p.slowMs : p.ms;
      const steps = p.progress ?? 0;
      for (let i = 0; i < steps; i++) {
        await sleep(ms / (steps + 1));
        await ctx.progress(i);
      }
      await sleep(ms / (steps + 1));
      if (p.fail !== undefined && attempts <= p.fail) {
        outcome = 'fail';
        throw new TransientError(`planned failure ${attempts}`);
      }
      outcome = ctx.signal.aborted ? 'late' : 'ok';
      return { fence, pid: process.pid };
    } catch (e) {
      // A progress write refused once the lease was lost (another worker has the job): expected.
      if (outcome === 'err' && (e as Error).name === 'LeaseLostError') outcome = 'lost';
      // Not planned: a store call of the handler (progress) failed.
      if (outcome === 'err') log(`U ${id} ${fence} ${t()} ${String(e).replace(/\s+/g, ' ').slice(0, 300)}`);
      throw e;
    } finally {
      log(`E ${id} ${fence} ${t()} ${outcome}`);
    }
  },
  {
    concurrency: config.concurrency,
    leaseMs: config.leaseMs,
    heartbeatMs: config.heartbeatMs,
    reapIntervalMs: config.reapIntervalMs,
    pollIntervalMs: config.pollIntervalMs,
    retention: false,
    schedules: false,
    shutdownGraceMs: 2000,
    workerId: config.name,
  },
);
worker.on('job:completed', ({ job }) => log(`A ${job.id} ${job.fence} ${t()}`));
worker.on('job:stale', ({ job }) => log(`X ${job.id} ${job.fence} ${t()}`));
worker.on('job:dead', ({ job }) => log(`D ${job.id} ${job.fence} ${t()}`));
worker.on('worker:error', ({ error, during }) =>
  log(`W ${t()} ${during} ${error.message.replace(/\s+/g, ' ').slice(0, 300)}`),
);

process.on('message', (m: { cmd: string; ms?: number }) => {
  if (m.cmd === 'block') {
    // A long GC pause or a CPU-bound handler: nothing else in this process runs meanwhile.
    const until = Date.now() + m.ms!;
    while (Date.now() < until) {
      /* busy */
    }
    process.send?.({ cmd: 'blocked' });
  } else if (m.cmd === 'close') {
    void worker
      .close({ graceMs: 1000 })
      .then(() => store.close())
      .finally(() => process.exit(0));
  }
});
process.send?.({ cmd: 'ready', pid: process.pid });
