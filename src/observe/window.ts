/**
 * @internal The sliding window of one processor's recent outcomes: a ring of typed arrays, so that
 * recording an outcome allocates nothing. Count-based (the last `capacity` calls) or time-based
 * (calls of the last `maxAgeMs`, at most `capacity` of them).
 */
export interface WindowStats {
  calls: number;
  successes: number;
  failures: number;
  /** successes / calls; null without calls. */
  successRate: number | null;
  avgMs: number | null;
  p95Ms: number | null;
}

export class OutcomeWindow {
  private readonly ok: Uint8Array;
  private readonly durations: Float64Array;
  private readonly at: Float64Array | undefined;
  /** Index of the oldest entry. */
  private tail = 0;
  private size = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs?: number,
  ) {
    this.ok = new Uint8Array(capacity);
    this.durations = new Float64Array(capacity);
    this.at = maxAgeMs === undefined ? undefined : new Float64Array(capacity);
  }

  push(ok: boolean, durationMs: number, now: number): void {
    let i: number;
    if (this.size < this.capacity) {
      i = (this.tail + this.size) % this.capacity;
      this.size++;
    } else {
      // Full: overwrite the oldest.
      i = this.tail;
      this.tail = (this.tail + 1) % this.capacity;
    }
    this.ok[i] = ok ? 1 : 0;
    this.durations[i] = durationMs;
    if (this.at) this.at[i] = now;
  }

  /** Drops entries older than the window (time-based windows only). */
  private prune(now: number): void {
    const at = this.at;
    if (!at || this.maxAgeMs === undefined) return;
    const oldest = now - this.maxAgeMs;
    while (this.size > 0 && at[this.tail]! < oldest) {
      this.tail = (this.tail + 1) % this.capacity;
      this.size--;
    }
  }

  stats(now: number): WindowStats {
    this.prune(now);
    const n = this.size;
    if (n === 0) {
      return { calls: 0, successes: 0, failures: 0, successRate: null, avgMs: null, p95Ms: null };
    }
    const sorted = new Float64Array(n);
    let successes = 0;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const i = (this.tail + k) % this.capacity;
      successes += this.ok[i]!;
      const d = this.durations[i]!;
      sum += d;
      sorted[k] = d;
    }
    sorted.sort();
    // Nearest-rank percentile: the smallest value with at least 95% of the samples at or below it.
    const p95 = sorted[Math.max(0, Math.ceil(0.95 * n) - 1)]!;
    return {
      calls: n,
      successes,
      failures: n - successes,
      successRate: successes / n,
      avgMs: sum / n,
      p95Ms: p95,
    };
  }

  clear(): void {
    this.tail = 0;
    this.size = 0;
  }
}
