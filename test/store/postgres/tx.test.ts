/** Enqueue inside the caller's transaction: visible (and announced) on COMMIT, gone on ROLLBACK. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../../src/index.js';
import { postgresStore, type PostgresStore } from '../../../src/store/postgres/index.js';
import { serviceAvailable } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import { POSTGRES_URL, dropSchema, freshSchema } from '../../helpers/postgres.js';

const available = await serviceAvailable('postgres');
const schema = freshSchema('tx');

describe.skipIf(!available)('postgres: enqueue inside the caller transaction', () => {
  let app: PostgresStore; // the process that enqueues
  let workers: PostgresStore; // another process's store, where workers claim and listen
  let pool: pg.Pool;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 3 });
    app = postgresStore({ pool, schema });
    workers = postgresStore({ connectionString: POSTGRES_URL, schema });
    await app.init();
    await workers.init();
    await pool.query(`CREATE TABLE "${schema}".orders (id text PRIMARY KEY)`);
  });
  afterAll(async () => {
    await app?.close();
    await workers?.close();
    await pool?.end();
    if (available) await dropSchema(schema);
  });

  const claim = (queue: string) =>
    workers.claim({ queue, workerId: 'w', limit: 10, leaseMs: 10_000, now: Date.now() });

  /** Resolves once the listener delivered a wake-up for `marker`, sent after everything before it. */
  async function flushNotifications(): Promise<void> {
    let seen = false;
    const off = workers.subscribe('marker', () => (seen = true));
    await waitFor(() => {
      // Re-send until the listener (which may still be connecting) hears one.
      void pool.query('SELECT pg_notify($1, $2)', [`bulwark_${schema}`, 'marker']);
      return seen;
    }, 'the marker notification');
    off();
  }

  it('a job added in a transaction is visible to workers, and wakes them, only after COMMIT', async () => {
    const queue = new Queue<{ order: string }>('emails-commit', { store: app });
    let wakes = 0;
    const off = workers.subscribe(queue.name, () => wakes++);
    await flushNotifications();
    wakes = 0;

    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${schema}".orders (id) VALUES ('o-1')`);
      const job = await queue.add({ order: 'o-1' }, { id: 'mail-o-1' }, { tx: client });
      expect(job.state).toBe('waiting');
      // Not committed: other connections see nothing, claims find nothing, no one was woken.
      expect(await workers.getJob(queue.name, 'mail-o-1')).toBeNull();
      expect(await claim(queue.name)).toEqual([]);
      expect((await workers.counts(queue.name, Date.now())).waiting).toBe(0);
      await flushNotifications();
      expect(wakes).toBe(0);
      // The transaction itself sees its job.
      const inside = await client.query(`SELECT id FROM "${schema}".jobs WHERE queue = $1`, [queue.name]);
      expect(inside.rows).toEqual([{ id: 'mail-o-1' }]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await waitFor(() => wakes > 0, 'a wake-up after COMMIT');
    const claimed = await claim(queue.name);
    expect(claimed.map((j) => [j.id, JSON.parse(j.payload)])).toEqual([['mail-o-1', { order: 'o-1' }]]);
    off();
  });

  it('a job added in a transaction that rolls back is gone, with the rest of the transaction', async () => {
    const queue = new Queue<{ order: string }>('emails-rollback', { store: app });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${schema}".orders (id) VALUES ('o-2')`);
      await queue.addBulk(
        [
          { payload: { order: 'o-2' }, options: { id: 'mail-o-2' } },
          { payload: { order: 'o-2' }, options: { id: 'sms-o-2', delayMs: 1000 } },
        ],
        { tx: client },
      );
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await queue.getJob('mail-o-2')).toBeNull();
    expect(await queue.getJob('sms-o-2')).toBeNull();
    expect(await queue.size()).toBe(0);
    expect(await claim(queue.name)).toEqual([]);
    const orders = await pool.query(`SELECT id FROM "${schema}".orders WHERE id = 'o-2'`);
    expect(orders.rowCount).toBe(0);
  });

  it('an idempotent id inside the transaction returns the committed job', async () => {
    const queue = new Queue<string>('emails-dup', { store: app });
    await queue.add('first', { id: 'same' });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const again = await queue.add('second', { id: 'same' }, { tx: client });
      expect(again.payload).toBe('first');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect((await queue.counts()).waiting).toBe(1);
  });

  it('rejects a tx that is not a client, and writes nothing', async () => {
    const queue = new Queue<string>('emails-bad-tx', { store: app });
    await expect(queue.add('x', { id: 'x' }, { tx: { nope: true } })).rejects.toMatchObject({
      code: 'VALIDATION',
      path: 'ctx.tx',
    });
    expect(await queue.getJob('x')).toBeNull();
  });
});
