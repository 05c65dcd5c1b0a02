import { KeyLists } from './lists.js';

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;

/**
 * W-TinyLFU (Einziger, Friedman & Manes, 2017) with a static window: an LRU window of
 * `windowShare` of the capacity, then a segmented LRU main (80% protected) that admits the window's
 * oldest key only if a count-min sketch says it is requested more often than main's victim. The
 * sketch (4 rows of 4-bit counters, 16 counters per entry of capacity as in Caffeine, no doorkeeper) halves its counters every 10 × capacity
 * increments. Returns the number of hits.
 */
export function simulateWTinyLfu(
  keys: Int32Array,
  universe: number,
  capacity: number,
  windowShare = 0.01,
): number {
  const windowMax = Math.max(1, Math.round(capacity * windowShare));
  const mainMax = capacity - windowMax;
  const protectedMax = Math.floor(mainMax * 0.8);
  const l = new KeyLists(universe, 3);
  const size = l.sizes;
  const sketch = new CountMin4(capacity);
  let hits = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    sketch.increment(k);
    const where = l.owner[k]!;
    if (where >= 0) {
      hits++;
      if (where === PROBATION) {
        l.moveFront(PROTECTED, k);
        if (size[PROTECTED]! > protectedMax) l.moveFront(PROBATION, l.oldest(PROTECTED));
      } else {
        l.moveFront(where, k);
      }
      continue;
    }
    l.pushFront(WINDOW, k);
    if (size[WINDOW]! <= windowMax) continue;
    const candidate = l.oldest(WINDOW);
    l.moveFront(PROBATION, candidate);
    if (size[WINDOW]! + size[PROBATION]! + size[PROTECTED]! <= capacity) continue;
    let victim = l.oldest(PROBATION);
    if (victim === candidate) victim = l.oldest(PROTECTED) >= 0 ? l.oldest(PROTECTED) : candidate;
    l.remove(sketch.frequency(candidate) > sketch.frequency(victim) ? victim : candidate);
  }
  return hits;
}

/** A count-min sketch: 4 rows of 4-bit counters (kept in bytes), halved every 10 × capacity increments. */
class CountMin4 {
  private readonly table: Uint8Array;
  private readonly mask: number;
  private readonly resetAt: number;
  private additions = 0;

  constructor(capacity: number) {
    let width = 16;
    while (width < 4 * capacity) width *= 2;
    this.table = new Uint8Array(4 * width);
    this.mask = width - 1;
    this.resetAt = 10 * capacity;
  }

  private index(key: number, row: number): number {
    let h = Math.imul(key ^ SEEDS[row]!, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return row * (this.mask + 1) + (h & this.mask);
  }

  frequency(key: number): number {
    let min = 15;
    for (let r = 0; r < 4; r++) min = Math.min(min, this.table[this.index(key, r)]!);
    return min;
  }

  increment(key: number): void {
    let added = false;
    for (let r = 0; r < 4; r++) {
      const i = this.index(key, r);
      if (this.table[i]! < 15) {
        this.table[i]!++;
        added = true;
      }
    }
    if (added && ++this.additions >= this.resetAt) {
      for (let i = 0; i < this.table.length; i++) this.table[i]! >>= 1;
      this.additions >>>= 1;
    }
  }
}

const SEEDS = [0x97cb3127, 0xc2b2ae35, 0x165667b1, 0x27d4eb2f];
