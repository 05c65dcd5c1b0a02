import type { Clock } from '../kernel/clock.js';
import { ValidationError } from '../kernel/errors.js';
import { CacheEntryTooLargeError } from './errors.js';
import { waitFor, type Flight } from './flight.js';
import { hashKey } from './hash.js';
import { checkLoad, checkTtl, resolveOptions } from './options.js';
import { createPolicy, type PolicyName } from './policies/index.js';
import type { EvictionPolicy } from './policies/policy.js';
import { estimateSize } from './sizing.js';
import { collectStats, newCounters, resetCounters, statsToMetrics, type StatCounters } from './stats.js';
import type {
  CacheOptions,
  CacheStats,
  EntryInfo,
  EvictionReason,
  GetOrLoadOptions,
  Loader,
  MetricSample,
  SetOptions,
} from './types.js';

/** Slots to allocate up front; arrays then double, so a big `maxEntries` costs nothing until used. */
const INITIAL_SLOTS = 1024;
/** Slots examined for expiry per insert: enough to keep pace with inserts, small enough to stay O(1). */
const SWEEP_PER_INSERT = 4;
/** `expiresAt` of an entry without a TTL; tested before the clock is read, so such entries never read it. */
const NEVER = Infinity;
/** No key: a value no caller can hold. */
const NO_KEY = Symbol('no key');

/**
 * An in-process cache with entry and byte limits, TTLs, a choice of eviction policy, single-flight
 * loading with stale-while-revalidate, and statistics. Create one with {@link createCache}.
 *
 * Storage is laid out for speed: a `Map` from key to a slot number, and the entry's data in arrays
 * indexed by slot, so a hit allocates nothing and a policy orders slots with intrusive linked lists.
 */
export class Cache<K, V> {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly policy: PolicyName;
  /** The cache's name (option `name`), the `cache` label of its metrics. */
  readonly name: string;

  private readonly keyMap = new Map<K, number>();
  private readonly keyList: (K | undefined)[] = [];
  private readonly valueList: (V | undefined)[] = [];
  private expiresAt: Float64Array;
  private sizes: Float64Array;
  private accessCounts: Uint32Array;
  private lastAccess: Float64Array;
  private free: Int32Array;
  private freeCount = 0;
  private nextSlot = 0;
  private slots: number;
  private readonly maxSlots: number;

  private readonly order: EvictionPolicy;
  private readonly hashing: boolean;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly swrMs: number;
  private readonly staleIfErrorMs: number;
  /** How long an expired entry is kept for stale serving: the longer of the two stale windows. */
  private readonly retainMs: number;
  private readonly measuring: boolean;
  private readonly sizeOf: (value: V, key: K) => number;
  private readonly onEvict: ((value: V, key: K, reason: EvictionReason) => void) | undefined;
  private readonly trackTime: boolean;

  private count = 0;
  private totalBytes = 0;
  /** Entries with a TTL; while zero, inserts skip the clock and the sweep. */
  private expiring = 0;
  private sweepCursor = 0;
  private lastMissKey: K | undefined = undefined;
  /** A key `get` just found absent; only an insert of that key can make it present (see `set`). */
  private absentKey: unknown = NO_KEY;
  private lastMissHash = 0;
  private flights: Map<K, Flight<V>> | undefined = undefined;
  private readonly counters: StatCounters = newCounters();
  /** Kept apart from `counters`: one field update per lookup, no extra object to load. */
  private hits = 0;
  private misses = 0;

  constructor(options: CacheOptions<K, V> = {}) {
    const o = resolveOptions(options);
    this.maxEntries = o.maxEntries;
    this.maxBytes = o.maxBytes;
    this.policy = o.policy;
    this.clock = o.clock;
    this.ttlMs = o.ttlMs;
    this.swrMs = o.staleWhileRevalidateMs;
    this.staleIfErrorMs = o.staleIfErrorMs;
    this.retainMs = Math.max(this.swrMs, this.staleIfErrorMs);
    this.onEvict = o.onEvict;
    this.trackTime = o.trackAccessTime;
    this.name = o.name;
    this.measuring = Number.isFinite(this.maxBytes) || o.sizeOf !== undefined;
    this.sizeOf = o.sizeOf ?? estimateSize;
    // One slot more than maxEntries: an insert lands before the eviction it causes.
    this.maxSlots = Number.isFinite(this.maxEntries) ? this.maxEntries + 1 : Infinity;
    this.slots = Math.min(this.maxSlots, INITIAL_SLOTS);
    this.expiresAt = new Float64Array(this.slots).fill(NEVER);
    this.sizes = new Float64Array(this.slots);
    this.accessCounts = new Uint32Array(this.slots);
    this.lastAccess = new Float64Array(this.slots);
    this.free = new Int32Array(this.slots);
    this.fillLists(this.slots);
    this.order = createPolicy(this.policy, this.slots, this.maxEntries);
    this.hashing = this.order.usesHash;
  }

  /** Entries held, including expired ones not yet removed (they go on access, on sweeps and on eviction). */
  get size(): number {
    return this.count;
  }

  /** Bytes held as measured by `sizeOf` (0 when neither `maxBytes` nor `sizeOf` is set). */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The value if present and fresh; counts as an access (statistics, eviction order). */
  get(key: K): V | undefined {
    const slot = this.keyMap.get(key);
    if (slot === undefined) {
      this.absentKey = key;
      this.miss(key);
      return undefined;
    }
    // With no TTL anywhere in the cache, skip the expiry array altogether (one memory access less).
    if (this.expiring !== 0) {
      const expiresAt = this.expiresAt[slot]!;
      if (expiresAt !== NEVER && this.clock.now() >= expiresAt) {
        this.expiredOnRead(slot, expiresAt);
        this.miss(key);
        return undefined;
      }
    }
    this.hit(slot);
    return this.valueList[slot];
  }

  /** The value if present and fresh, without counting an access. */
  peek(key: K): V | undefined {
    const slot = this.keyMap.get(key);
    if (slot === undefined) return undefined;
    const expiresAt = this.expiresAt[slot]!;
    return expiresAt !== NEVER && this.clock.now() >= expiresAt ? undefined : this.valueList[slot];
  }

  /** True if the key is present and fresh; not an access. */
  has(key: K): boolean {
    return this.peek(key) !== undefined;
  }

  /** Access tracking for one entry (held, fresh or stale-but-retained); reading it is not an access. */
  info(key: K): EntryInfo | undefined {
    const slot = this.keyMap.get(key);
    if (slot === undefined) return undefined;
    const expiresAt = this.expiresAt[slot]!;
    const now = expiresAt === NEVER ? 0 : this.clock.now();
    if (expiresAt !== NEVER && now >= expiresAt + this.retainMs) return undefined;
    return {
      accessCount: this.accessCounts[slot]!,
      lastAccessMs: this.trackTime ? this.lastAccess[slot]! : undefined,
      expiresAtMs: expiresAt === NEVER ? Infinity : expiresAt,
      sizeBytes: this.sizes[slot]!,
      stale: expiresAt !== NEVER && now >= expiresAt,
    };
  }

  /**
   * Stores a value. Throws `ValidationError` for `undefined` (get's "absent"), an invalid TTL, or an
   * entry larger than `maxBytes`; a refused set leaves the cache unchanged.
   */
  set(key: K, value: V, options?: SetOptions): this {
    if (value === undefined) {
      throw new ValidationError(
        '[bulwark] [cache] cannot store undefined: get() returns undefined for "absent"',
        {
          path: 'value',
        },
      );
    }
    const ttlMs = options?.ttlMs === undefined ? this.ttlMs : checkTtl(options.ttlMs, 'options.ttlMs');
    const size = this.measuring ? this.measure(value, key) : 0;
    const now = ttlMs !== Infinity || this.expiring > 0 || this.trackTime ? this.clock.now() : 0;
    const expiresAt = ttlMs === Infinity ? NEVER : now + ttlMs;
    if (this.flights !== undefined) this.flights.delete(key); // an explicit value supersedes a running load
    // get-else-set: the get just found the key absent, so the second lookup can be skipped.
    let slot = key === this.absentKey ? undefined : this.keyMap.get(key);
    if (slot !== undefined) {
      const old = this.valueList[slot] as V;
      this.valueList[slot] = value;
      this.totalBytes += size - this.sizes[slot]!;
      this.sizes[slot] = size;
      if ((this.expiresAt[slot] !== NEVER) !== (expiresAt !== NEVER))
        this.expiring += expiresAt !== NEVER ? 1 : -1;
      this.expiresAt[slot] = expiresAt;
      if (this.trackTime) this.lastAccess[slot] = now;
      this.order.access(slot);
      if (old !== value) {
        this.counters.set++;
        this.notify(old, key, 'set');
      }
      if (this.totalBytes > this.maxBytes) this.evictOverflow(slot);
    } else {
      slot = this.allocate();
      this.keyList[slot] = key;
      this.valueList[slot] = value;
      if (this.measuring) this.sizes[slot] = size;
      // A free slot's expiresAt is always NEVER, so only a TTL needs a write.
      if (expiresAt !== NEVER) this.expiresAt[slot] = expiresAt;
      this.accessCounts[slot] = 0;
      if (this.trackTime) this.lastAccess[slot] = now;
      this.keyMap.set(key, slot);
      this.absentKey = NO_KEY;
      this.count++;
      this.totalBytes += size;
      if (expiresAt !== NEVER) this.expiring++;
      this.order.insert(slot, this.hashing ? this.hashOf(key) : 0);
      if (this.count > this.maxEntries || this.totalBytes > this.maxBytes) this.evictOverflow(slot);
    }
    if (this.expiring > 0) this.sweep(now, SWEEP_PER_INSERT);
    return this;
  }

  /** Removes the entry; true if a fresh one was there. Calls `onEvict(value, key, 'delete')`. */
  delete(key: K): boolean {
    if (this.flights !== undefined) this.flights.delete(key);
    const slot = this.keyMap.get(key);
    if (slot === undefined) return false;
    const expiresAt = this.expiresAt[slot]!;
    const fresh = expiresAt === NEVER || this.clock.now() < expiresAt;
    this.removeSlot(slot, 'delete');
    return fresh;
  }

  /** Removes every entry (`onEvict(value, key, 'clear')` for each); loads in flight finish but are not stored. */
  clear(): void {
    const hook = this.onEvict;
    const removed = hook === undefined ? undefined : this.snapshot();
    this.counters.clear += this.count;
    this.keyMap.clear();
    this.order.clear();
    this.keyList.fill(undefined);
    this.valueList.fill(undefined);
    this.expiresAt.fill(NEVER);
    this.sizes.fill(0);
    this.freeCount = 0;
    this.nextSlot = 0;
    this.count = 0;
    this.totalBytes = 0;
    this.expiring = 0;
    this.sweepCursor = 0;
    this.lastMissKey = undefined;
    this.absentKey = NO_KEY;
    if (this.flights !== undefined) {
      // A load still running must not store into the emptied cache; its callers still get the value.
      this.flights = undefined;
    }
    if (removed !== undefined) {
      for (let i = 0; i < removed.length; i += 2) this.notify(removed[i + 1] as V, removed[i] as K, 'clear');
    }
  }

  /** Removes every expired entry now (lazy expiry and the per-insert sweep do it gradually); returns how many. */
  cleanupExpired(): number {
    if (this.expiring === 0) return 0;
    const now = this.clock.now();
    let removed = 0;
    for (let slot = 0; slot < this.nextSlot; slot++) {
      const expiresAt = this.expiresAt[slot]!;
      if (expiresAt !== NEVER && now >= expiresAt + this.retainMs) {
        this.removeSlot(slot, 'expire');
        removed++;
      }
    }
    return removed;
  }

  /** Stores many entries at once (e.g. at startup); each is `[key, value]` or `[key, value, { ttlMs }]`. */
  prewarm(entries: Iterable<readonly [K, V] | readonly [K, V, SetOptions | undefined]>): number {
    let n = 0;
    for (const entry of entries) {
      this.set(entry[0], entry[1], entry[2]);
      n++;
    }
    return n;
  }

  /** Fresh keys, in no particular order; iterating is not an access. */
  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  /** Fresh `[key, value]` pairs, in no particular order; iterating is not an access. */
  *entries(): IterableIterator<[K, V]> {
    const now = this.expiring > 0 ? this.clock.now() : 0;
    for (const [key, slot] of this.keyMap) {
      const expiresAt = this.expiresAt[slot]!;
      if (expiresAt === NEVER || now < expiresAt) yield [key, this.valueList[slot] as V];
    }
  }

  /**
   * The cached value, or the loader's. Concurrent misses share one load (single flight). With
   * `staleWhileRevalidateMs`, an expired value is served at once while one background load refreshes
   * it; with `staleIfErrorMs`, an expired value is served when the load fails.
   */
  getOrLoad(key: K, loader: Loader<K, V>, options: GetOrLoadOptions = {}): Promise<V> {
    let ttlMs: number | undefined;
    try {
      ttlMs = checkLoad(loader, options);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    let stale: V | undefined;
    const slot = this.keyMap.get(key);
    if (slot !== undefined) {
      const expiresAt = this.expiresAt[slot]!;
      const now = expiresAt === NEVER ? 0 : this.clock.now();
      if (expiresAt === NEVER || now < expiresAt) {
        this.hit(slot);
        return Promise.resolve(this.valueList[slot] as V);
      }
      const value = this.valueList[slot] as V;
      if (now < expiresAt + this.swrMs) {
        this.counters.staleHits++;
        this.hit(slot);
        if (this.flights?.has(key) !== true) this.startLoad(key, loader, ttlMs, value, true);
        return Promise.resolve(value);
      }
      if (now < expiresAt + this.staleIfErrorMs) stale = value;
      else this.expiredOnRead(slot, expiresAt);
    }
    this.miss(key);
    const flight = this.flights?.get(key) ?? this.startLoad(key, loader, ttlMs, stale, false);
    const result = waitFor(flight, signal);
    if (stale === undefined) return result;
    const fallback = stale;
    return result.catch((error: unknown) => {
      if (signal?.aborted === true || !this.holds(key, fallback)) throw error;
      this.counters.staleHits++;
      return fallback;
    });
  }

  /** True when a load for the key is running. */
  isLoading(key: K): boolean {
    return this.flights?.has(key) === true;
  }

  /** A snapshot of the statistics. */
  stats(): CacheStats {
    return collectStats(
      this.counters,
      this.hits,
      this.misses,
      this.count,
      this.totalBytes,
      this.maxEntries,
      this.maxBytes,
    );
  }

  /** Zeroes the counters (hits, misses, evictions, loads); entries and bytes are state, not counters. */
  resetStats(): void {
    resetCounters(this.counters);
    this.hits = 0;
    this.misses = 0;
  }

  /**
   * The statistics as metric samples (Prometheus naming: `bulwark_cache_hits_total`,
   * `bulwark_cache_removals_total{reason}`, `bulwark_cache_bytes`, …) labelled with the cache's `name`:
   * plain objects, ready for a prom-client collector or any other exporter.
   */
  metrics(): MetricSample[] {
    return statsToMetrics(this.stats(), this.name);
  }

  /**
   * The value if held at all, fresh or expired but still retained for stale serving
   * (`staleWhileRevalidateMs` / `staleIfErrorMs`), without counting an access: what a fallback serves
   * when the real call failed.
   */
  getStale(key: K): V | undefined {
    const slot = this.keyMap.get(key);
    if (slot === undefined) return undefined;
    const expiresAt = this.expiresAt[slot]!;
    if (expiresAt !== NEVER) {
      const now = this.clock.now();
      if (now >= expiresAt + this.retainMs) return undefined;
      if (now >= expiresAt) this.counters.staleHits++;
    }
    return this.valueList[slot];
  }

  /** Keys and values as flat pairs, read before a clear resets the arrays. */
  private snapshot(): unknown[] {
    const out: unknown[] = [];
    for (const [key, slot] of this.keyMap) out.push(key, this.valueList[slot]);
    return out;
  }

  private hit(slot: number): void {
    this.hits++;
    this.accessCounts[slot] = this.accessCounts[slot]! + 1;
    if (this.trackTime) this.lastAccess[slot] = this.clock.now();
    this.order.access(slot);
  }

  private miss(key: K): void {
    this.misses++;
    if (this.hashing) {
      const h = hashKey(key);
      this.lastMissKey = key;
      this.lastMissHash = h;
      this.order.recordMiss(h);
    }
  }

  private hashOf(key: K): number {
    return key === this.lastMissKey ? this.lastMissHash : hashKey(key);
  }

  /** An expired entry was read: drop it unless a stale window still wants it. */
  private expiredOnRead(slot: number, expiresAt: number): void {
    if (this.retainMs === 0 || this.clock.now() >= expiresAt + this.retainMs) this.removeSlot(slot, 'expire');
  }

  private holds(key: K, value: V): boolean {
    const slot = this.keyMap.get(key);
    return slot !== undefined && this.valueList[slot] === value;
  }

  private measure(value: V, key: K): number {
    const size = this.sizeOf(value, key);
    if (typeof size !== 'number' || !(size >= 0) || size === Infinity) {
      throw new ValidationError(
        `[bulwark] [cache] sizeOf returned ${String(size)}; expected a finite number >= 0`,
        {
          path: 'sizeOf',
        },
      );
    }
    if (size > this.maxBytes) throw new CacheEntryTooLargeError(describeKey(key), size, this.maxBytes);
    // Whole bytes keep the running total exact through any number of adds and subtractions.
    return Math.ceil(size);
  }

  /** Evicts until within the limits, never the entry in `keep` (the one just written). */
  private evictOverflow(keep: number): void {
    while (this.count > this.maxEntries || this.totalBytes > this.maxBytes) {
      let slot = this.order.victim(this.count);
      if (slot === keep) {
        // The policy picked the entry being written (a new LFU entry has the lowest count; a FIFO
        // replace keeps its old place). Take the policy's next choice and re-add this one as new.
        const order = this.order;
        order.remove(keep);
        slot = order.victim(this.count - 1);
        order.insert(keep, this.hashing ? hashKey(this.keyList[keep]) : 0);
      }
      if (slot < 0 || slot === keep) return;
      this.removeSlot(slot, 'evict');
    }
  }

  private removeSlot(slot: number, reason: EvictionReason): void {
    const key = this.keyList[slot] as K;
    const value = this.valueList[slot] as V;
    this.keyMap.delete(key);
    this.order.remove(slot);
    this.keyList[slot] = undefined;
    this.valueList[slot] = undefined;
    // Per-slot arrays are touched only when in use: each touch of a random slot is a likely cache miss.
    if (this.measuring) {
      this.totalBytes -= this.sizes[slot]!;
      this.sizes[slot] = 0;
    }
    if (this.expiring !== 0 && this.expiresAt[slot] !== NEVER) {
      this.expiring--;
      this.expiresAt[slot] = NEVER;
    }
    this.free[this.freeCount++] = slot;
    this.count--;
    // Eviction is the common case; a literal field update is much cheaper than a keyed one.
    if (reason === 'evict') this.counters.evict++;
    else this.counters[reason]++;
    if (this.onEvict !== undefined) this.notify(value, key, reason);
  }

  private notify(value: V, key: K, reason: EvictionReason): void {
    if (this.onEvict === undefined) return;
    try {
      this.onEvict(value, key, reason);
    } catch {
      // A failing hook must not leave the cache half-updated; the entry is already gone.
    }
  }

  /** Examines up to `budget` slots from a rotating cursor and removes the dead ones. */
  private sweep(now: number, budget: number): void {
    const end = this.nextSlot;
    let cursor = this.sweepCursor;
    for (let i = 0; i < budget; i++) {
      if (cursor >= end) cursor = 0;
      const expiresAt = this.expiresAt[cursor]!;
      if (expiresAt !== NEVER && now >= expiresAt + this.retainMs) this.removeSlot(cursor, 'expire');
      cursor++;
    }
    this.sweepCursor = cursor;
  }

  private allocate(): number {
    if (this.freeCount > 0) return this.free[--this.freeCount]!;
    if (this.nextSlot === this.slots) this.grow();
    return this.nextSlot++;
  }

  private grow(): void {
    const slots = Math.min(this.maxSlots, this.slots * 2);
    this.expiresAt = growFloat64(this.expiresAt, slots);
    this.expiresAt.fill(NEVER, this.slots);
    this.sizes = growFloat64(this.sizes, slots);
    this.lastAccess = growFloat64(this.lastAccess, slots);
    const counts = new Uint32Array(slots);
    counts.set(this.accessCounts);
    this.accessCounts = counts;
    const free = new Int32Array(slots);
    free.set(this.free);
    this.free = free;
    this.fillLists(slots);
    this.order.grow(slots);
    this.slots = slots;
  }

  /** Pushes (rather than pre-sizing) so V8 keeps the arrays packed, which keeps reads fast. */
  private fillLists(slots: number): void {
    while (this.keyList.length < slots) {
      this.keyList.push(undefined);
      this.valueList.push(undefined);
    }
  }

  private startLoad(
    key: K,
    loader: Loader<K, V>,
    ttlMs: number | undefined,
    stale: V | undefined,
    detached: boolean,
  ): Flight<V> {
    const flights = (this.flights ??= new Map());
    const controller = new AbortController();
    const flight: Flight<V> = {
      promise: Promise.resolve(undefined as V),
      controller,
      waiters: 0,
      detached,
      abandon: (reason) => {
        if (this.flights?.get(key) === flight) this.flights.delete(key);
        controller.abort(reason);
      },
    };
    flights.set(key, flight);
    flight.promise = this.runLoad(key, loader, flight, stale, ttlMs);
    // Nobody may be listening (a background refresh, or every caller gave up): never an unhandled rejection.
    flight.promise.catch(() => undefined);
    return flight;
  }

  private async runLoad(
    key: K,
    loader: Loader<K, V>,
    flight: Flight<V>,
    stale: V | undefined,
    ttlMs: number | undefined,
  ): Promise<V> {
    const started = this.clock.now();
    let value: V;
    try {
      value = await loader(key, { signal: flight.controller.signal, staleValue: stale });
      if (value === undefined) {
        throw new ValidationError(`[bulwark] [cache] loader for key ${describeKey(key)} returned undefined`, {
          path: 'loader',
        });
      }
    } catch (error) {
      this.counters.loadFailures++;
      this.counters.loadTimeMs += this.clock.now() - started;
      if (this.flights?.get(key) === flight) this.flights.delete(key);
      throw error;
    }
    this.counters.loadSuccesses++;
    this.counters.loadTimeMs += this.clock.now() - started;
    // Store only if this load is still the current one: a set, delete or clear meanwhile wins.
    if (this.flights?.get(key) === flight && !flight.controller.signal.aborted) {
      this.flights.delete(key);
      try {
        this.set(key, value, ttlMs === undefined ? undefined : { ttlMs });
      } catch {
        // Too big to cache: the callers still get their value.
      }
    }
    return value;
  }
}

/** Creates a cache. See {@link CacheOptions} for the limits, policy, TTLs and hooks. */
export function createCache<K, V>(options: CacheOptions<K, V> = {}): Cache<K, V> {
  return new Cache<K, V>(options);
}

function describeKey(key: unknown): string {
  const text = typeof key === 'string' ? JSON.stringify(key) : String(key);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function growFloat64(a: Float64Array, size: number): Float64Array {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}
