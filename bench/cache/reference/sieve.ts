import { KeyLists } from './lists.js';

/**
 * SIEVE (Zhang et al., NSDI 2024): one FIFO list and a "visited" bit per key; a hand walks from the
 * oldest end towards the newest, clearing visited bits, and evicts the first unvisited key it meets,
 * staying there for the next eviction. Hits never move a key. Returns the number of hits.
 */
export function simulateSieve(keys: Int32Array, universe: number, capacity: number): number {
  const l = new KeyLists(universe, 1);
  const sentinel = universe;
  const visited = new Uint8Array(universe);
  let hand = -1;
  let hits = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (l.owner[k] === 0) {
      hits++;
      visited[k] = 1;
      continue;
    }
    if (l.sizes[0]! >= capacity) {
      let h = hand < 0 ? l.oldest(0) : hand;
      while (visited[h] === 1) {
        visited[h] = 0;
        h = l.prev[h]!; // towards the newest end
        if (h === sentinel) h = l.oldest(0);
      }
      const towardsNewest = l.prev[h]!;
      hand = towardsNewest === sentinel ? -1 : towardsNewest;
      l.remove(h);
    }
    visited[k] = 0;
    l.pushFront(0, k);
  }
  return hits;
}
