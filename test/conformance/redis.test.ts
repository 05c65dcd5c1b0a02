import { redisStore } from '../../src/store/redis/index.js';
import { REDIS_URL, serviceAvailable } from '../helpers/services.js';
import { deletePrefix, freshPrefix } from '../helpers/redis.js';
import { describeStore } from './suite.js';

const prefix = freshPrefix('conf');
const up = await serviceAvailable('redis');

describeStore({
  name: 'redis',
  create: () => redisStore({ url: REDIS_URL, prefix }),
  capabilities: { notify: true, transactionalEnqueue: false, multiProcess: true, durable: true },
  open: () => redisStore({ url: REDIS_URL, prefix }),
  destroy: () => deletePrefix(prefix),
  unavailable: up ? undefined : `Redis is not reachable at ${REDIS_URL}`,
});
