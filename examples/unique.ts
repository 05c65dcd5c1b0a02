/**
 * Run with: npx tsx examples/unique.ts
 * One job per key: an idempotent id, drop, debounce and throttle, and what each add returns.
 */
import { Queue, sqliteStore } from '../src/index.js';

const store = sqliteStore({ path: ':memory:' });
const q = new Queue<{ user: string; text?: string }>('sync', { store });
const show = (label: string, job: { id: string; outcome?: string; payload: unknown }): void =>
  console.log(
    `${label.padEnd(34)} ${String(job.outcome).padEnd(10)} ${job.id} ${JSON.stringify(job.payload)}`,
  );

// An idempotent id: the same id is the same job, forever (until it is deleted).
show('id "welcome-7"', await q.add({ user: '7' }, { id: 'welcome-7' }));
show('id "welcome-7" again', await q.add({ user: '7' }, { id: 'welcome-7' }));

// drop: while user 7's sync is waiting or running, another one is dropped.
show('drop "sync-7"', await q.add({ user: '7' }, { unique: { key: 'sync-7' } }));
show('drop "sync-7" again', await q.add({ user: '7' }, { unique: { key: 'sync-7' } }));

// debounce: the waiting job takes the newest payload and runs 500 ms after the last add.
const debounce = { key: 'draft-7', mode: 'debounce', delayMs: 500 } as const;
show('debounce "draft-7" "h"', await q.add({ user: '7', text: 'h' }, { unique: debounce }));
show('debounce "draft-7" "hello"', await q.add({ user: '7', text: 'hello' }, { unique: debounce }));

// throttle: at most one per key per minute.
const throttle = { key: 'report-7', mode: 'throttle', windowMs: 60_000 } as const;
show('throttle "report-7"', await q.add({ user: '7' }, { unique: throttle }));
show('throttle "report-7" again', await q.add({ user: '7' }, { unique: throttle }));

const size = await q.size();
console.log(`jobs in the queue: ${size}`);
if (size !== 4) process.exitCode = 1;
await store.close();
