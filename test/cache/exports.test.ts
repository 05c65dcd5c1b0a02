import { describe, expect, it } from 'vitest';
import * as cache from '../../src/cache/index.js';

describe('cache module surface', () => {
  it('exports the runtime names src/index.ts re-exports', () => {
    for (const name of [
      'Cache',
      'createCache',
      'memoize',
      'estimateSize',
      'CacheEntryTooLargeError',
      'isCacheEntryTooLargeError',
      'POLICY_NAMES',
    ]) {
      expect(cache, name).toHaveProperty(name);
    }
    expect(cache.POLICY_NAMES).toEqual(['adaptive', 'lru', 'lfu', 'fifo']);
    expect(cache.createCache({ maxEntries: 1 })).toBeInstanceOf(cache.Cache);
  });
});
