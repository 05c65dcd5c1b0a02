import { FrequencySketch } from '../sketch.js';
import { SlotLists, NIL, type EvictionPolicy } from './policy.js';

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;
const LISTS = 3;
/**
 * The policy's words in each list node (see SlotLists): the key's hash, and its state, which holds
 * the region in its low 2 bits and, above them, `sketch.epoch + 1` once the key's estimate saturated
 * in that epoch: until the next aging its counts cannot change, so hits on hot entries skip the sketch.
 */
const HASH = 2;
const STATE = 3;
/** A victim is spared while the window grows when its frequency exceeds twice the newcomer's plus this. */
const SPARE_MARGIN = 4;
/** Most window entries moved to probation per insert while the window is over its share. */
const DRAIN_PER_INSERT = 64;

/** Knobs of the adaptive policy; exported for the offline simulator, not part of the public API. @internal */
export interface AdaptiveTuning {
  /** Share of the capacity given to the window at start. */
  initialWindow: number;
  /** Share of the main space reserved for entries hit at least twice. */
  protectedShare: number;
  /** Requests per hill-climbing sample, as a multiple of the capacity. */
  sampleFactor: number;
  /** Lower bound of a sample, in requests, so tiny caches do not chase noise. */
  minSample: number;
  /** First step, as a share of the capacity. */
  stepShare: number;
  /** Each step is this factor of the previous one while the hit rate changes little. */
  stepDecay: number;
  /** A hit-rate change at least this large means the workload changed: restart with a full step. */
  restartThreshold: number;
  /** The largest step, as a share of the capacity. */
  maxStepShare: number;
  /** The sketch halves its counters after this many increments per entry of capacity. */
  ageFactor: number;
}

/**
 * Tuned on the traces of ../shared/traces (see bench/cache/sim.ts). Against Caffeine's defaults
 * (1% window, samples of 10 × capacity, steps of 6.25%) the window starts larger and moves faster:
 * with samples of 10 × capacity a 100,000-entry cache gets one step per million requests, too slow
 * to leave a 1% window on a recency-heavy trace like scarab, where plain LRU then wins by 3 points.
 */
export const DEFAULT_TUNING: AdaptiveTuning = {
  initialWindow: 0.2,
  protectedShare: 0.8,
  sampleFactor: 0.5,
  minSample: 200,
  stepShare: 0.1,
  stepDecay: 0.98,
  restartThreshold: 0.05,
  maxStepShare: 0.25,
  ageFactor: 10,
};

/**
 * Adaptive W-TinyLFU. New entries enter an LRU *window*; when the window overflows, its oldest entry
 * moves to the *main* space (an SLRU: probation + protected) as a *candidate*, and once the cache is
 * full it stays only if the frequency sketch says it is requested more often than main's eviction
 * victim. That admission filter is what beats LRU on loops, scans and skewed workloads.
 *
 * Frequency hurts on recency-heavy workloads, where a bigger window (closer to plain LRU) wins. So
 * the window's share is not fixed: a hill climber samples the hit rate every `sampleFactor` ×
 * capacity requests, keeps moving the share the same way while the hit rate does not drop, turns
 * around (with a smaller step) when it does, and restarts with a full step after a sudden change of
 * workload. While the window grows, main shrinks by plain eviction of its least valuable entries,
 * which is what lets the policy match LRU on recency-heavy traces (see bench/cache.ts).
 */
export class AdaptivePolicy implements EvictionPolicy {
  readonly usesHash = true;
  private readonly lists: SlotLists;

  private readonly sketch: FrequencySketch;
  private readonly tuning: AdaptiveTuning;
  /** Entries the cache holds when full: `maxEntries`, or under a byte limit what fits (learned at evictions). */
  private capacity: number;

  private windowCount = 0;
  private protectedCount = 0;
  private windowMax = 1;
  private protectedMax = 0;

  private sampleHits = 0;
  private sampleMisses = 0;
  private sampleSize = 0;
  private previousHitRate = 0;
  private step = 0;

  /** Set at the first eviction: hit rates sampled while the cache fills say nothing about the window. */
  private full = false;
  /** The slot that last left the window for probation and has not yet faced admission, or NIL. */
  private candidate = NIL;
  private lastMissHash = 0;
  private hasLastMiss = false;
  private random = 0x2545f491;

  constructor(slots: number, maxEntries: number, tuning: Partial<AdaptiveTuning> = {}) {
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
    this.lists = new SlotLists(LISTS, slots);
    this.capacity = Number.isFinite(maxEntries) ? maxEntries : slots;
    this.sketch = new FrequencySketch(this.capacity, this.tuning.ageFactor);
    this.resize(this.capacity);
  }

  grow(slots: number): void {
    this.lists.grow(slots);
  }

  recordMiss(hash: number): void {
    this.sketch.increment(hash);
    this.lastMissHash = hash;
    this.hasLastMiss = true;
  }

  insert(slot: number, hash: number): void {
    // A get that missed has already counted this request; the set that follows it must not count twice.
    if (!this.hasLastMiss || hash !== this.lastMissHash) this.sketch.increment(hash);
    this.hasLastMiss = false;
    const links = this.lists.links;
    const at = 4 * (slot + LISTS);
    links[at + HASH] = hash;
    links[at + STATE] = WINDOW;
    this.lists.push(WINDOW, slot + LISTS);
    this.windowCount++;
    if (this.windowCount > this.windowMax) {
      // The window's oldest entry leaves it for probation, where (once the cache is full) it must win
      // against main's victim to stay. After the window shrank (the climber, or a byte limit that
      // turned out to fit fewer entries), the surplus follows, a bounded number per insert; the last
      // one moved faces admission. Contesting the first instead would pit the window's stalest
      // entries, often old hot ones, against main's hot victims and evict one of them per insert.
      let moved = 0;
      do this.candidate = this.moveToProbation(this.lists.oldest(WINDOW));
      while (++moved < DRAIN_PER_INSERT && this.windowCount > this.windowMax);
    }
    if (++this.sampleMisses + this.sampleHits >= this.sampleSize) this.climb();
  }

  access(slot: number): void {
    const links = this.lists.links;
    const at = 4 * (slot + LISTS);
    const state = links[at + STATE]!;
    const sketch = this.sketch;
    const saturatedTag = (sketch.epoch + 1) << 2;
    if ((state & ~3) !== saturatedTag && sketch.increment(links[at + HASH]!)) {
      links[at + STATE] = (state & 3) | saturatedTag;
    }
    const n = slot + LISTS;
    const r = state & 3;
    if (r === PROTECTED) {
      this.lists.moveToEnd(PROTECTED, n);
    } else if (r === WINDOW) {
      this.lists.moveToEnd(WINDOW, n);
    } else {
      // A second hit while on probation proves the entry worth protecting.
      this.lists.unlink(n);
      this.lists.push(PROTECTED, n);
      this.setRegion(n, PROTECTED);
      this.protectedCount++;
      this.demoteProtected();
    }
    if (++this.sampleHits + this.sampleMisses >= this.sampleSize) this.climb();
  }

  remove(slot: number): void {
    this.lists.unlink(slot + LISTS);
    const r = this.lists.links[4 * (slot + LISTS) + STATE]! & 3;
    if (r === WINDOW) this.windowCount--;
    else if (r === PROTECTED) this.protectedCount--;
    if (slot === this.candidate) this.candidate = NIL;
  }

  victim(entries: number): number {
    this.full = true;
    // Under a byte limit the number of entries that fit is only known now; follow it (with slack, so
    // entries of varying sizes do not resize the regions on every eviction).
    const held = entries - 1;
    if (held > 0 && (held > this.capacity * 1.25 || held < this.capacity * 0.75)) this.rescale(held);
    const lists = this.lists;
    let victim = lists.oldest(PROBATION);
    const candidate = this.candidate;
    this.candidate = NIL;
    if (candidate !== NIL && (lists.links[4 * (candidate + LISTS) + STATE]! & 3) === PROBATION) {
      // The entry that just left the window competes with main's least valuable entry: TinyLFU admission.
      if (victim === candidate + LISTS) victim = lists.after(victim);
      if (victim === PROBATION) victim = lists.oldest(PROTECTED);
      if (victim === PROTECTED) return candidate;
      return this.admit(candidate, victim - LISTS) ? victim - LISTS : candidate;
    }
    // No newcomer: the climber grew the window (or a byte limit needs more room), so main shrinks by
    // its least valuable entry. Evicting it without a contest is what lets a growing window act like
    // LRU on recency-heavy workloads; but a victim far more popular than the window's oldest entry is
    // spared, so a scan that happens to grow the window cannot flush main's hot entries.
    if (victim === PROBATION) victim = lists.oldest(PROTECTED);
    const oldest = lists.oldest(WINDOW);
    if (victim === PROTECTED) return oldest === WINDOW ? NIL : oldest - LISTS;
    if (oldest === WINDOW) return victim - LISTS;
    const c = this.sketch.frequency(lists.links[4 * oldest + HASH]!);
    const v = this.sketch.frequency(lists.links[4 * victim + HASH]!);
    return v > 2 * c + SPARE_MARGIN ? oldest - LISTS : victim - LISTS;
  }

  clear(): void {
    this.lists.reset();
    this.sketch.clear();
    this.windowCount = 0;
    this.protectedCount = 0;
    this.hasLastMiss = false;
    this.full = false;
    this.candidate = NIL;
    this.resize(this.capacity);
  }

  /** The current window share, for tests and diagnostics. @internal */
  windowShare(): number {
    return this.windowMax / this.capacity;
  }

  private admit(candidate: number, victim: number): boolean {
    const links = this.lists.links;
    const c = this.sketch.frequency(links[4 * (candidate + LISTS) + HASH]!);
    const v = this.sketch.frequency(links[4 * (victim + LISTS) + HASH]!);
    if (c > v) return true;
    // An attacker who keeps a victim's estimate high could lock every newcomer out; admitting a warm
    // candidate now and then, at random, breaks that (Caffeine does the same).
    if (c < 6) return false;
    let x = this.random;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.random = x;
    return (x & 127) === 0;
  }

  /** Sets node `n`'s region, keeping its saturation tag. */
  private setRegion(n: number, region: number): void {
    const links = this.lists.links;
    links[4 * n + STATE] = (links[4 * n + STATE]! & ~3) | region;
  }

  /** Moves list node `n` from the window to probation's newest end; returns its slot. */
  private moveToProbation(n: number): number {
    this.lists.unlink(n);
    this.lists.push(PROBATION, n);
    this.setRegion(n, PROBATION);
    this.windowCount--;
    return n - LISTS;
  }

  private demoteProtected(): void {
    for (let moved = 0; moved < 4 && this.protectedCount > this.protectedMax; moved++) {
      const n = this.lists.oldest(PROTECTED);
      this.lists.unlink(n);
      this.lists.push(PROBATION, n);
      this.setRegion(n, PROBATION);
      this.protectedCount--;
    }
  }

  /** A new capacity, keeping the window's share and the climber's progress. */
  private rescale(capacity: number): void {
    const share = this.windowMax / this.capacity;
    const stepShare = this.step / this.capacity;
    this.capacity = capacity;
    this.sketch.ensureCapacity(capacity);
    this.windowMax = Math.max(1, Math.round(capacity * share));
    this.protectedMax = Math.floor((capacity - this.windowMax) * this.tuning.protectedShare);
    this.sampleSize = Math.max(this.tuning.minSample, Math.round(capacity * this.tuning.sampleFactor));
    this.step = stepShare * capacity;
  }

  private resize(capacity: number): void {
    const t = this.tuning;
    this.capacity = capacity;
    this.sketch.ensureCapacity(capacity);
    this.windowMax = Math.max(1, Math.round(capacity * t.initialWindow));
    this.protectedMax = Math.floor((capacity - this.windowMax) * t.protectedShare);
    this.sampleSize = Math.max(t.minSample, Math.round(capacity * t.sampleFactor));
    this.step = t.stepShare * capacity;
    this.previousHitRate = 0;
    this.sampleHits = 0;
    this.sampleMisses = 0;
  }

  /** One hill-climbing step at the end of a sample. */
  private climb(): void {
    const t = this.tuning;
    if (!this.full) {
      this.sampleHits = 0;
      this.sampleMisses = 0;
      return;
    }
    const hitRate = this.sampleHits / (this.sampleHits + this.sampleMisses);
    const change = hitRate - this.previousHitRate;
    const amount = change >= 0 ? this.step : -this.step;
    const maxStep = t.maxStepShare * this.capacity;
    const next =
      Math.abs(change) >= t.restartThreshold
        ? t.stepShare * this.capacity * (amount >= 0 ? 1 : -1)
        : change > 0
          ? amount
          : amount * t.stepDecay;
    this.step = Math.max(-maxStep, Math.min(maxStep, next));
    this.previousHitRate = hitRate;
    this.sampleHits = 0;
    this.sampleMisses = 0;
    const cap = this.capacity;
    this.windowMax = Math.min(cap, Math.max(1, this.windowMax + amount));
    this.protectedMax = Math.floor((cap - this.windowMax) * t.protectedShare);
  }
}
