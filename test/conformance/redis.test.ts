import { describe, it } from 'vitest';
import { redisStore } from '../../src/store/redis/index.js';
import { REDIS_URL, serviceAvailable } from '../helpers/services.js';
import { deletePrefix, freshPrefix } from '../redis/keys.js';
import { describeStore } from './suite.js';

const prefix = freshPrefix('conf');

if (await serviceAvailable('redis')) {
  describeStore({
    name: 'redis',
    create: () => redisStore({ url: REDIS_URL, prefix }),
    destroy: () => deletePrefix(prefix),
  });
} else {
  describe.skip('store conformance: redis (server not reachable)', () => it('runs against Redis', () => {}));
}
