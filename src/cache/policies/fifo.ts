import { SlotLists, NIL, type EvictionPolicy } from './policy.js';

/** First in, first out: hits change nothing, so a get costs no list work; the oldest insert is evicted. */
export class FifoPolicy implements EvictionPolicy {
  readonly usesHash = false;
  protected readonly order: SlotLists;

  constructor(slots: number) {
    this.order = new SlotLists(1, slots);
  }

  grow(slots: number): void {
    this.order.grow(slots);
  }

  insert(slot: number): void {
    this.order.push(0, slot + 1);
  }

  access(_slot: number): void {}

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
