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
 * Intrusive circular doubly-linked lists over slots, all sharing one array (an entry is in at most
 * one list). Node `i` of list `l`'s sentinel is `l`; slot `s` is node `s + lists`. A node is four
 * ints side by side: `prev` (`links[4n]`), `next` (`links[4n + 1]`) and two words a policy may use
 * for its own per-entry data (`links[4n + 2]`, `links[4n + 3]`), so touching an entry costs one cache
 * line. The sentinel makes link/unlink branch-free; `next` of a sentinel is the list's oldest end.
 * @internal
 */
export class SlotLists {
  links: Int32Array;

  constructor(
    readonly lists: number,
    slots: number,
  ) {
    this.links = new Int32Array(4 * (lists + slots));
    this.reset();
  }

  grow(slots: number): void {
    const size = 4 * (this.lists + slots);
    if (size <= this.links.length) return;
    const links = new Int32Array(size);
    links.set(this.links);
    this.links = links;
  }

  reset(): void {
    for (let l = 0; l < this.lists; l++) {
      this.links[4 * l] = l;
      this.links[4 * l + 1] = l;
    }
  }

  /** Appends node `n` at the newest (MRU) end of list `l`. */
  push(l: number, n: number): void {
    const links = this.links;
    const tail = links[4 * l]!;
    links[4 * tail + 1] = n;
    links[4 * n] = tail;
    links[4 * n + 1] = l;
    links[4 * l] = n;
  }

  unlink(n: number): void {
    const links = this.links;
    const p = links[4 * n]!;
    const x = links[4 * n + 1]!;
    links[4 * p + 1] = x;
    links[4 * x] = p;
  }

  /** Moves node `n` (already in list `l`) to its newest end. */
  moveToEnd(l: number, n: number): void {
    const links = this.links;
    const tail = links[4 * l]!;
    if (tail === n) return;
    const p = links[4 * n]!;
    const x = links[4 * n + 1]!;
    links[4 * p + 1] = x;
    links[4 * x] = p;
    links[4 * tail + 1] = n;
    links[4 * n] = tail;
    links[4 * n + 1] = l;
    links[4 * l] = n;
  }

  /** The oldest node of list `l`, or `l` itself when the list is empty. */
  oldest(l: number): number {
    return this.links[4 * l + 1]!;
  }

  /** The node after `n` (towards the newest end); a list's sentinel after its newest node. */
  after(n: number): number {
    return this.links[4 * n + 1]!;
  }
}
