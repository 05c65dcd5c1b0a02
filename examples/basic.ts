/**
 * Run with: npx tsx examples/basic.ts
 * A queue on the embedded SQLite store, a worker, and what each error class does to a job.
 */
import { Queue, RateLimitError, ValidationError, Worker, sqliteStore } from '../src/index.js';

interface Email {
  to: string;
  subject: string;
}

const store = sqliteStore({ path: ':memory:' }); // or a file: sqliteStore({ path: './bulwark.db' })
const emails = new Queue<Email>('emails', {
  store,
  defaults: {
    maxAttempts: 5,
    backoff: { type: 'exponential', delayMs: 50, maxDelayMs: 2000 },
    timeoutMs: 10_000,
  },
});

// Idempotent ids: adding "welcome-42" twice gives back the same job.
await emails.add({ to: 'ada@example.com', subject: 'Welcome' }, { id: 'welcome-42', priority: 10 });
await emails.add({ to: 'ada@example.com', subject: 'Welcome' }, { id: 'welcome-42' });
await emails.addBulk([
  { payload: { to: 'bob@example.com', subject: 'Digest' }, options: { delayMs: 100 } },
  { payload: { to: 'not-an-address', subject: 'Oops' } },
]);

const worker = new Worker<Email>(
  emails,
  async (ctx) => {
    ctx.log.info({ to: ctx.payload.to }, 'sending');
    if (!ctx.payload.to.includes('@')) throw new ValidationError(`bad address ${ctx.payload.to}`); // → dead-letter now
    // A snooze gives its attempt back, so count snoozes (not attempts) to tell the first try.
    if (ctx.job.snoozes === 0 && ctx.payload.subject === 'Digest') {
      throw new RateLimitError('429 from the provider', { retryAfterMs: 200 }); // → snoozed, no attempt used
    }
    await ctx.progress(100);
    return { messageId: `<${ctx.job.id}@example.com>` };
  },
  { concurrency: 4 },
);

worker.on('job:completed', ({ job, result }) => console.log('completed', job.id, result));
worker.on('job:snoozed', ({ job, category, delayMs }) =>
  console.log('snoozed', job.id, category, `${delayMs} ms`),
);
worker.on('job:dead', ({ job, reason }) => console.log('dead', job.id, reason));

while ((await emails.size()) > 0) await new Promise((r) => setTimeout(r, 50));
console.log('counts', await emails.counts());
console.log(
  'dead letters',
  (await emails.dlq.list()).map((j) => `${j.id}: ${j.reason}`),
);

await worker.close(); // stop claiming, drain, abort after the grace period
await store.close();
