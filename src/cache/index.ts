/**
 * `bulwark/cache`: an in-process cache with TTLs, entry and byte limits, an adaptive admission policy,
 * single-flight loading, stale-while-revalidate and memoize. Loads no logger, metrics library or
 * database driver.
 */
export { Cache, createCache } from './cache.js';
export { CacheEntryTooLargeError, isCacheEntryTooLargeError } from './errors.js';
export { memoize, type Memoized, type MemoizeOptions } from './memoize.js';
export { POLICY_NAMES, type PolicyName } from './policies/index.js';
export { estimateSize } from './sizing.js';
export {
  SharedCache,
  createSharedCache,
  type SharedCacheStats,
  type SharedGetOrLoadOptions,
  type SharedSetOptions,
} from './shared/shared.js';
export type { SharedCacheOptions } from './shared/options.js';
export type { SharedRedisClient } from './shared/client.js';
export type {
  CacheLike,
  CacheOptions,
  CacheStats,
  EntryInfo,
  EvictionReason,
  GetOrLoadOptions,
  LoadContext,
  Loader,
  MetricSample,
  SetOptions,
} from './types.js';
