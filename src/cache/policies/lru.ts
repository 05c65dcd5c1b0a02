import { FifoPolicy } from './fifo.js';

/** Least recently used: FIFO's single list, except that a hit moves the entry to the newest end. */
export class LruPolicy extends FifoPolicy {
  override access(slot: number): void {
    this.order.moveToEnd(0, slot + 1);
  }
}
