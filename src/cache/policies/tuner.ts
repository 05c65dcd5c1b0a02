import { FrequencySketch } from '../sketch.js';
import { Miniature } from './miniature.js';
import type { WindowSampler } from './tinylfu.js';

/**
 * Window shares the miniatures try, geometrically spaced from a 1% window (frequency decides nearly
 * everything: loops, scans, skew) to the whole capacity (exactly LRU: recency decides everything).
 */
export const SHARES = [0.01, 0.032, 0.1, 0.32, 1] as const;
/**
 * Where the cache starts, before there is any evidence: the 1% window. Leaving a wrong start is
 * cheap in that direction: a window that grows drains main by its unused entries within a capacity
 * of misses, whereas a cache that starts as LRU on a loop keeps the loop's recency order in its
 * frequency counts (every key of the pass under way counts one more than the keys still to come)
 * and takes several passes to settle into the stable subset that frequency admission keeps.
 */
export const INITIAL_CHOICE = 0;

export interface TunerSettings {
  /** Entries of a miniature; the sample rate is this over the capacity (at most 1). */
  miniatureEntries: number;
  /**
   * The least share of requests sampled, which makes miniatures of big caches bigger than
   * `miniatureEntries`: the evidence a capacity of requests yields grows with the miniatures' size.
   */
  minSampleRate: number;
  /** Sampled requests per batch, as a share of a miniature's capacity. */
  batchShare: number;
  /** Half-life of the evidence of a pair of miniatures, in batches in which they differed. */
  memory: number;
  /** Standard deviations by which a share must beat the current one before the cache moves to it. */
  confidence: number;
}

export const DEFAULT_TUNER: TunerSettings = {
  miniatureEntries: 1024,
  minSampleRate: 1 / 32,
  batchShare: 1 / 32,
  memory: 32,
  confidence: 3,
};

/**
 * Chooses the window share by running one miniature cache per share of {@link SHARES} side by side on
 * the same sampled requests (see adaptive.ts for the reasoning). @internal
 */
export class WindowTuner implements WindowSampler {
  bound = 0;
  private minis: Miniature[] = [];
  private sketch: FrequencySketch = new FrequencySketch(16);
  private readonly k = SHARES.length;
  /** For each pair i < j at i * k + j: requests of this batch miniature i hit and j missed, minus the reverse. */
  private readonly batchLead: Int32Array;
  /** For each pair: the decayed sum of its batch leads, and of their squares. */
  private readonly lead: Float64Array;
  private readonly variance: Float64Array;
  /** Batches in which each pair differed since its evidence was last halved. */
  private readonly since: Int32Array;
  private batchSize = 0;
  private inBatch = 0;
  private differed = false;
  private readonly memory: number;
  private readonly confidence: number;
  /** The index in SHARES the cache uses. */
  choice = INITIAL_CHOICE;

  constructor(
    capacity: number,
    private readonly settings: TunerSettings = DEFAULT_TUNER,
  ) {
    const pairs = this.k * this.k;
    this.batchLead = new Int32Array(pairs);
    this.lead = new Float64Array(pairs);
    this.variance = new Float64Array(pairs);
    this.since = new Int32Array(pairs);
    this.memory = settings.memory;
    this.confidence = settings.confidence;
    this.build(capacity);
  }

  sample(hash: number): number {
    return this.record(hash) ? SHARES[this.choice]! : -1;
  }

  /** A new experiment at the new scale (the sample rate follows the capacity); the choice stays. */
  rescale(capacity: number): number {
    this.build(capacity);
    this.reset();
    return SHARES[this.choice]!;
  }

  clear(): number {
    this.reset();
    this.choice = INITIAL_CHOICE;
    return SHARES[this.choice]!;
  }

  /** One request of a sampled key. Returns true when the choice changed. */
  record(h: number): boolean {
    this.sketch.increment(h);
    let mask = 0;
    const k = this.k;
    for (let i = 0; i < k; i++) if (this.minis[i]!.request(h)) mask |= 1 << i;
    // Requests on which every miniature agrees carry no information about which share is better.
    if (mask !== 0 && mask !== (1 << k) - 1) {
      this.differed = true;
      for (let i = 0; i < k; i++) {
        const hit = (mask >>> i) & 1;
        for (let j = i + 1; j < k; j++) {
          if (((mask >>> j) & 1) !== hit) this.batchLead[i * k + j]! += hit === 1 ? 1 : -1;
        }
      }
    }
    if (++this.inBatch < this.batchSize) return false;
    this.inBatch = 0;
    if (!this.differed) return false;
    this.differed = false;
    return this.endBatch();
  }

  private build(capacity: number): void {
    const wanted = Math.max(
      this.settings.miniatureEntries,
      Math.round(capacity * this.settings.minSampleRate),
    );
    const entries = Math.max(1, Math.min(capacity, wanted));
    const rate = entries / capacity;
    this.bound = rate >= 1 ? 0x1_0000_0000 : Math.floor(rate * 0x1_0000_0000);
    this.sketch = new FrequencySketch(entries);
    this.minis = SHARES.map((share) => new Miniature(entries, share, this.sketch));
    this.batchSize = Math.max(8, Math.round(entries * this.settings.batchShare));
  }

  private reset(): void {
    for (const m of this.minis) m.clear();
    this.sketch.clear();
    this.batchLead.fill(0);
    this.lead.fill(0);
    this.variance.fill(0);
    this.since.fill(0);
    this.inBatch = 0;
    this.differed = false;
  }

  private endBatch(): boolean {
    const k = this.k;
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        const at = i * k + j;
        const b = this.batchLead[at]!;
        if (b === 0) continue;
        this.batchLead[at] = 0;
        this.lead[at]! += b;
        this.variance[at]! += b * b;
        if (++this.since[at]! >= this.memory) {
          this.since[at] = 0;
          this.lead[at]! *= 0.5;
          this.variance[at]! *= 0.5;
        }
      }
    }
    return this.decide();
  }

  /**
   * Moves to the share that gains most over the current one, among those that beat it by more than
   * `confidence` standard deviations. Outcomes of nearby requests are not independent (a miniature
   * that holds a block of keys the other does not hits them one after another), so the unit of
   * evidence is a batch: under "no difference" each batch's lead is as likely negative as positive,
   * and the lead summed over batches, divided by the root of the sum of their squares, is a
   * self-normalized statistic of about unit variance. It grows like the root of the number of
   * batches that agree, so a burst confined to one batch can never pass, and a difference that holds
   * in every batch passes after about ten.
   */
  private decide(): boolean {
    const c = this.choice;
    const k = this.k;
    let best = c;
    let bestLead = 0;
    for (let j = 0; j < k; j++) {
      if (j === c) continue;
      const at = j < c ? j * k + c : c * k + j;
      const variance = this.variance[at]!;
      if (variance === 0) continue;
      // The lead of j over c: among the shares that beat c with confidence, the one that gains most.
      const lead = (j < c ? 1 : -1) * this.lead[at]!;
      if (lead > this.confidence * Math.sqrt(variance) && lead > bestLead) {
        bestLead = lead;
        best = j;
      }
    }
    if (best === c) return false;
    this.choice = best;
    return true;
  }
}
