/** Store factory for the crash test: `arg` is JSON `{ "url": <connection URL>, "schema": <schema> }`. */
import { postgresStore } from '../../../src/store/postgres/index.js';
import type { Store } from '../../../src/index.js';

export default function createStore(arg: string): Store {
  const { url, schema } = JSON.parse(arg) as { url: string; schema: string };
  return postgresStore({ connectionString: url, schema, maxConnections: 4 });
}
