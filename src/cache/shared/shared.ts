/**
 * A cache several processes share: an in-process cache (L1) in front of Redis (L2).
 *
 * - Reads go to L1, then Redis; a value read from Redis stays in L1 for what is left of its time to
 *   live in Redis, so both tiers expire an entry at the same moment.
 * - `set`, `delete` and `clear` write both tiers and broadcast an invalidation on a pub/sub channel;
 *   every other process drops its L1 copy, so the next read there goes to Redis. A read that was on
 *   its way from Redis when an invalidation arrived is returned but not kept in L1 (it may be the old
 *   value). After the subscription was interrupted, L1 is emptied: invalidations may have been missed.
 * - `getOrLoad` loads a missing key once across processes: one takes a short lock in Redis (`SET NX
 *   PX`, extended while its loader runs), the others wait for its broadcast (or poll) and read the
 *   value from Redis. A holder that dies lets its lock lapse, and another process loads.
 * - Redis down: L1 keeps serving; every Redis error is counted and passed to `onError`, and no read
 *   throws one (a miss in both tiers is `undefined`, `getOrLoad` loads without the lock).
 */
import { randomUUID } from 'node:crypto';
import { ValidationError } from '../../kernel/errors.js';
import { Cache } from '../cache.js';
import { waitFor, type Flight } from '../flight.js';
import { checkLoad, checkTtl } from '../options.js';
import type { CacheStats, Loader } from '../types.js';
import {
  connect,
  EXTEND_LOCK,
  GET_WITH_TTL,
  RELEASE_LOCK,
  withTimeout,
  type SharedRedisClient,
} from './client.js';
import { resolveSharedOptions, type ResolvedSharedOptions, type SharedCacheOptions } from './options.js';

/** Statistics of a shared cache, per tier. */
export interface SharedCacheStats {
  /** The in-process tier. */
  l1: CacheStats;
  /** Redis: reads that found the key or not, writes and deletes sent, and commands that failed or timed out. */
  l2: { hits: number; misses: number; writes: number; deletes: number; errors: number };
  /** `getOrLoad` loads run here (by result), and times this process waited for another's load. */
  loads: { successes: number; failures: number; waits: number };
  /** Invalidations broadcast and received; `resets`: L1 emptied after the subscription was interrupted. */
  invalidations: { sent: number; received: number; resets: number };
}

export interface SharedSetOptions {
  /** This entry's time to live in both tiers, in ms; `Infinity` never expires. */
  ttlMs?: number;
}

export interface SharedGetOrLoadOptions extends SharedSetOptions {
  /** Stops this caller's wait (the load goes on while another caller still waits for it). */
  signal?: AbortSignal;
}

/** A failed Redis command (already counted and reported). */
const FAILED = Symbol('failed');
type Outcome<T> = T | typeof FAILED;

export class SharedCache<V> {
  /** The cache's name (option `name`). */
  readonly name: string;
  /**
   * The in-process tier, to inspect (`info`, `stats`, `metrics`, `peek`). Writing to it directly
   * bypasses Redis and the other processes.
   */
  readonly local: Cache<string, V>;
  private readonly o: ResolvedSharedOptions<V>;
  /** Tells this process's broadcasts apart from the others'. */
  private readonly id = randomUUID();
  private readonly base: string;
  private readonly channel: string;
  private client: SharedRedisClient | undefined;
  private subscriber: SharedRedisClient | undefined;
  private opening: Promise<SharedRedisClient | undefined> | undefined;
  private closed = false;
  /** Aborts running loaders at close. */
  private readonly closing = new AbortController();
  /** Reads from Redis under way, by key. */
  private readonly reads = new Map<string, Promise<V | undefined>>();
  /** Keys invalidated while a read of theirs was under way: what that read returns may be the old value. */
  private readonly staleReads = new Set<string>();
  /** Bumped by clears (here, received, or after the subscription was interrupted): every read under way is stale. */
  private clears = 0;
  private readonly flights = new Map<string, Flight<V>>();
  /** Callers waiting for another process's load of a key, woken by its broadcast. */
  private readonly wakers = new Map<string, Set<() => void>>();
  private readonly l2 = { hits: 0, misses: 0, writes: 0, deletes: 0, errors: 0 };
  private readonly loads = { successes: 0, failures: 0, waits: 0 };
  private readonly invalidations = { sent: 0, received: 0, resets: 0 };

  constructor(options: SharedCacheOptions<V> = {}) {
    this.o = resolveSharedOptions(options);
    this.name = this.o.name;
    this.local = new Cache<string, V>({ ...this.o.l1, name: this.o.l1.name ?? this.o.name });
    this.base = `${this.o.keyPrefix}${this.o.name}:`;
    this.channel = `${this.base}invalidate`;
  }

  /** The value from L1, else from Redis; `undefined` when neither has it (or Redis cannot be reached). */
  async get(key: string): Promise<V | undefined> {
    checkKey(key);
    const local = this.local.get(key);
    if (local !== undefined) return local;
    return this.readThrough(key);
  }

  /** Stores a value in both tiers and tells the other processes to drop their L1 copy. */
  async set(key: string, value: V, options?: SharedSetOptions): Promise<void> {
    checkKey(key);
    const ttlMs = this.ttlOf(options);
    const text = this.serialize(value);
    this.invalidated(key);
    this.keepLocal(key, value, ttlMs);
    await this.writeRemote(key, text, ttlMs);
    await this.broadcast(key);
  }

  /** Removes the key from both tiers, here and (by broadcast) in every other process's L1. */
  async delete(key: string): Promise<boolean> {
    checkKey(key);
    this.invalidated(key);
    const local = this.local.delete(key);
    const removed = await this.command('delete', (c) => c.call('DEL', [this.valueKey(key)]));
    if (removed !== FAILED) this.l2.deletes++;
    await this.broadcast(key);
    return local || (removed !== FAILED && Number(removed) > 0);
  }

  /** Removes every entry of this cache from both tiers and every process's L1. */
  async clear(): Promise<void> {
    this.clears++;
    this.local.clear();
    await this.command('clear', async (c) => {
      let cursor = '0';
      do {
        const [next, keys] = (await c.call('SCAN', [cursor, 'MATCH', `${this.base}v:*`, 'COUNT', 1000])) as [
          string,
          string[],
        ];
        cursor = next;
        if (keys.length > 0) await c.call('UNLINK', keys);
      } while (cursor !== '0');
    });
    await this.broadcast(undefined);
  }

  /**
   * The cached value, or the loader's, loaded once across every process sharing the cache: concurrent
   * callers here share one load, and other processes wait for the one holding the lock in Redis.
   */
  getOrLoad(key: string, loader: Loader<string, V>, options: SharedGetOrLoadOptions = {}): Promise<V> {
    let ttlMs: number;
    try {
      checkKey(key);
      ttlMs = checkLoad(loader, options) ?? this.o.ttlMs;
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    const local = this.local.get(key);
    if (local !== undefined) return Promise.resolve(local);
    const flight = this.flights.get(key) ?? this.startFlight(key, loader, ttlMs);
    return waitFor(flight, signal);
  }

  /** A snapshot of the statistics of both tiers. */
  stats(): SharedCacheStats {
    return {
      l1: this.local.stats(),
      l2: { ...this.l2 },
      loads: { ...this.loads },
      invalidations: { ...this.invalidations },
    };
  }

  /** Stops the subscription and closes the connections this cache opened (a `redis` you gave stays open). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort(new Error('[bulwark] [cache] shared cache closed'));
    for (const wakers of this.wakers.values()) for (const wake of wakers) wake();
    this.wakers.clear();
    await this.opening?.catch(() => undefined);
    const quit = async (c: SharedRedisClient | undefined): Promise<void> => {
      if (c === undefined) return;
      try {
        await withTimeout(c.quit(), this.o.redisTimeoutMs, 'quit');
      } catch {
        c.disconnect();
      }
    };
    await quit(this.subscriber);
    if (this.o.redis === undefined) await quit(this.client);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- Redis ------------------------------------------------------------------------------------

  private valueKey(key: string): string {
    return `${this.base}v:${key}`;
  }

  private lockKey(key: string): string {
    return `${this.base}l:${key}`;
  }

  /** The command connection, opened (with the subscription) on first use. */
  private open(): Promise<SharedRedisClient | undefined> {
    this.opening ??= (async () => {
      const client = this.o.redis ?? (await connect(this.o.url));
      if (this.o.redis === undefined) client.on('error', () => {});
      this.client = client;
      if (this.closed) return undefined;
      await this.subscribe(client);
      return client;
    })();
    return this.opening;
  }

  /** Opens the subscription; waits for it (within the command timeout), so a write right after is heard. */
  private async subscribe(client: SharedRedisClient): Promise<void> {
    const sub = client.duplicate();
    this.subscriber = sub;
    let interrupted = false;
    let subscribed = false;
    const start = async (): Promise<void> => {
      try {
        await withTimeout(sub.subscribe(this.channel), this.o.redisTimeoutMs, 'subscribe');
        subscribed = true;
      } catch (error) {
        // Tried again when the connection is (re)established; until then no invalidation is heard.
        interrupted = true;
        this.failed(error, 'subscribe');
      }
    };
    sub.on('error', () => {
      interrupted = true;
    });
    sub.on('close', () => {
      interrupted = true;
    });
    sub.on('ready', () => {
      if (this.closed) return;
      // ioredis subscribes again by itself after a reconnect, but not to a channel it never got to.
      if (!subscribed) void start();
      // Invalidations sent while the subscription was down are lost: the L1 copies may be stale.
      if (!interrupted) return;
      interrupted = false;
      this.invalidations.resets++;
      this.clears++;
      this.local.clear();
    });
    sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    await start();
  }

  private onMessage(channel: string, message: string): void {
    if (channel !== this.channel || this.closed) return;
    let m: { o?: unknown; k?: unknown; c?: unknown };
    try {
      m = JSON.parse(message) as typeof m;
    } catch {
      return;
    }
    if (m.o === this.id) return;
    this.invalidations.received++;
    if (m.c === true) {
      this.clears++;
      this.local.clear();
      for (const key of [...this.wakers.keys()]) this.wake(key);
    } else if (typeof m.k === 'string') {
      this.invalidated(m.k);
      this.local.delete(m.k);
      this.wake(m.k);
    }
  }

  /** A write here or elsewhere changed `key`: a read of it under way must not fill L1 with what it finds. */
  private invalidated(key: string): void {
    if (this.reads.has(key)) this.staleReads.add(key);
  }

  private async broadcast(key: string | undefined): Promise<void> {
    const message = JSON.stringify(key === undefined ? { o: this.id, c: true } : { o: this.id, k: key });
    const sent = await this.command('publish', (c) => c.call('PUBLISH', [this.channel, message]));
    if (sent !== FAILED) this.invalidations.sent++;
  }

  /** Runs one Redis operation with a deadline; a failure is counted, reported and returned as FAILED. */
  private async command<T>(
    operation: string,
    run: (c: SharedRedisClient) => Promise<T>,
  ): Promise<Outcome<T>> {
    if (this.closed) return FAILED;
    try {
      const client = await this.open();
      if (client === undefined) return FAILED;
      return await withTimeout(run(client), this.o.redisTimeoutMs, operation);
    } catch (error) {
      this.failed(error, operation);
      return FAILED;
    }
  }

  private failed(error: unknown, operation: string): void {
    this.l2.errors++;
    try {
      this.o.onError(error, operation);
    } catch {
      // A throwing hook must not turn a counted Redis error into a thrown one.
    }
  }

  // ---- reads and writes ---------------------------------------------------------------------------

  /** One read from Redis per key at a time, shared by the callers that missed L1 meanwhile. */
  private readThrough(key: string): Promise<V | undefined> {
    let read = this.reads.get(key);
    if (read === undefined) {
      read = this.readRemote(key).finally(() => this.reads.delete(key));
      this.reads.set(key, read);
    }
    return read;
  }

  private async readRemote(key: string): Promise<V | undefined> {
    const clears = this.clears;
    const found = await this.command('get', (c) => GET_WITH_TTL.run(c, [this.valueKey(key)], []));
    const stale = this.staleReads.delete(key) || clears !== this.clears;
    if (found === FAILED) return undefined;
    if (!Array.isArray(found)) {
      this.l2.misses++;
      return undefined;
    }
    const [text, pttl] = found as [string, number];
    let value: V;
    try {
      value = this.o.deserialize(text);
    } catch (error) {
      this.failed(error, 'deserialize');
      return undefined;
    }
    this.l2.hits++;
    if (!stale && pttl !== 0 && pttl !== -2) this.keepLocal(key, value, pttl < 0 ? Infinity : pttl);
    return value;
  }

  private async writeRemote(key: string, text: string, ttlMs: number): Promise<void> {
    const args =
      ttlMs === Infinity ? [this.valueKey(key), text] : [this.valueKey(key), text, 'PX', Math.ceil(ttlMs)];
    const written = await this.command('set', (c) => c.call('SET', args));
    if (written !== FAILED) this.l2.writes++;
  }

  private keepLocal(key: string, value: V, ttlMs: number): void {
    if (this.closed) return;
    try {
      this.local.set(key, value, { ttlMs });
    } catch {
      // Larger than L1's byte limit: it still lives in Redis.
    }
  }

  private serialize(value: V): string {
    if (value === undefined) {
      throw new ValidationError(
        '[bulwark] [cache] cannot store undefined: get() returns undefined for "absent"',
        {
          path: 'value',
        },
      );
    }
    let text: unknown;
    try {
      text = this.o.serialize(value);
    } catch (error) {
      throw new ValidationError(`[bulwark] [cache] value cannot be serialized: ${String(error)}`, {
        path: 'value',
        cause: error,
      });
    }
    if (typeof text !== 'string') {
      throw new ValidationError(
        '[bulwark] [cache] serialize must return a string (JSON.stringify gave none)',
        {
          path: 'value',
        },
      );
    }
    return text;
  }

  private ttlOf(options: SharedSetOptions | undefined): number {
    return options?.ttlMs === undefined ? this.o.ttlMs : checkTtl(options.ttlMs, 'options.ttlMs');
  }

  // ---- loads --------------------------------------------------------------------------------------

  private startFlight(key: string, loader: Loader<string, V>, ttlMs: number): Flight<V> {
    const controller = new AbortController();
    const onClose = (): void => controller.abort(this.closing.signal.reason);
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const flight: Flight<V> = {
      promise: Promise.resolve(undefined as V),
      controller,
      waiters: 0,
      detached: false,
      abandon: (reason) => {
        if (this.flights.get(key) === flight) this.flights.delete(key);
        controller.abort(reason);
      },
    };
    this.flights.set(key, flight);
    flight.promise = this.load(key, loader, ttlMs, controller.signal).finally(() => {
      this.closing.signal.removeEventListener('abort', onClose);
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    flight.promise.catch(() => undefined);
    return flight;
  }

  private async load(key: string, loader: Loader<string, V>, ttlMs: number, signal: AbortSignal): Promise<V> {
    const shared = await this.readThrough(key);
    if (shared !== undefined) return shared;
    for (;;) {
      signal.throwIfAborted();
      const token = randomUUID();
      const lock = await this.command('lock', (c) =>
        c.call('SET', [this.lockKey(key), token, 'NX', 'PX', this.o.lockMs]),
      );
      // Without Redis there is no lock to take: load here rather than fail.
      if (lock === FAILED || lock === 'OK') {
        return this.loadHere(key, loader, ttlMs, signal, lock === 'OK' ? token : undefined);
      }
      this.loads.waits++;
      const value = await this.waitForOther(key, signal);
      if (value !== undefined) return value;
    }
  }

  /** Runs the loader holding the lock (`token`, when Redis could be reached), then stores and releases. */
  private async loadHere(
    key: string,
    loader: Loader<string, V>,
    ttlMs: number,
    signal: AbortSignal,
    token: string | undefined,
  ): Promise<V> {
    const lockKey = this.lockKey(key);
    const release = (): Promise<unknown> =>
      token === undefined
        ? Promise.resolve()
        : this.command('unlock', (c) => RELEASE_LOCK.run(c, [lockKey], [token]));
    // A loader slower than the lock would let another process start a second load: keep extending it.
    const extend =
      token === undefined
        ? undefined
        : setInterval(
            () =>
              void this.command('extend lock', (c) => EXTEND_LOCK.run(c, [lockKey], [token, this.o.lockMs])),
            Math.max(5, Math.floor(this.o.lockMs / 3)),
          );
    extend?.unref();
    let value: V;
    try {
      value = await loader(key, { signal, staleValue: undefined });
      if (value === undefined) {
        throw new ValidationError(
          `[bulwark] [cache] loader for key ${JSON.stringify(key)} returned undefined`,
          {
            path: 'loader',
          },
        );
      }
    } catch (error) {
      clearInterval(extend);
      this.loads.failures++;
      await release();
      throw error;
    }
    clearInterval(extend);
    this.loads.successes++;
    if (!signal.aborted) {
      let text: string | undefined;
      try {
        text = this.serialize(value);
      } catch (error) {
        this.failed(error, 'serialize');
      }
      this.invalidated(key);
      this.keepLocal(key, value, ttlMs);
      // Stored before the lock goes, so a waiter that sees the lock gone finds the value.
      if (text !== undefined) await this.writeRemote(key, text, ttlMs);
      await this.broadcast(key);
    }
    await release();
    return value;
  }

  /**
   * Waits while another process holds the key's lock: woken by its broadcast, or every `pollMs`.
   * Returns the value once it is in Redis, or `undefined` when the lock is gone without one (the
   * holder failed or died) or Redis cannot be reached: then the caller loads.
   */
  private async waitForOther(key: string, signal: AbortSignal): Promise<V | undefined> {
    for (;;) {
      await this.sleep(key, signal);
      signal.throwIfAborted();
      const value = await this.readThrough(key);
      if (value !== undefined) return value;
      const held = await this.command('lock check', (c) => c.call('EXISTS', [this.lockKey(key)]));
      if (held === FAILED || Number(held) === 0) return undefined;
    }
  }

  private sleep(key: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let wakers = this.wakers.get(key);
      if (wakers === undefined) {
        wakers = new Set();
        this.wakers.set(key, wakers);
      }
      const set = wakers;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0 && this.wakers.get(key) === set) this.wakers.delete(key);
        resolve();
      };
      const timer = setTimeout(done, this.o.pollMs);
      timer.unref();
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  private wake(key: string): void {
    const wakers = this.wakers.get(key);
    if (wakers === undefined) return;
    for (const wake of [...wakers]) wake();
  }
}

/** Creates a cache shared by every process that uses the same Redis and `name`. See {@link SharedCacheOptions}. */
export function createSharedCache<V>(options: SharedCacheOptions<V> = {}): SharedCache<V> {
  return new SharedCache<V>(options);
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') {
    throw new ValidationError(`[bulwark] [cache] a shared cache key must be a string, got ${typeof key}`, {
      path: 'key',
    });
  }
}
