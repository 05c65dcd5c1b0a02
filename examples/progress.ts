/**
 * Run with: npx tsx examples/progress.ts
 * A handler reports progress; it is saved under the lease, emitted as `job:progress`, and getJob
 * (what the dashboard's job view reads) shows it while the job runs.
 */
import { Queue, Worker, sqliteStore } from '../src/index.js';

const store = sqliteStore({ path: ':memory:' });
const imports = new Queue<{ rows: number }>('imports', { store });
const job = await imports.add({ rows: 5 });

const worker = new Worker(imports, async (ctx) => {
  for (let row = 1; row <= ctx.payload.rows; row++) {
    await new Promise((r) => setTimeout(r, 20)); // import one row
    await ctx.progress({ row, of: ctx.payload.rows, percent: Math.round((row / ctx.payload.rows) * 100) });
  }
  return { imported: ctx.payload.rows };
});
worker.on('job:progress', ({ job, progress }) => console.log(`job:progress ${job.id.slice(0, 8)}`, progress));

await new Promise((r) => setTimeout(r, 50));
console.log('getJob while running:', (await imports.getJob(job.id))?.progress);
await worker.next('job:completed');
await worker.close();
const done = await imports.getJob(job.id);
console.log('getJob when done:', done?.state, done?.progress, done?.result);
if (done?.state !== 'completed') process.exitCode = 1;
await store.close();
