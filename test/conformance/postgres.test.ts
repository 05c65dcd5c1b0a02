import pg from 'pg';
import { postgresStore } from '../../src/store/postgres/index.js';
import { serviceAvailable } from '../helpers/services.js';
import { POSTGRES_URL, dropSchema, freshSchema } from '../helpers/postgres.js';
import { describeStore } from './suite.js';

const schema = freshSchema('conf');
const up = await serviceAvailable('postgres');
// The application's own pool: its transactions carry the jobs it enqueues.
const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });

describeStore({
  name: 'postgres',
  create: () => postgresStore({ connectionString: POSTGRES_URL, schema }),
  capabilities: { notify: true, transactionalEnqueue: true, multiProcess: true, durable: true },
  open: () => postgresStore({ connectionString: POSTGRES_URL, schema }),
  async transaction(fn, end) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query(end === 'commit' ? 'COMMIT' : 'ROLLBACK');
      return out;
    } finally {
      client.release();
    }
  },
  destroy: async () => {
    await pool.end();
    await dropSchema(schema);
  },
  unavailable: up ? undefined : `PostgreSQL is not reachable at ${POSTGRES_URL}`,
});
