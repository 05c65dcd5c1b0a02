import type { Store } from '../store/types.js';

/**
 * In-process wake-ups: a Queue that adds a job tells the workers of the same store in this process
 * at once, whatever the store can do across processes (stores with `notify` add that on top).
 */
const listeners = new WeakMap<Store, Map<string, Set<() => void>>>();

export function onLocalReady(store: Store, queue: string, fn: () => void): () => void {
  let byQueue = listeners.get(store);
  if (!byQueue) listeners.set(store, (byQueue = new Map()));
  let set = byQueue.get(queue);
  if (!set) byQueue.set(queue, (set = new Set()));
  set.add(fn);
  return () => {
    set.delete(fn);
  };
}

export function signalLocalReady(store: Store, queue: string): void {
  const set = listeners.get(store)?.get(queue);
  if (set) for (const fn of set) fn();
}

const initialized = new WeakMap<Store, Promise<void>>();

/** Runs `store.init()` once per store object, however many queues and workers share it. */
export function ensureInit(store: Store): Promise<void> {
  let p = initialized.get(store);
  if (!p) {
    p = store.init();
    initialized.set(store, p);
    p.catch(() => initialized.delete(store));
  }
  return p;
}
