import { ValidationError } from '../kernel/errors.js';
import { Cache } from './cache.js';
import type { CacheOptions } from './types.js';

export interface MemoizeOptions<A extends unknown[]> extends Omit<CacheOptions<unknown, unknown>, 'sizeOf'> {
  /**
   * The cache key of a call. With one argument that is a string, number, boolean or bigint, the
   * argument itself; otherwise `JSON.stringify(args)`.
   */
  key?: (...args: A) => unknown;
  /** Share an existing cache instead of creating one (then the other cache options must not be given). */
  cache?: Cache<unknown, unknown>;
}

/** A memoized function, with the cache behind it for statistics, `delete` and `clear`. */
export type Memoized<A extends unknown[], R> = ((...args: A) => R) & {
  readonly cache: Cache<unknown, unknown>;
};

/** Stands for `undefined` results, which a cache cannot hold (get's "absent"). */
const UNDEFINED = Symbol('undefined');

/**
 * Caches `fn`'s results by argument. Works for sync and async functions:
 * - a sync result is stored as is;
 * - an async function's concurrent calls with the same key share one call (single flight), its
 *   resolved value is stored (a rejection is not), and the cache's `staleWhileRevalidateMs` /
 *   `staleIfErrorMs` apply as in {@link Cache.getOrLoad}.
 * Every call returns what `fn` would: a value, or a promise of one.
 */
export function memoize<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: MemoizeOptions<A> = {},
): Memoized<A, R> {
  if (typeof fn !== 'function') {
    throw new ValidationError('[bulwark] invalid memoize fn: must be a function', { path: 'fn' });
  }
  const { key: keyOf, cache: shared, ...cacheOptions } = options;
  if (keyOf !== undefined && typeof keyOf !== 'function') {
    throw new ValidationError('[bulwark] invalid memoize options.key: must be a function', {
      path: 'options.key',
    });
  }
  if (shared !== undefined && !(shared instanceof Cache)) {
    throw new ValidationError('[bulwark] invalid memoize options.cache: must be a Cache', {
      path: 'options.cache',
    });
  }
  if (shared !== undefined && Object.keys(cacheOptions).length > 0) {
    throw new ValidationError(
      '[bulwark] invalid memoize options: give either cache or cache options, not both',
      {
        path: 'options.cache',
      },
    );
  }
  const cache = shared ?? new Cache<unknown, unknown>(cacheOptions);
  const toKey = keyOf ?? defaultKey;
  /** Learned at the first call: whether `fn` returns promises, so a hit can return one too. */
  let isAsync = false;

  const memoized = function (this: unknown, ...args: A): R {
    const key = toKey(...args);
    if (isAsync) return load(key, () => fn.apply(this, args) as PromiseLike<unknown>) as R;
    const cached = cache.get(key);
    if (cached !== undefined) return (cached === UNDEFINED ? undefined : cached) as R;
    const result = fn.apply(this, args);
    if (isThenable(result)) {
      isAsync = true;
      return load(key, () => result) as R;
    }
    trySet(cache, key, result === undefined ? UNDEFINED : result);
    return result;
  };

  const load = async (key: unknown, call: () => PromiseLike<unknown>): Promise<unknown> => {
    const value = await cache.getOrLoad(key, async () => {
      const v = await call();
      return v === undefined ? UNDEFINED : v;
    });
    return value === UNDEFINED ? undefined : value;
  };

  Object.defineProperty(memoized, 'cache', { value: cache, enumerable: true });
  return memoized as Memoized<A, R>;
}

function defaultKey(...args: unknown[]): unknown {
  if (args.length === 1) {
    const a = args[0];
    const t = typeof a;
    if (t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint') return a;
  }
  return JSON.stringify(args, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** A result too large for the cache is still returned to the caller; it is just not kept. */
function trySet(cache: Cache<unknown, unknown>, key: unknown, value: unknown): void {
  try {
    cache.set(key, value);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'VALIDATION') throw error;
  }
}
