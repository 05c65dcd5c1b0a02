/**
 * A count-min sketch of recent key frequencies for TinyLFU admission. @internal
 *
 * Why these choices:
 * - Byte counters saturating at 15 (as 4-bit counters would): frequencies above 15 never change an
 *   admission decision, and plain bytes are faster to read and write in JS than packed nibbles.
 * - The four counters of a key sit in one 64-byte block (one cache line), one counter in each
 *   16-counter quarter, so two keys sharing a block rarely share all four counters.
 * - Conservative update (raise only the smallest counters) keeps collisions from inflating estimates.
 * - Aging: after `10 × capacity` increments every counter is halved, so yesterday's hot keys fade.
 * - A doorkeeper bit set absorbs each key's first sighting, so the one-hit wonders that dominate
 *   real traces do not pollute the counters; it is cleared on every aging step.
 */
export class FrequencySketch {
  private table: Uint8Array = new Uint8Array(0);
  /** The same counters seen four at a time, for aging. */
  private words: Uint32Array = new Uint32Array(0);
  private blockMask = 0;
  private door: Int32Array = new Int32Array(0);
  private doorMask = 0;
  private additions = 0;
  private sampleSize = 0;
  private capacity = 0;
  /** Counts agings, clears and resizes: a saturation seen in an older epoch no longer holds. */
  epoch = 0;

  constructor(
    capacity: number,
    private readonly ageFactor = 10,
  ) {
    this.ensureCapacity(capacity);
  }

  /** Resizes for a cache of `capacity` entries; a resize forgets all counts. */
  ensureCapacity(capacity: number): void {
    const c = Math.max(16, Math.min(capacity, 1 << 26));
    if (c <= this.capacity) return;
    this.capacity = c;
    const blocks = Math.max(1, nextPowerOfTwo(c) >>> 3); // 8 counters per entry, 64 per block
    this.table = new Uint8Array(blocks * 64);
    this.words = new Uint32Array(this.table.buffer);
    this.blockMask = blocks - 1;
    const doorBits = nextPowerOfTwo(c) * 4;
    this.door = new Int32Array(doorBits >>> 5);
    this.doorMask = doorBits - 1;
    this.sampleSize = this.ageFactor * c;
    this.additions = 0;
    this.epoch++;
  }

  /** The estimated number of recent occurrences of the key with hash `h` (0..16). */
  frequency(h: number): number {
    const t = this.table;
    const base = (h & this.blockMask) << 6;
    const s = spread(h);
    let min = t[base + (s & 15)]!;
    let c = t[base + 16 + ((s >>> 8) & 15)]!;
    if (c < min) min = c;
    c = t[base + 32 + ((s >>> 16) & 15)]!;
    if (c < min) min = c;
    c = t[base + 48 + ((s >>> 24) & 15)]!;
    if (c < min) min = c;
    return min + this.inDoor(h, s);
  }

  /**
   * Counts one occurrence. Returns true when the key's estimate is saturated: further increments
   * change nothing until the next aging (when `epoch` changes), so callers may skip them.
   */
  increment(h: number): boolean {
    const s = spread(h);
    if (this.enterDoor(h, s)) return false;
    const t = this.table;
    const base = (h & this.blockMask) << 6;
    const i0 = base + (s & 15);
    const i1 = base + 16 + ((s >>> 8) & 15);
    const i2 = base + 32 + ((s >>> 16) & 15);
    const i3 = base + 48 + ((s >>> 24) & 15);
    const c0 = t[i0]!;
    const c1 = t[i1]!;
    const c2 = t[i2]!;
    const c3 = t[i3]!;
    let min = c0 < c1 ? c0 : c1;
    if (c2 < min) min = c2;
    if (c3 < min) min = c3;
    if (min >= 15) return true;
    if (c0 === min) t[i0] = min + 1;
    if (c1 === min) t[i1] = min + 1;
    if (c2 === min) t[i2] = min + 1;
    if (c3 === min) t[i3] = min + 1;
    if (++this.additions >= this.sampleSize) {
      this.age();
      return false;
    }
    return min === 14;
  }

  clear(): void {
    this.table.fill(0);
    this.door.fill(0);
    this.additions = 0;
    this.epoch++;
  }

  private inDoor(h: number, s: number): number {
    const b1 = (h ^ s) & this.doorMask;
    const b2 = (s >>> 7) & this.doorMask;
    const d = this.door;
    return (d[b1 >>> 5]! >>> (b1 & 31)) & (d[b2 >>> 5]! >>> (b2 & 31)) & 1;
  }

  /** Sets the key's doorkeeper bits; true when it was not there yet (first sighting). */
  private enterDoor(h: number, s: number): boolean {
    const b1 = (h ^ s) & this.doorMask;
    const b2 = (s >>> 7) & this.doorMask;
    const d = this.door;
    const w1 = d[b1 >>> 5]!;
    const w2 = d[b2 >>> 5]!;
    const m1 = 1 << (b1 & 31);
    const m2 = 1 << (b2 & 31);
    if ((w1 & m1) !== 0 && (w2 & m2) !== 0) return false;
    d[b1 >>> 5] = w1 | m1;
    d[b2 >>> 5] = d[b2 >>> 5]! | m2;
    if (++this.additions >= this.sampleSize) this.age();
    return true;
  }

  private age(): void {
    // Halve four byte counters per step: shift the word, then drop the bits that crossed bytes.
    const words = this.words;
    for (let i = 0; i < words.length; i++) words[i] = (words[i]! >>> 1) & 0x7f7f7f7f;
    this.door.fill(0);
    this.additions = this.additions >>> 1;
    this.epoch++;
  }
}

/** A second, independent-looking hash derived from the first, to pick counters inside a block. */
function spread(h: number): number {
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return h ^ (h >>> 15);
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
