import { FrequencySketch } from '../sketch.js';
import { Miniature } from './miniature.js';

/**
 * Window shares the miniatures try, geometrically spaced from a 1% window (frequency decides nearly
 * everything: loops, scans, skew) to the whole capacity (exactly LRU: recency decides everything).
 */
export const SHARES = [0.01, 0.032, 0.1, 0.32, 1] as const;
/** Where the cache starts before there is any evidence: the middle of the grid. */
export const INITIAL_CHOICE = 0;

export interface TunerSettings {
  /** Entries of a miniature; the sample rate is this over the capacity (at most 1). */
  miniatureEntries: number;
  /** Half-life of the evidence, in requests on which the two compared miniatures differ. */
  memory: number;
  /** Standard deviations by which a share must beat the current one before the cache moves to it. */
  confidence: number;
}

export const DEFAULT_TUNER: TunerSettings = {
  miniatureEntries: 1024,
  memory: 512,
  confidence: 3,
};

/**
 * Chooses the window share by running one miniature cache per share of {@link SHARES} side by side on
 * the same sampled requests (see adaptive.ts for the reasoning). @internal
 */
export class WindowTuner {
  /** Hashes below this (as unsigned 32-bit numbers) are sampled. */
  readonly sampleBound: number;
  private readonly minis: Miniature[];
  private readonly sketch: FrequencySketch;
  private readonly k = SHARES.length;
  /**
   * For each pair i < j at i * k + j: the decayed number of requests miniature i hit and j missed,
   * minus the reverse (`lead`), and the variance of that lead under "no difference" (`variance`).
   */
  private readonly lead: Float64Array;
  private readonly variance: Float64Array;
  /** Length of the pair's current run of differences in one direction (0 when it last agreed). */
  private readonly run: Int32Array;
  /** Differences of each pair since its evidence was last halved. */
  private readonly since: Int32Array;
  /** Which miniatures hit on the previous sampled request. */
  private previous = 0;
  private readonly memory: number;
  private readonly confidence: number;
  /** The index in SHARES the cache uses. */
  choice = INITIAL_CHOICE;

  constructor(capacity: number, settings: TunerSettings = DEFAULT_TUNER) {
    const entries = Math.max(1, Math.min(capacity, settings.miniatureEntries));
    const rate = entries / capacity;
    this.sampleBound = rate >= 1 ? 0x1_0000_0000 : Math.floor(rate * 0x1_0000_0000);
    this.sketch = new FrequencySketch(entries);
    this.minis = SHARES.map((share) => new Miniature(entries, share, this.sketch));
    this.lead = new Float64Array(this.k * this.k);
    this.variance = new Float64Array(this.k * this.k);
    this.run = new Int32Array(this.k * this.k);
    this.since = new Int32Array(this.k * this.k);
    this.memory = settings.memory;
    this.confidence = settings.confidence;
  }

  /** One request of a sampled key. Returns true when the choice changed. */
  record(h: number): boolean {
    this.sketch.increment(h);
    let mask = 0;
    const k = this.k;
    for (let i = 0; i < k; i++) if (this.minis[i]!.request(h)) mask |= 1 << i;
    const previous = this.previous;
    this.previous = mask;
    // Requests on which every miniature agrees carry no information about which share is better.
    if (mask === 0 || mask === (1 << k) - 1) return false;
    for (let i = 0; i < k; i++) {
      const hit = (mask >>> i) & 1;
      for (let j = i + 1; j < k; j++) {
        if (((mask >>> j) & 1) === hit) continue;
        const at = i * k + j;
        // Differences come in runs (a miniature holding a block of keys the other does not hits
        // them one after another): a run is one coin flip of its length, so it adds its length
        // squared to the variance, not its length.
        const same = ((previous >>> i) & 1) === hit && ((previous >>> j) & 1) !== hit;
        const run = same ? this.run[at]! + 1 : 1;
        this.run[at] = run;
        this.lead[at]! += hit === 1 ? 1 : -1;
        this.variance[at]! += 2 * run - 1;
        if (++this.since[at]! >= this.memory) {
          this.since[at] = 0;
          this.lead[at]! *= 0.5;
          this.variance[at]! *= 0.5;
        }
      }
    }
    return this.decide();
  }

  clear(): void {
    for (const m of this.minis) m.clear();
    this.sketch.clear();
    this.lead.fill(0);
    this.variance.fill(0);
    this.run.fill(0);
    this.since.fill(0);
    this.previous = 0;
    this.choice = INITIAL_CHOICE;
  }

  /**
   * Moves to the share that beats the current one with the most confidence, if that is more than
   * `confidence` standard deviations. Under "no difference", the direction of each run of
   * differences is a fair coin, so the lead has a variance of the sum of the runs' squared lengths
   * (a sign test on runs).
   */
  private decide(): boolean {
    const c = this.choice;
    const k = this.k;
    let best = c;
    let bestZ = this.confidence;
    for (let j = 0; j < k; j++) {
      if (j === c) continue;
      const at = j < c ? j * k + c : c * k + j;
      const variance = this.variance[at]!;
      if (variance === 0) continue;
      // The lead of j over c.
      const z = ((j < c ? 1 : -1) * this.lead[at]!) / Math.sqrt(variance);
      if (z > bestZ) {
        bestZ = z;
        best = j;
      }
    }
    if (best === c) return false;
    this.choice = best;
    return true;
  }
}
