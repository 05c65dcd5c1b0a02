/**
 * `/metrics` for a server over a store with no workers of its own (`bulwark dashboard`): bulwark's
 * metrics, with `bulwark_jobs{queue,state}` for every queue the store knows, found again at each
 * scrape (a queue created since is reported from the next one). Store calls are bounded in time: a
 * store that does not answer leaves its series out of that scrape rather than hanging it.
 */
import { Queue } from '../core/queue.js';
import { BulwarkMetrics, type MetricsOptions } from '../observe/metrics.js';
import type { Store } from '../store/types.js';
import { boundedStore } from '../dashboard/bounded.js';

export interface StoreMetrics {
  /** The metrics themselves (watch more queues or workers on them). */
  readonly bulwark: BulwarkMetrics;
  /** Prometheus text: finds the store's queues, then reads the registry. What `/metrics` serves. */
  metrics(): Promise<string>;
  readonly contentType: string;
  close(): void;
}

const MAX_QUEUES = 1000;

export function storeMetrics(
  store: Store,
  options: MetricsOptions & { timeoutMs?: number } = {},
): StoreMetrics {
  const { timeoutMs = 5000, ...rest } = options;
  const bounded = boundedStore(store, timeoutMs, store.name);
  const metrics = new BulwarkMetrics(rest);
  const watched = new Map<string, () => void>();
  const sync = async (): Promise<void> => {
    let names: string[];
    try {
      names = await bounded.queues();
    } catch {
      return; // the gauges of the queues known so far report the failure (collect errors)
    }
    const now = new Set(names.slice(0, MAX_QUEUES));
    for (const [name, off] of watched) {
      if (!now.has(name)) {
        off();
        watched.delete(name);
      }
    }
    for (const name of now) {
      if (!watched.has(name)) watched.set(name, metrics.watchQueue(new Queue(name, { store: bounded })));
    }
  };
  return {
    bulwark: metrics,
    async metrics() {
      await sync();
      return metrics.metrics();
    },
    get contentType() {
      return metrics.contentType;
    },
    close() {
      for (const off of watched.values()) off();
      watched.clear();
      metrics.close();
    },
  };
}
