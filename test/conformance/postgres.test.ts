import { postgresStore } from '../../src/store/postgres/index.js';
import { serviceAvailable } from '../helpers/services.js';
import { POSTGRES_URL, dropSchema, freshSchema } from '../postgres/helpers.js';
import { describeStore } from './suite.js';

const schema = freshSchema('conf');
const up = await serviceAvailable('postgres');

describeStore({
  name: 'postgres',
  create: () => postgresStore({ connectionString: POSTGRES_URL, schema }),
  destroy: () => dropSchema(schema),
  unavailable: up ? undefined : `PostgreSQL is not reachable at ${POSTGRES_URL}`,
});
