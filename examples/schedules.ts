/**
 * Run with: npx tsx examples/schedules.ts
 * A cron schedule fired by two workers at once (as two processes would): one job per tick, never two.
 */
import { Queue, Worker, sqliteStore } from '../src/index.js';

const store = sqliteStore({ path: ':memory:' });
const reports = new Queue<{ report: string }>('reports', { store });

// Every process may declare the schedule at start: declaring it again keeps its last tick.
await reports.schedule('heartbeat', {
  cron: '* * * * * *', // every second (5 fields for minutes, 6 with seconds first)
  tz: 'Europe/Paris',
  payload: { report: 'heartbeat' },
  catchUp: 'latest', // after downtime, run the newest missed tick once
});

const ran: string[] = [];
const handler = (ctx: { job: { id: string } }): void => {
  ran.push(ctx.job.id);
};
const workers = [new Worker(reports, handler), new Worker(reports, handler)];

await new Promise((resolve) => setTimeout(resolve, 3200));
await Promise.all(workers.map((w) => w.close()));

const ids = new Set(ran);
console.log(`ticks run: ${ran.length}, distinct: ${ids.size}`);
for (const id of ids) console.log(' ', id);
console.log(
  'schedules:',
  (await reports.schedules()).map((s) => `${s.key} next at ${new Date(s.nextTickAt!).toISOString()}`),
);
if (ran.length !== ids.size || ran.length < 2) process.exitCode = 1;
await store.close();
