import { SqliteStore, type SqliteStoreOptions } from './store.js';

export { SqliteStore, type SqliteStoreOptions };

/** The embedded default store: a SQLite file (`./bulwark.db` unless told otherwise) or `:memory:`. */
export function sqliteStore(options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(options);
}
