import { RedisStore } from './store.js';
import type { RedisStoreOptions } from './options.js';

export { RedisStore, type RedisStoreOptions };
export type { RedisClient } from './scripts.js';

/**
 * The Redis/Valkey store (needs the optional peer `ioredis`): every worker of every process that
 * points at the same Redis and prefix shares the queues. Use `noeviction` and AOF persistence.
 */
export function redisStore(options: RedisStoreOptions = {}): RedisStore {
  return new RedisStore(options);
}
