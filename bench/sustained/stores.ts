/**
 * The stores the sustained suite runs on, as plain data a child process can be handed (argv JSON),
 * and what it measures of them besides jobs: Postgres table and index sizes.
 */
import { performance } from 'node:perf_hooks';
import type { Store } from '../../src/index.js';
import { postgresStore } from '../../src/store/postgres/index.js';
import { redisStore } from '../../src/store/redis/index.js';
import { POSTGRES_URL, REDIS_URL } from '../../test/helpers/services.js';
import { dropSchema, freshSchema, sql } from '../queue/postgres.js';
import { deleteKeys, freshPrefix } from '../queue/redis.js';

export type StoreName = 'postgres' | 'redis';

/** Which store and where in it (schema or key prefix): enough for another process to open the same one. */
export interface StoreSpec {
  store: StoreName;
  /** Postgres schema or Redis key prefix. */
  namespace: string;
}

export const QUEUE = 'sustained';

/** A namespace of its own, dropped by `dropStore`. */
export const freshStore = (store: StoreName, tag: string): StoreSpec => ({
  store,
  namespace: store === 'postgres' ? freshSchema(`sustained_${tag}`) : freshPrefix(`sustained-${tag}`),
});

/** The store, initialized (schema and migrations, or scripts). */
export async function openStore(spec: StoreSpec): Promise<Store> {
  const store =
    spec.store === 'postgres'
      ? postgresStore({ connectionString: POSTGRES_URL, schema: spec.namespace })
      : redisStore({ url: REDIS_URL, prefix: spec.namespace });
  await store.init();
  return store;
}

export async function dropStore(spec: StoreSpec): Promise<void> {
  if (spec.store === 'postgres') await dropSchema(spec.namespace);
  else await deleteKeys([`{${spec.namespace}:*`, `${spec.namespace}:*`]);
}

/**
 * Wall-clock ms with sub-ms resolution, comparable between processes on one machine (each process's
 * `timeOrigin` is read from the same system clock): what a job carries to measure its pickup.
 */
export const wallMs = (): number => performance.timeOrigin + performance.now();

export interface TableSize {
  table: string;
  table_bytes: number;
  index_bytes: number;
  live_rows: number;
  dead_rows: number;
}

/** Every table of the schema: heap (with TOAST and maps) and index bytes, live and dead rows as last counted. */
export async function postgresSizes(schema: string): Promise<TableSize[]> {
  // The statistics collector lags: make it count the last transactions before reading n_live_tup.
  await sql('SELECT pg_stat_force_next_flush()').catch(() => undefined);
  const r = await sql(
    `SELECT c.relname AS table, pg_table_size(c.oid)::bigint AS table_bytes,
            pg_indexes_size(c.oid)::bigint AS index_bytes,
            coalesce(s.n_live_tup, 0)::bigint AS live_rows, coalesce(s.n_dead_tup, 0)::bigint AS dead_rows
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY pg_total_relation_size(c.oid) DESC`,
    [schema],
  );
  return (r.rows as Record<string, string>[]).map((row) => ({
    table: String(row.table),
    table_bytes: Number(row.table_bytes),
    index_bytes: Number(row.index_bytes),
    live_rows: Number(row.live_rows),
    dead_rows: Number(row.dead_rows),
  }));
}
