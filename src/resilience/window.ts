/**
 * Sliding windows with bounded memory: counts kept per time bucket (with running totals, expired
 * lazily as time moves on) or over the last N events in a ring. No timers.
 * @internal
 */

/** Counters summed over the last `windowMs`, in `buckets` slices. */
export class TimeBuckets {
  readonly bucketMs: number;
  private readonly counts: Float64Array;
  private readonly totals: Float64Array;
  /** Absolute bucket number (`floor(now / bucketMs)`) the newest slot holds. */
  private head = Number.NEGATIVE_INFINITY;

  constructor(
    readonly windowMs: number,
    readonly buckets: number,
    readonly fields: number,
  ) {
    this.bucketMs = Math.max(1, windowMs / buckets);
    this.counts = new Float64Array(buckets * fields);
    this.totals = new Float64Array(fields);
  }

  /** Moves the window to `now`, dropping the slices that fell out of it. */
  advance(now: number): void {
    const abs = Math.floor(now / this.bucketMs);
    if (abs <= this.head) return; // same slice, or a clock that went back: count into the newest
    const steps = abs - this.head;
    if (steps >= this.buckets) {
      this.counts.fill(0);
      this.totals.fill(0);
    } else {
      for (let k = 1; k <= steps; k++) {
        const base = ((((this.head + k) % this.buckets) + this.buckets) % this.buckets) * this.fields;
        for (let f = 0; f < this.fields; f++) {
          this.totals[f]! -= this.counts[base + f]!;
          this.counts[base + f] = 0;
        }
      }
    }
    this.head = abs;
  }

  /** Adds `n` to `field` at `now`. */
  add(now: number, field: number, n = 1): void {
    this.advance(now);
    const base = (((this.head % this.buckets) + this.buckets) % this.buckets) * this.fields;
    this.counts[base + field]! += n;
    this.totals[field]! += n;
  }

  /** The sum of `field` over the window ending at `now`. */
  total(now: number, field: number): number {
    this.advance(now);
    return this.totals[field]!;
  }

  reset(): void {
    this.counts.fill(0);
    this.totals.fill(0);
    this.head = Number.NEGATIVE_INFINITY;
  }

  toJSON(): { head: number | null; counts: number[] } {
    return { head: Number.isFinite(this.head) ? this.head : null, counts: Array.from(this.counts) };
  }

  restore(s: { head: number | null; counts: number[] }): void {
    this.reset();
    if (s.head === null || s.counts.length !== this.counts.length) return;
    this.head = s.head;
    this.counts.set(s.counts);
    for (let b = 0; b < this.buckets; b++)
      for (let f = 0; f < this.fields; f++) this.totals[f]! += this.counts[b * this.fields + f]!;
  }
}

/** Outcome flags stored per call in a count window. */
export const FAILED = 1;
export const SLOW = 2;

/** The outcomes of the last `size` calls, as a ring of flag bytes. */
export class CountRing {
  private readonly ring: Uint8Array;
  private pos = 0;
  calls = 0;
  failures = 0;
  slow = 0;

  constructor(readonly size: number) {
    this.ring = new Uint8Array(size);
  }

  push(flags: number): void {
    if (this.calls === this.size) {
      const old = this.ring[this.pos]!;
      if (old & FAILED) this.failures--;
      if (old & SLOW) this.slow--;
    } else {
      this.calls++;
    }
    this.ring[this.pos] = flags;
    if (flags & FAILED) this.failures++;
    if (flags & SLOW) this.slow++;
    this.pos = this.pos + 1 === this.size ? 0 : this.pos + 1;
  }

  reset(): void {
    this.pos = 0;
    this.calls = 0;
    this.failures = 0;
    this.slow = 0;
  }

  toJSON(): { outcomes: number[] } {
    // Oldest first, so a ring of another size could still be refilled.
    const out: number[] = [];
    const start = this.calls === this.size ? this.pos : 0;
    for (let k = 0; k < this.calls; k++) out.push(this.ring[(start + k) % this.size]!);
    return { outcomes: out };
  }

  restore(s: { outcomes: number[] }): void {
    this.reset();
    for (const f of s.outcomes.slice(-this.size)) this.push(f & (FAILED | SLOW));
  }
}
