import { postgresStore } from '../../src/store/postgres/index.js';
import { serviceAvailable } from '../helpers/services.js';
import { POSTGRES_URL, dropSchema, freshSchema } from '../postgres/helpers.js';
import { describeStore } from './suite.js';
import { describe, it } from 'vitest';

const schema = freshSchema('conf');

if (await serviceAvailable('postgres')) {
  describeStore({
    name: 'postgres',
    create: () => postgresStore({ connectionString: POSTGRES_URL, schema }),
    destroy: () => dropSchema(schema),
  });
} else {
  describe.skip('store conformance: postgres (server not reachable)', () => it('skipped', () => {}));
}
