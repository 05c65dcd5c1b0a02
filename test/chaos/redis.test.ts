import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REDIS_URL, serviceAvailable } from '../helpers/services.js';
import { deletePrefix, freshPrefix } from '../helpers/redis.js';
import { describeCrash } from './crash.js';

describeCrash({
  name: 'redis',
  factory: join(dirname(fileURLToPath(import.meta.url)), 'stores/redis.ts'),
  arg: () => JSON.stringify({ url: REDIS_URL, prefix: freshPrefix('crash') }),
  available: () => serviceAvailable('redis'),
  cleanup: async (arg) => deletePrefix((JSON.parse(arg) as { prefix: string }).prefix),
});
