/**
 * `/metrics` for a server over a store with no workers of its own (`bulwark dashboard`): bulwark's
 * metrics, with `bulwark_jobs{queue,state}` for every queue the store knows, found again at each
 * scrape (a queue created since is reported from the next one). Store calls are bounded in time: a
 * store that does not answer leaves its series out of that scrape rather than hanging it.
 */
import { Queue } from '../core/queue.js';
import type { BulwarkMetrics, MetricsOptions } from '../observe/metrics.js';
import type { Store } from '../store/types.js';
import { boundedStore } from '../dashboard/bounded.js';

export interface StoreMetrics {
  /** The metrics themselves (watch more queues or workers on them), loaded with the first scrape. */
  bulwark(): Promise<BulwarkMetrics>;
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
  // prom-client loads with the first scrape: importing bulwark/server stays light.
  let loaded: Promise<BulwarkMetrics> | undefined;
  let current: BulwarkMetrics | undefined;
  let closed = false;
  const load = (): Promise<BulwarkMetrics> =>
    (loaded ??= import('../observe/metrics.js').then((m) => (current = new m.BulwarkMetrics(rest))));
  const watched = new Map<string, () => void>();
  const sync = async (metrics: BulwarkMetrics): Promise<void> => {
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
    bulwark: load,
    async metrics() {
      const metrics = await load();
      if (closed) return '';
      await sync(metrics);
      return metrics.metrics();
    },
    get contentType() {
      return current?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8';
    },
    close() {
      closed = true;
      for (const off of watched.values()) off();
      watched.clear();
      current?.close();
    },
  };
}
