/** Store factory for the crash test: `arg` is the SQLite file path. */
import { sqliteStore, type Store } from '../../../src/index.js';

export default function createStore(arg: string): Store {
  return sqliteStore({ path: arg });
}
