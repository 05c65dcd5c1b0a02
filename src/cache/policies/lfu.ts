import { SlotLists, NIL, type EvictionPolicy } from './policy.js';

/**
 * Least frequently used, counting hits while an entry is cached, ties broken by least recent use.
 * One list per frequency gives O(1) hits and evictions. Counts saturate at `MAX_FREQUENCY`: beyond
 * that every entry is "hot" and recency decides, which also keeps a once-hot entry from staying
 * forever.
 */
const MAX_FREQUENCY = 255;

export class LfuPolicy implements EvictionPolicy {
  readonly usesHash = false;
  private readonly buckets: SlotLists;
  private frequency: Uint8Array;
  /** Never above the true minimum frequency; `victim` walks it up past emptied buckets. */
  private minFrequency = 1;

  constructor(slots: number) {
    this.buckets = new SlotLists(MAX_FREQUENCY + 1, slots);
    this.frequency = new Uint8Array(slots);
  }

  grow(slots: number): void {
    this.buckets.grow(slots);
    if (slots > this.frequency.length) {
      const f = new Uint8Array(slots);
      f.set(this.frequency);
      this.frequency = f;
    }
  }

  insert(slot: number): void {
    this.frequency[slot] = 1;
    this.buckets.push(1, slot + MAX_FREQUENCY + 1);
    this.minFrequency = 1;
  }

  access(slot: number): void {
    const n = slot + MAX_FREQUENCY + 1;
    const f = this.frequency[slot]!;
    if (f === MAX_FREQUENCY) {
      this.buckets.moveToEnd(f, n);
      return;
    }
    this.buckets.unlink(n);
    this.buckets.push(f + 1, n);
    this.frequency[slot] = f + 1;
    if (f === this.minFrequency && this.buckets.oldest(f) === f) this.minFrequency = f + 1;
  }

  recordMiss(): void {}

  remove(slot: number): void {
    this.buckets.unlink(slot + MAX_FREQUENCY + 1);
  }

  victim(): number {
    let f = this.minFrequency;
    while (f <= MAX_FREQUENCY && this.buckets.oldest(f) === f) f++;
    if (f > MAX_FREQUENCY) return NIL;
    this.minFrequency = f;
    return this.buckets.oldest(f) - MAX_FREQUENCY - 1;
  }

  clear(): void {
    this.buckets.reset();
    this.minFrequency = 1;
  }
}
