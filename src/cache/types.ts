import type { Clock } from '../kernel/clock.js';
import type { PolicyName } from './policies/index.js';

/**
 * Why an entry left the cache (or its value was replaced):
 * - `evict`: pushed out by a limit (`maxEntries` / `maxBytes`);
 * - `expire`: its TTL (plus any stale retention) ran out;
 * - `delete`: `delete(key)`;
 * - `set`: the value was overwritten by a new one;
 * - `clear`: `clear()`.
 */
export type EvictionReason = 'evict' | 'expire' | 'delete' | 'set' | 'clear';

export interface CacheOptions<K, V> {
  /**
   * Most entries kept at once; `Infinity` lifts the limit (then `maxBytes` must be set).
   * @default 10000
   */
  maxEntries?: number;
  /** Most bytes kept at once, as measured by `sizeOf`. @default Infinity (no byte limit) */
  maxBytes?: number;
  /**
   * The size of an entry in bytes. Called on every set when a byte limit applies or when given.
   * @default estimateSize(value): strings 2 bytes per UTF-16 unit, binary data its byte length, JSON-like values their contents
   */
  sizeOf?: (value: V, key: K) => number;
  /** @default 'adaptive' */
  policy?: PolicyName;
  /** Default time to live of an entry, in milliseconds; `Infinity` never expires. @default Infinity */
  ttlMs?: number;
  /**
   * After an entry expires, `getOrLoad` may serve it for this long while one background load refreshes it.
   * @default 0 (no stale-while-revalidate)
   */
  staleWhileRevalidateMs?: number;
  /**
   * After an entry expires, `getOrLoad` keeps it for this long to serve when the loader fails.
   * @default 0 (no serve-stale-on-error)
   */
  staleIfErrorMs?: number;
  /** Called whenever an entry leaves or its value is replaced; errors it throws are swallowed. */
  onEvict?: (value: V, key: K, reason: EvictionReason) => void;
  /**
   * Record each entry's last access time (`info(key).lastAccessMs`). Off by default because it reads
   * the clock on every hit, which is a large part of a hit's cost.
   * @default false
   */
  trackAccessTime?: boolean;
  /** Where time comes from. @default systemClock */
  clock?: Clock;
  /** The `cache` label of {@link Cache.metrics} samples. @default 'default' */
  name?: string;
}

/**
 * The least a value source must offer to serve as a cache, e.g. for a resilience fallback that
 * returns the last good value. {@link Cache} satisfies it, and so does a `Map`.
 */
export interface CacheLike<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): unknown;
}

export interface SetOptions {
  /** This entry's time to live in milliseconds, overriding the cache's `ttlMs`; `Infinity` never expires. */
  ttlMs?: number;
}

export interface LoadContext<V> {
  /** Aborted when every caller waiting for this load has given up (their signals aborted). */
  signal: AbortSignal;
  /** The expired value being refreshed, when there is one. */
  staleValue: V | undefined;
}

export type Loader<K, V> = (key: K, context: LoadContext<V>) => V | PromiseLike<V>;

export interface GetOrLoadOptions {
  /** Stops this caller's wait (the shared load goes on while someone else still waits for it). */
  signal?: AbortSignal;
  /** Time to live of the loaded entry, overriding the cache's `ttlMs`. */
  ttlMs?: number;
}

/** What the cache knows about one entry; reading it is not an access. */
export interface EntryInfo {
  /** Hits on this entry since it was inserted (overwrites keep the count). */
  accessCount: number;
  /** Time of the last hit, or of the insert before any hit; `undefined` unless `trackAccessTime`. */
  lastAccessMs: number | undefined;
  /** When it expires, or `Infinity`. */
  expiresAtMs: number;
  /** Its size in bytes as counted against `maxBytes` (0 when bytes are not tracked). */
  sizeBytes: number;
  /** True when expired but still retained to serve stale (see `staleWhileRevalidateMs`). */
  stale: boolean;
}

export interface CacheStats {
  /** Lookups (get, getOrLoad) that found a fresh entry. */
  hits: number;
  /** Lookups that found no fresh entry. */
  misses: number;
  /** hits / (hits + misses), 0 before any lookup. */
  hitRate: number;
  /** Expired values served by `getOrLoad` (stale-while-revalidate or after a failed load). */
  staleHits: number;
  evictions: Record<EvictionReason, number>;
  entries: number;
  bytes: number;
  maxEntries: number;
  maxBytes: number;
  /** Fill level in percent: the larger of entries/maxEntries and bytes/maxBytes, over the finite limits. */
  usagePercent: number;
  loadSuccesses: number;
  loadFailures: number;
  /** Total time spent in loaders, in milliseconds (as measured by the cache's clock). */
  loadTimeMs: number;
}

/** One sample in the shape metric libraries take (Prometheus naming: base units, `_total` counters). */
export interface MetricSample {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
  labels: Record<string, string>;
}
