import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceAvailable } from '../helpers/services.js';
import { POSTGRES_URL, dropSchema, freshSchema } from '../helpers/postgres.js';
import { describeCrash } from './crash.js';

describeCrash({
  name: 'postgres',
  factory: join(dirname(fileURLToPath(import.meta.url)), 'stores/postgres.ts'),
  arg: () => JSON.stringify({ url: POSTGRES_URL, schema: freshSchema('crash') }),
  available: () => serviceAvailable('postgres'),
  cleanup: async (arg) => {
    if (await serviceAvailable('postgres')) await dropSchema((JSON.parse(arg) as { schema: string }).schema);
  },
});
