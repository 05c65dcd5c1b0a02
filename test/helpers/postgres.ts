/** Fresh schemas on the test database, one per test file, dropped afterwards. */
import pg from 'pg';
import { POSTGRES_URL } from './services.js';

export { POSTGRES_URL };

let n = 0;
/** A schema name no other test file (or run) uses. */
export const freshSchema = (tag: string): string =>
  `t_${tag}_${process.pid}_${Date.now().toString(36)}_${(n++).toString(36)}`;

export async function dropSchema(schema: string, url = POSTGRES_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
