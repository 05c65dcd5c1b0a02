/** Options of the shared (two-tier) cache and their validation. @internal */
import { z } from 'zod';
import { ValidationError } from '../../kernel/errors.js';
import { parseOptions } from '../../kernel/validate.js';
import type { CacheOptions } from '../types.js';
import type { SharedRedisClient } from './client.js';

export interface SharedCacheOptions<V> {
  /**
   * The cache's name: its keys, lock keys and invalidation channel live under `keyPrefix + name`, so
   * every process that uses the same name shares the same entries.
   * @default 'default'
   */
  name?: string;
  /** Starts every Redis key of every shared cache. @default 'bulwark:cache:' */
  keyPrefix?: string;
  /**
   * Your own ioredis connection (not a Cluster): the cache sends its commands on it and opens one
   * more (`duplicate()`) for the invalidation subscription; `close()` leaves yours open.
   */
  redis?: SharedRedisClient;
  /** Where Redis listens, when no `redis` is given; ioredis is imported on first use. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** Default time to live of an entry in both tiers, in ms; `Infinity` never expires. @default Infinity */
  ttlMs?: number;
  /**
   * The in-process tier (L1): its limits, policy and hooks. Its TTLs follow the shared tier's: an
   * entry read from Redis lives in L1 for what is left of its time in Redis.
   * @default { maxEntries: 10000 }
   */
  l1?: Omit<CacheOptions<string, V>, 'ttlMs' | 'staleWhileRevalidateMs' | 'staleIfErrorMs' | 'clock'>;
  /**
   * How long one process may load a key while the others wait for it, in ms. The holder extends it
   * while its loader runs; if the holder dies, the lock lapses after this long and another loads.
   * @default 10000
   */
  lockMs?: number;
  /** How often a process waiting for another's load checks Redis, in ms (a broadcast usually wakes it sooner). @default 50 */
  pollMs?: number;
  /** Longest wait for one Redis command before it counts as an error, in ms. @default 500 */
  redisTimeoutMs?: number;
  /** Turns a value into the string stored in Redis. @default JSON.stringify */
  serialize?: (value: V) => string;
  /** Turns the stored string back into a value. @default JSON.parse */
  deserialize?: (text: string) => V;
  /** Told about every Redis error (the cache never throws them at `get`). @default ignore */
  onError?: (error: unknown, operation: string) => void;
}

export interface ResolvedSharedOptions<V> {
  name: string;
  keyPrefix: string;
  redis: SharedRedisClient | undefined;
  url: string;
  ttlMs: number;
  l1: CacheOptions<string, V>;
  lockMs: number;
  pollMs: number;
  redisTimeoutMs: number;
  serialize: (value: V) => string;
  deserialize: (text: string) => V;
  onError: (error: unknown, operation: string) => void;
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', {
  message: 'must be a function',
});

const schema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits and _ . : - only')
    .optional(),
  keyPrefix: z.string().max(200).optional(),
  redis: z
    .custom<SharedRedisClient>(
      (c) =>
        typeof c === 'object' &&
        c !== null &&
        typeof (c as SharedRedisClient).call === 'function' &&
        typeof (c as SharedRedisClient).duplicate === 'function',
      { message: 'expected an ioredis Redis instance' },
    )
    .optional(),
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'use a redis:// or rediss:// URL')
    .optional(),
  ttlMs: z.union([z.number().positive(), z.literal(Infinity)]).optional(),
  l1: z.object({}).passthrough().optional(),
  lockMs: z.number().int().min(10).max(3_600_000).optional(),
  pollMs: z.number().int().min(1).max(60_000).optional(),
  redisTimeoutMs: z.number().int().min(1).max(60_000).optional(),
  serialize: fn.optional(),
  deserialize: fn.optional(),
  onError: fn.optional(),
});

export function resolveSharedOptions<V>(
  options: SharedCacheOptions<V> | undefined,
): ResolvedSharedOptions<V> {
  const o = parseOptions(schema, options, 'shared cache options');
  if (o.redis !== undefined && o.url !== undefined) {
    throw new ValidationError('[bulwark] invalid shared cache options: give either redis or url, not both', {
      path: 'shared cache options.url',
    });
  }
  const l1 = (o.l1 ?? {}) as CacheOptions<string, V>;
  for (const banned of ['ttlMs', 'staleWhileRevalidateMs', 'staleIfErrorMs', 'clock'] as const) {
    if (banned in l1) {
      throw new ValidationError(
        `[bulwark] invalid shared cache options.l1.${banned}: the shared tier sets it (use ttlMs of the shared cache)`,
        { path: `shared cache options.l1.${banned}` },
      );
    }
  }
  return {
    name: o.name ?? 'default',
    keyPrefix: o.keyPrefix ?? 'bulwark:cache:',
    redis: o.redis,
    url: o.url ?? 'redis://127.0.0.1:6379',
    ttlMs: o.ttlMs ?? Infinity,
    l1,
    lockMs: o.lockMs ?? 10_000,
    pollMs: o.pollMs ?? 50,
    redisTimeoutMs: o.redisTimeoutMs ?? 500,
    serialize: (o.serialize as ((value: V) => string) | undefined) ?? ((v: V) => JSON.stringify(v)),
    deserialize: (o.deserialize as ((text: string) => V) | undefined) ?? ((t: string) => JSON.parse(t) as V),
    onError: (o.onError as ((error: unknown, operation: string) => void) | undefined) ?? (() => {}),
  };
}
