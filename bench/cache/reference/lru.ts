import { KeyLists } from './lists.js';

/** Least recently used. Returns the number of hits. */
export function simulateLru(keys: Int32Array, universe: number, capacity: number): number {
  const lists = new KeyLists(universe, 1);
  let hits = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (lists.owner[k] === 0) {
      hits++;
      lists.moveFront(0, k);
      continue;
    }
    if (lists.sizes[0]! >= capacity) lists.remove(lists.oldest(0));
    lists.pushFront(0, k);
  }
  return hits;
}
