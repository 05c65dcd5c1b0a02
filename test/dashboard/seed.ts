/**
 * Jobs in every state on any store, for the dashboard's tests, screenshots and bench: completed
 * (with results and durations), dead (with stacks), retried, delayed, active (held by a worker that
 * waits for `release()`), cancelled, a large payload, progress and a checkpoint; a queue paused by
 * an auth failure, one paused by an operator, one throttled by a rate limit.
 */
import { Queue, RateLimitError, ValidationError, Worker, type Store } from '../../src/index.js';
import { waitFor } from '../helpers/wait.js';

export interface Seeded {
  emails: Queue<{ to: string; n: number }>;
  /** The worker holding the active job; `release()` lets it finish. */
  holder: Worker<{ pages: number }>;
  release(): void;
  close(): Promise<void>;
}

export async function seed(store: Store): Promise<Seeded> {
  const emails = new Queue<{ to: string; n: number }>('emails', { store });
  await emails.addBulk(
    Array.from({ length: 60 }, (_, n) => ({
      payload: { to: `user${n}@example.com`, n },
      options: {
        id: `e${String(n).padStart(3, '0')}`,
        name: n % 2 ? 'welcome' : 'digest',
        maxAttempts: 2,
        backoff: { delayMs: 0 },
      },
    })),
  );
  const worker = new Worker(
    emails,
    async (ctx) => {
      await new Promise((r) => setTimeout(r, 2 + (ctx.payload.n % 7)));
      if (ctx.payload.n % 10 === 3) throw new ValidationError(`mailbox user${ctx.payload.n} does not exist`);
      if (ctx.payload.n % 10 === 7)
        throw Object.assign(new Error(`SMTP 421 try again later (${ctx.payload.n})`), { code: 'ECONNRESET' });
      await ctx.checkpoint({ sent: true });
      return { messageId: `<${ctx.payload.n}@mail>` };
    },
    { concurrency: 8, pollIntervalMs: 20 },
  );
  await waitFor(
    async () => {
      const c = await emails.counts();
      return c.completed + c.dead === 60;
    },
    'the emails to settle',
    30_000,
  );
  await worker.close();
  // A retried job waiting for its next attempt, a delayed one, a cancelled one, one with a large payload.
  await emails.add({ to: 'later@example.com', n: 1000 }, { id: 'later', delayMs: 3_600_000 });
  await emails.add({ to: 'gone@example.com', n: 1001 }, { id: 'gone' });
  await emails.cancel('gone', 'the user unsubscribed');
  await emails.add({ to: 'big@example.com', n: 1002, body: 'x'.repeat(10) } as { to: string; n: number }, {
    id: 'big',
    metadata: { lines: Array.from({ length: 80 }, (_, i) => `line ${i}`) },
  });

  // An active job with progress, held until release().
  const reports = new Queue<{ pages: number }>('reports', { store });
  await reports.add({ pages: 40 }, { id: 'r1', name: 'monthly' });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const holder = new Worker(
    reports,
    async (ctx) => {
      await ctx.progress({ done: 12, total: 40 });
      await held;
      return { pages: 40 };
    },
    { pollIntervalMs: 20, leaseMs: 60_000 },
  );
  await waitFor(async () => (await reports.counts()).active === 1, 'the report to start');
  await waitFor(async () => (await reports.getJob('r1'))?.progress !== null, 'progress');

  // Paused by an auth failure, paused by an operator, throttled by a rate limit.
  const crm = new Queue('crm-sync', { store });
  await crm.add({ account: 7 }, { id: 'c1' });
  await crm.pause('auth: 401 Unauthorized: token expired');
  const exports = new Queue('exports', { store });
  await exports.add({ kind: 'csv' }, { id: 'x1' });
  await exports.pause('dashboard: disk maintenance');
  const webhooks = new Queue('webhooks', { store });
  await webhooks.add({ url: 'https://example.com/hook' }, { id: 'w1' });
  await webhooks.throttle(Date.now() + 3_600_000);
  void RateLimitError;

  return {
    emails,
    holder,
    release,
    close: async () => {
      release();
      await holder.close();
    },
  };
}
