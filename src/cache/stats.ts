import type { CacheStats, EvictionReason, MetricSample } from './types.js';

/** The raw counters a cache keeps; `CacheStats` is derived from them on demand. @internal */
export interface StatCounters extends Record<EvictionReason, number> {
  staleHits: number;
  loadSuccesses: number;
  loadFailures: number;
  loadTimeMs: number;
}

export function newCounters(): StatCounters {
  return {
    staleHits: 0,
    evict: 0,
    expire: 0,
    delete: 0,
    set: 0,
    clear: 0,
    loadSuccesses: 0,
    loadFailures: 0,
    loadTimeMs: 0,
  };
}

export function resetCounters(c: StatCounters): void {
  c.staleHits = 0;
  c.evict = c.expire = c.delete = c.set = c.clear = 0;
  c.loadSuccesses = c.loadFailures = c.loadTimeMs = 0;
}

/** @internal */
export function collectStats(
  c: StatCounters,
  hits: number,
  misses: number,
  entries: number,
  bytes: number,
  maxEntries: number,
  maxBytes: number,
): CacheStats {
  const lookups = hits + misses;
  let usage = 0;
  if (Number.isFinite(maxEntries)) usage = entries / maxEntries;
  if (Number.isFinite(maxBytes)) usage = Math.max(usage, bytes / maxBytes);
  return {
    hits,
    misses,
    hitRate: lookups === 0 ? 0 : hits / lookups,
    staleHits: c.staleHits,
    evictions: { evict: c.evict, expire: c.expire, delete: c.delete, set: c.set, clear: c.clear },
    entries,
    bytes,
    maxEntries,
    maxBytes,
    usagePercent: usage * 100,
    loadSuccesses: c.loadSuccesses,
    loadFailures: c.loadFailures,
    loadTimeMs: c.loadTimeMs,
  };
}

/**
 * The statistics as metric samples with Prometheus-style names (base units, `_total` counters), for
 * prom-client collectors or any other exporter. `name` becomes the `cache` label.
 */
export function statsToMetrics(stats: CacheStats, name: string): MetricSample[] {
  const labels = { cache: name };
  const counter = (
    metric: string,
    help: string,
    value: number,
    extra: Record<string, string> = {},
  ): MetricSample => ({
    name: `bulwark_cache_${metric}`,
    help,
    type: 'counter',
    value,
    labels: { ...labels, ...extra },
  });
  const gauge = (metric: string, help: string, value: number): MetricSample => ({
    name: `bulwark_cache_${metric}`,
    help,
    type: 'gauge',
    value,
    labels,
  });
  const samples: MetricSample[] = [
    counter('hits_total', 'Lookups that found a fresh entry.', stats.hits),
    counter('misses_total', 'Lookups that found no fresh entry.', stats.misses),
    counter(
      'stale_hits_total',
      'Expired values served by getOrLoad (revalidating or after a failed load).',
      stats.staleHits,
    ),
  ];
  for (const reason of ['evict', 'expire', 'delete', 'set', 'clear'] as const) {
    samples.push(
      counter('removals_total', 'Entries removed or replaced, by reason.', stats.evictions[reason], {
        reason,
      }),
    );
  }
  samples.push(
    counter('loads_total', 'Loader calls that finished, by result.', stats.loadSuccesses, {
      result: 'success',
    }),
    counter('loads_total', 'Loader calls that finished, by result.', stats.loadFailures, {
      result: 'failure',
    }),
    counter('load_seconds_total', 'Time spent in loaders.', stats.loadTimeMs / 1000),
    gauge('entries', 'Entries held.', stats.entries),
    gauge('bytes', 'Bytes held, as measured by the size calculator.', stats.bytes),
    gauge('hit_ratio', 'hits / (hits + misses) since the last reset.', stats.hitRate),
    gauge(
      'usage_ratio',
      'Fill level: the larger of entries/maxEntries and bytes/maxBytes.',
      stats.usagePercent / 100,
    ),
  );
  return samples;
}
