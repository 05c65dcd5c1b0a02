/**
 * Fallback: when the call fails (or a breaker refuses it), answer with a cached value, the result
 * of a function of the error, or a fixed value, tried in that order. With a cache, every success
 * is stored under the key, so the last good value is what a failure serves.
 */
import { z } from 'zod';
import { ValidationError } from '../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import type { CallContext } from './policy.js';
import { Policy, next, zFunction, type Task } from './policy.js';

/** Anything with get/set: a Map, an lru-cache, bulwark's cache. */
export interface FallbackCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): unknown;
}

export interface FallbackOptions<V> {
  /** Serve the last good value stored here under `key`. */
  cache?: FallbackCache<V>;
  /** The cache key (a function is called once per call). */
  key?: string | (() => string);
  /** Compute a value from the error. */
  fn?: (error: unknown) => V | Promise<V>;
  /** A fixed value. */
  value?: V;
  /** Errors to fall back on. @default every error, unless the caller's signal aborted */
  when?: (error: unknown) => boolean;
}

export interface FallbackEvents {
  fallback: { error: unknown; source: 'cache' | 'fn' | 'value' };
}

const zFallbackOptions = z
  .strictObject({
    cache: z
      .custom<FallbackCache<unknown>>(
        (c) =>
          typeof c === 'object' &&
          c !== null &&
          typeof (c as FallbackCache<unknown>).get === 'function' &&
          typeof (c as FallbackCache<unknown>).set === 'function',
        'expected a cache { get(key), set(key, value) }',
      )
      .optional(),
    key: z.union([z.string(), zFunction<() => string>()]).optional(),
    fn: zFunction<(error: unknown) => unknown>().optional(),
    value: z.unknown().optional(),
    when: zFunction<(error: unknown) => boolean>().optional(),
  })
  .superRefine((o, ctx) => {
    if (o.cache !== undefined && o.key === undefined)
      ctx.addIssue({ code: 'custom', path: ['key'], message: 'is needed with a cache' });
  });

export class FallbackPolicy<V> extends Policy<V> {
  private readonly events = new TypedEmitter<FallbackEvents>(undefined, { fallback: true });
  private readonly cache: FallbackCache<V> | undefined;
  private readonly key: string | (() => string) | undefined;
  private readonly fn: ((error: unknown) => V | Promise<V>) | undefined;
  private readonly hasValue: boolean;
  private readonly value: V | undefined;
  private readonly when: ((error: unknown) => boolean) | undefined;

  constructor(options: FallbackOptions<V>) {
    super();
    parseOptions(zFallbackOptions, options, 'fallback');
    // `null` passes parseOptions as "no options": it then lacks a value, a fn and a cache.
    options = options ?? ({} as FallbackOptions<V>);
    if (options.cache === undefined && options.fn === undefined && !('value' in options)) {
      throw new ValidationError('[bulwark] invalid fallback: give a value, a fn or a cache', {
        path: 'fallback',
      });
    }
    this.cache = options.cache;
    this.key = options.key;
    this.fn = options.fn;
    this.hasValue = 'value' in options;
    this.value = options.value;
    this.when = options.when;
  }

  on<K extends keyof FallbackEvents>(event: K, listener: Listener<FallbackEvents[K]>): Disposer {
    return this.events.on(event, listener);
  }

  /** @internal */
  step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    const key = this.cache === undefined ? '' : typeof this.key === 'function' ? this.key() : this.key!;
    let r: unknown;
    try {
      r = next(chain, i, fn, ctx);
    } catch (error) {
      return this.recover(error, key, ctx);
    }
    if (r instanceof Promise) {
      return r.then(
        (value: unknown) => this.store(key, value),
        (error: unknown) => this.recover(error, key, ctx),
      );
    }
    return this.store(key, r);
  }

  private store(key: string, value: unknown): unknown {
    if (this.cache !== undefined) this.cache.set(key, value as V);
    return value;
  }

  private recover(error: unknown, key: string, ctx: CallContext): unknown {
    if (ctx.aborted() || (this.when !== undefined && !this.when(error))) throw error;
    if (this.cache !== undefined) {
      const hit = this.cache.get(key);
      if (hit !== undefined) {
        this.events.emit('fallback', { error, source: 'cache' });
        return hit;
      }
    }
    if (this.fn !== undefined) {
      this.events.emit('fallback', { error, source: 'fn' });
      return this.fn(error);
    }
    if (this.hasValue) {
      this.events.emit('fallback', { error, source: 'value' });
      return this.value;
    }
    throw error;
  }
}

/** A fallback policy: `fallback({ value })`, `fallback({ fn: (e) => … })`, `fallback({ cache, key })`. */
export function fallback<V>(options: FallbackOptions<V>): FallbackPolicy<V> {
  return new FallbackPolicy(options);
}
