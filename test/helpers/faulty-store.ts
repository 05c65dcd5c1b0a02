/**
 * Fault injection for any store: wrap it, then make chosen calls fail, fail after they took effect
 * (a connection lost after the commit), hang, time out or slow down, on demand. The wrapped store is a
 * real store in every other respect: the conformance suite runs fault cases on every backend with it.
 */
import type { Store } from '../../src/store/index.js';

export type StoreMethod = {
  [K in keyof Store]-?: Store[K] extends ((...args: never[]) => unknown) | undefined ? K : never;
}[keyof Store] &
  string;

export type FaultKind =
  /** Reject before calling the store: nothing happened. */
  | 'fail'
  /** Call the store, then reject: it happened, but the caller cannot know. */
  | 'failAfter'
  /** Never settle (until `heal()`). */
  | 'hang'
  /** Reject with a timeout error after `ms`, without calling the store. */
  | 'timeout'
  /** Call the store after `ms`. */
  | 'delay';

interface Rule {
  kind: FaultKind;
  /** Calls left to affect (Infinity: until healed). */
  left: number;
  ms: number;
  error: () => Error;
}

export interface Faults {
  /** Affects the next `times` calls of `method` (default: every call until `heal`). */
  inject(
    method: StoreMethod,
    kind: FaultKind,
    options?: { times?: number; ms?: number; error?: Error },
  ): void;
  /** Removes every rule; hung calls then proceed to the store. */
  heal(): void;
  /** How many calls of each method were affected. */
  readonly hits: Partial<Record<StoreMethod, number>>;
}

export function faultyStore<S extends Store>(store: S): { store: S; faults: Faults } {
  const rules = new Map<string, Rule>();
  const hits: Partial<Record<StoreMethod, number>> = {};
  const hung = new Set<() => void>();
  const faults: Faults = {
    inject(method, kind, options = {}) {
      const error = options.error;
      rules.set(method, {
        kind,
        left: options.times ?? Infinity,
        ms: options.ms ?? 0,
        error: () =>
          error ?? Object.assign(new Error(`injected ${kind} in ${method}`), { code: 'ECONNRESET' }),
      });
    },
    heal() {
      rules.clear();
      for (const release of hung) release();
      hung.clear();
    },
    hits,
  };
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const call = (...args: unknown[]): unknown =>
        (value as (...a: unknown[]) => unknown).apply(target, args);
      return (...args: unknown[]): unknown => {
        const rule = rules.get(prop);
        if (!rule || rule.left <= 0) return call(...args);
        rule.left--;
        hits[prop as StoreMethod] = (hits[prop as StoreMethod] ?? 0) + 1;
        switch (rule.kind) {
          case 'fail':
            return Promise.reject(rule.error());
          case 'failAfter':
            return Promise.resolve(call(...args)).then(() => Promise.reject(rule.error()));
          case 'hang':
            return new Promise((resolve) => hung.add(() => resolve(call(...args))));
          case 'timeout':
            return sleep(rule.ms).then(() =>
              Promise.reject(Object.assign(new Error(`injected timeout in ${prop}`), { code: 'ETIMEDOUT' })),
            );
          case 'delay':
            return sleep(rule.ms).then(() => call(...args));
        }
      };
    },
  });
  return { store: proxy, faults };
}
