import type { FrequencySketch } from '../sketch.js';
import { WindowTinyLfu } from './tinylfu.js';

/** Slots a miniature allocates up front; it doubles them as it fills. */
const INITIAL_SLOTS = 64;
const EMPTY = -1;

/**
 * A miniature cache: a W-TinyLFU of a fixed window share over hashes, fed only the requests of
 * sampled keys (see adaptive.ts). It stores no values, only which hashes it holds. @internal
 */
export class Miniature {
  private readonly policy: WindowTinyLfu;
  private readonly table: HashSlots;
  private free: Int32Array;
  private freeCount = 0;
  private nextSlot = 0;
  private slots: number;
  private count = 0;

  constructor(
    private readonly capacity: number,
    share: number,
    sketch: FrequencySketch,
  ) {
    this.slots = Math.min(capacity + 1, INITIAL_SLOTS);
    this.policy = new WindowTinyLfu(this.slots, capacity, share, sketch);
    this.table = new HashSlots(capacity + 1);
    this.free = new Int32Array(this.slots);
  }

  /** One request for the key with hash `h`; true on a hit. Misses insert, as a get-else-set would. */
  request(h: number): boolean {
    const slot = this.table.get(h);
    if (slot !== EMPTY) {
      this.policy.access(slot);
      return true;
    }
    const s = this.allocate();
    this.table.set(h, s);
    this.policy.insert(s, h);
    if (++this.count > this.capacity) {
      const v = this.policy.victim(this.count);
      this.policy.remove(v);
      this.table.delete(this.policy.hashAt(v));
      this.free[this.freeCount++] = v;
      this.count--;
    }
    return false;
  }

  clear(): void {
    this.policy.clear();
    this.table.clear();
    this.freeCount = 0;
    this.nextSlot = 0;
    this.count = 0;
  }

  private allocate(): number {
    if (this.freeCount > 0) return this.free[--this.freeCount]!;
    if (this.nextSlot === this.slots) {
      this.slots = Math.min(this.capacity + 1, this.slots * 2);
      this.policy.grow(this.slots);
      const free = new Int32Array(this.slots);
      free.set(this.free);
      this.free = free;
    }
    return this.nextSlot++;
  }
}

/**
 * Hash → slot, open addressing with linear probing and backward-shift deletion (no tombstones), at
 * most half full. Two keys with equal 32-bit hashes count as one: in a miniature that only blurs a
 * statistic.
 */
class HashSlots {
  private readonly hashes: Int32Array;
  private readonly values: Int32Array;
  private readonly mask: number;

  constructor(entries: number) {
    let size = 16;
    while (size < 2 * entries) size *= 2;
    this.hashes = new Int32Array(size);
    this.values = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
  }

  get(h: number): number {
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = this.values[i]!;
      if (v === EMPTY || this.hashes[i] === h) return v;
    }
  }

  set(h: number, value: number): void {
    const mask = this.mask;
    let i = h & mask;
    while (this.values[i] !== EMPTY && this.hashes[i] !== h) i = (i + 1) & mask;
    this.hashes[i] = h;
    this.values[i] = value;
  }

  delete(h: number): void {
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      if (this.values[i] === EMPTY) return;
      if (this.hashes[i] === h) break;
      i = (i + 1) & mask;
    }
    // Shift later members of the probe run back into the hole, so lookups never stop early.
    for (let j = (i + 1) & mask; this.values[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.hashes[j]! & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        this.hashes[i] = this.hashes[j]!;
        this.values[i] = this.values[j]!;
        i = j;
      }
    }
    this.values[i] = EMPTY;
  }

  clear(): void {
    this.values.fill(EMPTY);
  }
}
