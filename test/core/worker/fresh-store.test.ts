/**
 * A worker started on a store nobody has set up yet (a new SQLite file, a new Postgres schema) sets it
 * up before any of its background tasks touch it: the flow sweeper and the reaper used to query the
 * tables before the migrations had run, and reported `no such table` / `schema does not exist` as
 * worker errors at every fresh start (found by the chaos suite).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue, Worker, sqliteStore, type Store } from '../../../src/index.js';
import { postgresStore } from '../../../src/store/postgres/index.js';
import { POSTGRES_URL, dropSchema, freshSchema } from '../../helpers/postgres.js';
import { serviceAvailable } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-fresh-'));
const schema = freshSchema('fresh');
let pgUsed = false;
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (pgUsed) await dropSchema(schema);
});

async function freshStart(store: Store): Promise<string[]> {
  const queue = new Queue<number>('fresh', { store });
  const errors: string[] = [];
  // No schedules: nothing else sets the store up before the background tasks start.
  const worker = new Worker(queue, (ctx) => ctx.payload, {
    schedules: false,
    leaseMs: 1000,
    heartbeatMs: 100,
    reapIntervalMs: 10,
    pollIntervalMs: 50,
  });
  worker.on('worker:error', ({ during, error }) => errors.push(`${during}: ${error.message}`));
  await queue.add(1, { id: 'one' });
  await waitFor(async () => (await queue.getJob('one'))?.state === 'completed', 'the job to complete');
  await worker.close();
  await store.close();
  return errors;
}

describe('a worker on a store nobody has set up yet', () => {
  it('sqlite: no worker error from a background task that ran before the migrations', async () => {
    expect(await freshStart(sqliteStore({ path: join(dir, 'fresh.db') }))).toEqual([]);
  });

  it('postgres: no worker error from a background task that ran before the migrations', async (ctx) => {
    if (!(await serviceAvailable('postgres'))) return ctx.skip();
    pgUsed = true;
    expect(await freshStart(postgresStore({ connectionString: POSTGRES_URL, schema }))).toEqual([]);
  });
});
