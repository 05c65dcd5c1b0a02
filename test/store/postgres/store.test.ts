/** Postgres-specific behaviour: options, concurrent migrations, the listener's reconnect, indexes. */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from '../../../src/index.js';
import { postgresStore, type PostgresStoreOptions } from '../../../src/store/postgres/index.js';
import { migrations } from '../../../src/store/postgres/migrations.js';
import { serviceAvailable } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import { POSTGRES_URL, dropSchema, freshSchema } from '../../helpers/postgres.js';

const available = await serviceAvailable('postgres');
const schemas: string[] = [];
const schema = (tag: string): string => {
  const s = freshSchema(tag);
  schemas.push(s);
  return s;
};

afterAll(async () => {
  if (available) for (const s of schemas) await dropSchema(s);
});

describe('postgres store options', () => {
  it('rejects bad options with a ValidationError, before connecting', () => {
    const bad: unknown[] = [
      {},
      { connectionString: POSTGRES_URL, pool: new pg.Pool({ connectionString: POSTGRES_URL }) },
      { connectionString: POSTGRES_URL, schema: 'Has-Caps' },
      { connectionString: POSTGRES_URL, schema: 'x; DROP TABLE jobs' },
      { connectionString: POSTGRES_URL, schema: '1abc' },
      { connectionString: POSTGRES_URL, maxConnections: 0 },
      { connectionString: POSTGRES_URL, listen: 'yes' },
      { connectionString: POSTGRES_URL, searchIndex: 'yes' },
      { connectionString: POSTGRES_URL, surprise: true },
      { pool: { query: 1 } },
    ];
    for (const o of bad) {
      let err: { code?: string; message?: string } | undefined;
      try {
        postgresStore(o as PostgresStoreOptions);
      } catch (e) {
        err = e as typeof err;
      }
      expect(err?.code, JSON.stringify(o)).toBe('VALIDATION');
      expect(err?.message).toMatch(/^\[bulwark\] invalid postgres store options/);
    }
  });
});

describe.skipIf(!available)('postgres store on a server', () => {
  it('migrates once when many stores start at once, creating the schema', async () => {
    const s = schema('mig');
    const stores = Array.from({ length: 6 }, () =>
      postgresStore({ connectionString: POSTGRES_URL, schema: s, maxConnections: 1, listen: false }),
    );
    await Promise.all(stores.map((st) => st.init()));
    await stores[0]!.init(); // idempotent
    const check = new pg.Client({ connectionString: POSTGRES_URL });
    await check.connect();
    try {
      const { rows } = await check.query(`SELECT version FROM "${s}".migrations ORDER BY version`);
      expect(rows.map((r: { version: number }) => r.version)).toEqual(migrations.map((m) => m.version));
    } finally {
      await check.end();
    }
    await Promise.all(stores.map((st) => st.close()));
  });

  it('searchIndex: a trigram index on payloads, made once by stores starting together, read by a search', async () => {
    const s = schema('trgm');
    const stores = Array.from({ length: 3 }, () =>
      postgresStore({
        connectionString: POSTGRES_URL,
        schema: s,
        maxConnections: 1,
        listen: false,
        searchIndex: true,
      }),
    );
    await Promise.all(stores.map((st) => st.init()));
    const q = new Queue<{ to: string }>('mail', { store: stores[0]! });
    await q.addBulk(Array.from({ length: 2000 }, (_, i) => ({ payload: { to: `user${i}@example.com` } })));
    const check = new pg.Client({ connectionString: POSTGRES_URL });
    await check.connect();
    try {
      const { rows } = await check.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1`, [s]);
      expect(rows.map((r: { indexname: string }) => r.indexname)).toContain('jobs_search_trgm');
    } finally {
      await check.end();
    }
    const found = await q.list({ search: 'user1234@example.com' });
    expect(found.map((j) => j.payload.to)).toEqual(['user1234@example.com']);
    await Promise.all(stores.map((st) => st.close()));
  });

  it("uses the caller's pool and leaves it open on close", async () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    const store = postgresStore({ pool, schema: schema('pool') });
    const q = new Queue<number>('q', { store });
    await q.add(1, { id: 'one' });
    expect((await q.getJob('one'))!.payload).toBe(1);
    await store.close();
    await store.close(); // idempotent
    await expect(q.getJob('one')).rejects.toMatchObject({ code: 'STORE' });
    expect((await pool.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    await pool.end();
  });

  it('the listener reconnects after its connection is killed, and wakes subscribers', async () => {
    const s = schema('listen');
    const errors: Error[] = [];
    const store = postgresStore({
      connectionString: POSTGRES_URL,
      schema: s,
      reconnectMaxDelayMs: 100,
      onError: (e) => errors.push(e),
    });
    const other = postgresStore({ connectionString: POSTGRES_URL, schema: s, listen: false });
    await store.init();
    const q = new Queue<number>('q', { store: other });
    let wakes = 0;
    const off = store.subscribe('q', () => wakes++);
    await waitFor(() => wakes > 0, 'the first LISTEN'); // subscribers are woken once LISTEN is in place
    wakes = 0;
    await q.add(1);
    await waitFor(() => wakes > 0, 'a wake-up for an add in another store');

    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'bulwark-listener' AND query = $1`,
      [`LISTEN "bulwark_${s}"`],
    );
    await admin.end();
    expect(killed.rowCount).toBe(1);
    wakes = 0;
    // After the reconnect every subscriber is woken once (notifications may have been lost meanwhile)…
    await waitFor(() => wakes > 0, 'a wake-up after the reconnect');
    expect(errors.length).toBeGreaterThan(0);
    // …and notifications flow again.
    wakes = 0;
    await q.add(2);
    await waitFor(() => wakes > 0, 'a wake-up after the reconnect for a new add');
    off();
    await store.close();
    await other.close();
  });

  it('an id given twice in one add, or by two concurrent adds, makes one job', async () => {
    const s = schema('dup');
    const a = postgresStore({ connectionString: POSTGRES_URL, schema: s, listen: false });
    const b = postgresStore({ connectionString: POSTGRES_URL, schema: s, listen: false });
    const qa = new Queue<string>('d', { store: a });
    const qb = new Queue<string>('d', { store: b });
    const twice = await qa.addBulk([
      { payload: 'first', options: { id: 'x' } },
      { payload: 'second', options: { id: 'x' } },
    ]);
    expect(twice.map((j) => j.payload)).toEqual(['first', 'first']);
    const ids = Array.from({ length: 200 }, (_, i) => `r${i}`);
    const [fromA, fromB] = await Promise.all([
      qa.addBulk(ids.map((id) => ({ payload: 'a', options: { id } }))),
      qb.addBulk(ids.map((id) => ({ payload: 'b', options: { id } }))),
    ]);
    // Whoever inserted a row, both callers report that row's payload.
    for (let i = 0; i < ids.length; i++) {
      const stored = (await qa.getJob(ids[i]!))!.payload;
      expect([fromA[i]!.payload, fromB[i]!.payload]).toEqual([stored, stored]);
    }
    expect((await qa.counts()).waiting).toBe(201);
    await a.close();
    await b.close();
  });

  it('claims read the ready-jobs index only, however many finished jobs there are', async () => {
    const s = schema('idx');
    const store = postgresStore({ connectionString: POSTGRES_URL, schema: s, listen: false });
    const q = new Queue<number>('big', { store });
    await q.add(0, { id: 'warm' });
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      // 200,000 finished jobs, then a handful of waiting ones.
      await admin.query(
        `INSERT INTO "${s}".jobs (queue, id, state, priority, run_at, max_attempts, backoff, correlation_id,
            metadata, payload, created_at, updated_at, finished_at)
         SELECT 'big', 'done-' || g, 'completed', 0, g, 3, '{}', 'c', '{}', '1', g, g, g
           FROM generate_series(1, 200000) g`,
      );
      await admin.query(`ANALYZE "${s}".jobs`);
      await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ payload: i })));
      const plan = await admin.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
         SELECT ctid FROM "${s}".jobs WHERE queue = 'big' AND state = 'waiting'
          ORDER BY priority DESC, run_at, seq LIMIT 10 FOR UPDATE SKIP LOCKED`,
      );
      const text = JSON.stringify(plan.rows[0]!['QUERY PLAN']);
      expect(text).toContain('"Index Name":"jobs_claim"');
      const buffers = (
        JSON.parse(text) as { Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }[]
      )[0]!.Plan;
      // A handful of pages, not the thousands the finished rows fill.
      expect(buffers['Shared Hit Blocks'] + buffers['Shared Read Blocks']).toBeLessThan(50);
    } finally {
      await admin.end();
    }
    const claimed = await store.claim({
      queue: 'big',
      workerId: 'w',
      limit: 50,
      leaseMs: 1000,
      now: Date.now(),
    });
    expect(claimed).toHaveLength(21);
    expect(await q.counts()).toMatchObject({ active: 21, completed: 200_000 });
    await store.close();
  }, 60_000);

  it('retention cleanup deletes in batches until the rule holds', async () => {
    const s = schema('ret');
    const store = postgresStore({ connectionString: POSTGRES_URL, schema: s, listen: false });
    const q = new Queue<number>('r', { store });
    await q.add(0, { id: 'warm' });
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      await admin.query(
        `INSERT INTO "${s}".jobs (queue, id, state, priority, run_at, max_attempts, backoff, correlation_id,
            metadata, payload, created_at, updated_at, finished_at)
         SELECT 'r', 'd' || g, CASE WHEN g % 2 = 0 THEN 'completed' ELSE 'dead' END, 0, g, 3, '{}', 'c', '{}',
                '1', g, g, g
           FROM generate_series(1, 5000) g`,
      );
    } finally {
      await admin.end();
    }
    // 2500 completed (finished at 2, 4, … 5000), 2500 dead.
    // More than one batch (1000) to delete for each rule.
    expect(await store.cleanup('r', [{ state: 'completed', maxCount: 10 }], Date.now())).toBe(2490);
    const kept = await q.list({ states: ['completed'], order: 'asc', limit: 100 });
    expect(kept.map((j) => j.id)).toEqual(Array.from({ length: 10 }, (_, i) => `d${4982 + 2 * i}`));
    expect(await store.cleanup('r', [{ state: 'dead', maxAgeMs: 0 }], 2001)).toBe(1000);
    expect((await q.counts()).dead).toBe(1500);
    await store.close();
  });
});
