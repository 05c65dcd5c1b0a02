/**
 * The contract between the cache core and an eviction policy. @internal
 *
 * The core owns keys, values and slots (dense integer indices); a policy only orders slots. Every
 * method takes slot numbers so a policy keeps its bookkeeping in typed arrays and allocates nothing
 * per operation.
 */
export interface EvictionPolicy {
  /** True when the policy wants `hash` arguments (frequency-aware policies); the core skips hashing otherwise. */
  readonly usesHash: boolean;
  /** The core grew its slot arrays to `slots` entries. */
  grow(slots: number): void;
  /** A new entry now occupies `slot`. */
  insert(slot: number, hash: number): void;
  /** A hit (or an overwrite) on the entry in `slot`. */
  access(slot: number): void;
  /** A lookup of an absent key, for policies that count the frequency of keys they do not hold. */
  recordMiss(hash: number): void;
  /** The entry in `slot` left the cache (deleted, expired or evicted). */
  remove(slot: number): void;
  /**
   * The slot to evict now that the cache is over a limit (`entries` is the current entry count, which
   * frequency-aware policies use as their capacity when only a byte limit applies). -1 when empty.
   */
  victim(entries: number): number;
  clear(): void;
}

export const NIL = -1;

/**
 * Intrusive circular doubly-linked lists over slots, all sharing one pair of arrays (an entry is in at
 * most one list). Node `i` of list `l`'s sentinel is `l`; slot `s` is node `s + lists`. The sentinel
 * makes link/unlink branch-free; `next` of a sentinel is the list's oldest (LRU) end.
 * @internal
 */
export class SlotLists {
  prev: Int32Array;
  next: Int32Array;

  constructor(
    readonly lists: number,
    slots: number,
  ) {
    this.prev = new Int32Array(lists + slots);
    this.next = new Int32Array(lists + slots);
    this.reset();
  }

  grow(slots: number): void {
    const size = this.lists + slots;
    if (size <= this.prev.length) return;
    const prev = new Int32Array(size);
    const next = new Int32Array(size);
    prev.set(this.prev);
    next.set(this.next);
    this.prev = prev;
    this.next = next;
  }

  reset(): void {
    for (let l = 0; l < this.lists; l++) {
      this.prev[l] = l;
      this.next[l] = l;
    }
  }

  /** Appends node `n` at the newest (MRU) end of list `l`. */
  push(l: number, n: number): void {
    const prev = this.prev;
    const tail = prev[l]!;
    this.next[tail] = n;
    prev[n] = tail;
    this.next[n] = l;
    prev[l] = n;
  }

  unlink(n: number): void {
    const prev = this.prev;
    const next = this.next;
    const p = prev[n]!;
    const x = next[n]!;
    next[p] = x;
    prev[x] = p;
  }

  /** Moves node `n` (already in list `l`) to its newest end. */
  moveToEnd(l: number, n: number): void {
    const prev = this.prev;
    const tail = prev[l]!;
    if (tail === n) return;
    const next = this.next;
    const p = prev[n]!;
    const x = next[n]!;
    next[p] = x;
    prev[x] = p;
    next[tail] = n;
    prev[n] = tail;
    next[n] = l;
    prev[l] = n;
  }

  /** The oldest node of list `l`, or `l` itself when the list is empty. */
  oldest(l: number): number {
    return this.next[l]!;
  }
}
