import { SlotLists, NIL, type EvictionPolicy } from './policy.js';

/** Least recently used: a hit moves the entry to the newest end; the oldest end is evicted. */
export class LruPolicy implements EvictionPolicy {
  readonly usesHash = false;
  private readonly order: SlotLists;

  constructor(slots: number) {
    this.order = new SlotLists(1, slots);
  }

  grow(slots: number): void {
    this.order.grow(slots);
  }

  insert(slot: number): void {
    this.order.push(0, slot + 1);
  }

  access(slot: number): void {
    this.order.moveToEnd(0, slot + 1);
  }

  recordMiss(): void {}

  remove(slot: number): void {
    this.order.unlink(slot + 1);
  }

  victim(): number {
    const n = this.order.oldest(0);
    return n === 0 ? NIL : n - 1;
  }

  clear(): void {
    this.order.reset();
  }
}
