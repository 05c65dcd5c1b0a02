/** Validation of cache options at the boundary. @internal */
import { z } from 'zod';
import { systemClock, type Clock } from '../kernel/clock.js';
import { ValidationError } from '../kernel/errors.js';
import { parseOptions } from '../kernel/validate.js';
import { POLICY_NAMES, type PolicyName } from './policies/index.js';
import type { CacheOptions, EvictionReason } from './types.js';

export const DEFAULT_MAX_ENTRIES = 10_000;

const fn = <T>(what: string) =>
  z.custom<T>((v) => typeof v === 'function', { message: `must be a function (${what})` });
const positiveOrInfinity = z.union([z.number().positive(), z.literal(Infinity)]);
const nonNegativeOrInfinity = z.union([z.number().nonnegative(), z.literal(Infinity)]);

const schema = z.strictObject({
  maxEntries: z.union([z.number().int().positive(), z.literal(Infinity)]).optional(),
  maxBytes: positiveOrInfinity.optional(),
  sizeOf: fn<(value: unknown, key: unknown) => number>('value, key) => bytes').optional(),
  policy: z.enum(POLICY_NAMES).optional(),
  ttlMs: positiveOrInfinity.optional(),
  staleWhileRevalidateMs: nonNegativeOrInfinity.optional(),
  staleIfErrorMs: nonNegativeOrInfinity.optional(),
  onEvict: fn<(value: unknown, key: unknown, reason: EvictionReason) => void>(
    'value, key, reason) => void',
  ).optional(),
  trackAccessTime: z.boolean().optional(),
  clock: z
    .custom<Clock>((v) => typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function', {
      message: 'must be an object with a now() method',
    })
    .optional(),
  name: z.string().min(1).optional(),
});

export interface ResolvedOptions<K, V> {
  maxEntries: number;
  maxBytes: number;
  sizeOf: ((value: V, key: K) => number) | undefined;
  policy: PolicyName;
  ttlMs: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  onEvict: ((value: V, key: K, reason: EvictionReason) => void) | undefined;
  trackAccessTime: boolean;
  clock: Clock;
  name: string;
}

export function resolveOptions<K, V>(options: CacheOptions<K, V> | undefined): ResolvedOptions<K, V> {
  const o = parseOptions(schema, options, 'cache options');
  const maxEntries = o.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const maxBytes = o.maxBytes ?? Infinity;
  if (maxEntries === Infinity && maxBytes === Infinity) {
    throw new ValidationError(
      '[bulwark] invalid cache options.maxEntries: maxEntries and maxBytes cannot both be Infinity (an unbounded cache is a leak)',
      { path: 'cache options.maxEntries' },
    );
  }
  return {
    maxEntries,
    maxBytes,
    sizeOf: o.sizeOf as ((value: V, key: K) => number) | undefined,
    policy: o.policy ?? 'adaptive',
    ttlMs: o.ttlMs ?? Infinity,
    staleWhileRevalidateMs: o.staleWhileRevalidateMs ?? 0,
    staleIfErrorMs: o.staleIfErrorMs ?? 0,
    onEvict: o.onEvict as ((value: V, key: K, reason: EvictionReason) => void) | undefined,
    trackAccessTime: o.trackAccessTime ?? false,
    clock: o.clock ?? systemClock,
    name: o.name ?? 'default',
  };
}

/** A per-call TTL: a positive number of milliseconds or Infinity. */
export function checkTtl(ttlMs: unknown, path: string): number {
  if (typeof ttlMs !== 'number' || !(ttlMs > 0)) {
    throw new ValidationError(
      `[bulwark] invalid ${path}: must be a positive number of milliseconds or Infinity, got ${String(ttlMs)}`,
      { path },
    );
  }
  return ttlMs;
}

/** Checks getOrLoad's loader and options (shared by the cache and its shared tier); returns the TTL, if given. */
export function checkLoad(loader: unknown, options: unknown): number | undefined {
  if (typeof loader !== 'function') {
    throw new ValidationError('[bulwark] invalid getOrLoad loader: must be a function', { path: 'loader' });
  }
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError('[bulwark] invalid getOrLoad options: must be an object', { path: 'options' });
  }
  const { signal, ttlMs } = options as { signal?: unknown; ttlMs?: unknown };
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new ValidationError('[bulwark] invalid getOrLoad options.signal: must be an AbortSignal', {
      path: 'options.signal',
    });
  }
  return ttlMs === undefined ? undefined : checkTtl(ttlMs, 'getOrLoad options.ttlMs');
}
