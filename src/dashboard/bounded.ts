/**
 * The store as the dashboard, the API, the live feed and the health endpoints use it: every call is
 * bounded in time. A store that does not answer (a Redis client queues commands while it reconnects,
 * a network that drops packets) fails the call with a StoreError after `timeoutMs`, so no request
 * waits on it: the API answers 503 with the store's error, the feed says `store`, the verdict turns
 * UNHEALTHY. The call itself is not cancelled (a store has no way to), and the write of an action that
 * timed out may still land: the message says so.
 */
import { StoreError } from '../kernel/errors.js';
import type { Store } from '../store/types.js';

export function boundedStore(store: Store, timeoutMs: number, label: string): Store {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'close' || prop === 'subscribe') return value;
      if (prop === Symbol.asyncDispose) return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        const method = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]): unknown => {
          const r = method.apply(target, args);
          if (!(r instanceof Promise)) return r;
          let timer: NodeJS.Timeout | undefined;
          const limit = new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new StoreError(
                    `[bulwark] [dashboard] the store ${label} did not answer within ${timeoutMs} ms (${String(prop)})`,
                  ),
                ),
              timeoutMs,
            );
            timer.unref();
          });
          // The call's own rejection after the bound is not an unhandled one.
          r.catch(() => undefined);
          return Promise.race([r, limit]).finally(() => clearTimeout(timer));
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
