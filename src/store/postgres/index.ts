/**
 * bulwark on PostgreSQL (`bulwark/postgres`): many workers on many machines share one database.
 * Needs the `pg` package (an optional peer dependency, loaded only by this module).
 */
import { PostgresStore } from './store.js';
import type { PostgresStoreOptions } from './options.js';

export { PostgresStore, type PostgresStoreOptions };
export { migrations, type Migration } from './migrations.js';

/**
 * A store on PostgreSQL. Give `connectionString` (the store makes its own pool) or `pool` (yours).
 * Tables live in `schema` (default `bulwark`), created and migrated by `init()`.
 */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(options);
}
