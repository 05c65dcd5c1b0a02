/**
 * Doubly-linked lists over dense integer keys, for the reference simulators. Every key is in at most
 * one list; list `l`'s sentinel is node `universe + l`, so a key is its own node and nothing is
 * allocated per request. `next` of a sentinel is the list's most recent end, `prev` its oldest.
 */
export class KeyLists {
  readonly prev: Int32Array;
  readonly next: Int32Array;
  /** Which list holds a key, or -1. */
  readonly owner: Int8Array;
  readonly sizes: Int32Array;

  constructor(
    readonly universe: number,
    lists: number,
  ) {
    this.prev = new Int32Array(universe + lists);
    this.next = new Int32Array(universe + lists);
    this.owner = new Int8Array(universe).fill(-1);
    this.sizes = new Int32Array(lists);
    for (let l = 0; l < lists; l++) {
      this.prev[universe + l] = universe + l;
      this.next[universe + l] = universe + l;
    }
  }

  /** Adds `key` at list `l`'s most recent end. */
  pushFront(l: number, key: number): void {
    const s = this.universe + l;
    const first = this.next[s]!;
    this.next[s] = key;
    this.prev[key] = s;
    this.next[key] = first;
    this.prev[first] = key;
    this.owner[key] = l;
    this.sizes[l]!++;
  }

  remove(key: number): void {
    const p = this.prev[key]!;
    const n = this.next[key]!;
    this.next[p] = n;
    this.prev[n] = p;
    this.sizes[this.owner[key]!]!--;
    this.owner[key] = -1;
  }

  /** The least recent key of list `l`, or -1 when it is empty. */
  oldest(l: number): number {
    const k = this.prev[this.universe + l]!;
    return k >= this.universe ? -1 : k;
  }

  /** Moves `key` to list `l`'s most recent end (it may already be in `l`). */
  moveFront(l: number, key: number): void {
    this.remove(key);
    this.pushFront(l, key);
  }
}
