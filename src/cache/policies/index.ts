import { createAdaptivePolicy } from './adaptive.js';
import { FifoPolicy } from './fifo.js';
import { LfuPolicy } from './lfu.js';
import { LruPolicy } from './lru.js';
import type { EvictionPolicy } from './policy.js';

/** The eviction policies a cache can use. `adaptive` (the default) is W-TinyLFU whose window share is chosen by miniature simulations. */
export const POLICY_NAMES = ['adaptive', 'lru', 'lfu', 'fifo'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** @internal */
export function createPolicy(name: PolicyName, slots: number, maxEntries: number): EvictionPolicy {
  switch (name) {
    case 'lru':
      return new LruPolicy(slots);
    case 'lfu':
      return new LfuPolicy(slots);
    case 'fifo':
      return new FifoPolicy(slots);
    case 'adaptive':
      return createAdaptivePolicy(slots, maxEntries);
  }
}
