import { FrequencySketch } from '../sketch.js';
import { SlotLists, NIL, type EvictionPolicy } from './policy.js';

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;
export const TINYLFU_LISTS = 3;
/**
 * The policy's words in each list node (see SlotLists): the key's hash, and its state, which holds
 * the region in its low 2 bits, REUSED in bit 2, and above them `sketch.epoch + 1` once the key's
 * estimate saturated in that epoch: until the next aging its counts cannot change, so hits on hot
 * entries skip the sketch (a miniature, which does not count, leaves the tag at 0).
 */
const HASH = 2;
const STATE = 3;
const REGION = 3;
/** Set when the entry was requested again while in the window. */
const REUSED = 4;
const TAG_SHIFT = 3;
/** Share of the main space reserved for entries hit at least twice (the segmented LRU's protected part). */
const PROTECTED_SHARE = 0.8;
/** Most window entries moved to probation per insert while the window is over its share. */
const DRAIN_PER_INSERT = 64;
/** How much a victim's estimate must rise while it is not requested before the rise is put down to collisions. */
const RISE = 2;

/**
 * A key is sampled when its hash, XORed with this and read as unsigned, is below the sampler's bound.
 * The XOR moves the hash 0 (of the key 0, a fixed point of the murmur finalizer) off the bottom of the
 * range, where it would be sampled at every rate.
 */
export const SAMPLE_SALT = 0x9e3779b9 | 0;

/** Watches a sample of the requests and decides the window share (see tuner.ts). @internal */
export interface WindowSampler {
  /** Keys whose hash, XORed with SAMPLE_SALT and read as unsigned, is below this are sampled. */
  readonly bound: number;
  /** One request of a sampled key; the window share to use from now on, or -1 to keep the current one. */
  sample(hash: number): number;
  /** The capacity changed (learned under a byte limit); returns the share to use. */
  rescale(capacity: number): number;
  /** The cache was cleared; returns the share to start again with. */
  clear(): number;
}

/**
 * W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache Admission Policy",
 * 2017) with a window whose size may change at any time. @internal
 *
 * New entries enter an LRU *window*; when the window overflows, its oldest entry moves to the *main*
 * space (a segmented LRU: probation + protected) as a *candidate*, and once the cache is full it
 * stays only if the frequency sketch says it is requested more often than main's eviction victim.
 * That admission filter is what beats LRU on loops, scans and skewed workloads; the window is what
 * keeps recency: a window of the whole capacity is exactly LRU.
 *
 * The same class runs the cache and the miniature simulations that choose its window (see
 * adaptive.ts): the cache's instance has a sampler attached, which sees the requests of sampled keys;
 * a miniature shares its tuner's sketch and does not count requests itself. One class for both keeps
 * the hot methods monomorphic.
 */
export class WindowTinyLfu implements EvictionPolicy {
  readonly usesHash = true;
  private readonly lists: SlotLists;
  readonly sketch: FrequencySketch;
  /** Entries the cache holds when full: `maxEntries`, or under a byte limit what fits (learned at evictions). */
  private capacity: number;
  private share: number;
  private readonly counting: boolean;

  private windowCount = 0;
  private protectedCount = 0;
  private windowMax = 1;
  private protectedMax = 0;

  /** The slot that last left the window for probation and has not yet faced admission, or NIL. */
  private candidate = NIL;
  private lastMissHash = 0;
  private hasLastMiss = false;
  private random = 0x2545f491;
  private sampler: WindowSampler | undefined = undefined;
  /** `sampler.bound`, or 0 (no hash is below it) without a sampler. */
  private sampleBound = 0;
  /** The victim of the last contest it won, its hash and its estimate then. */
  private frontVictim = NIL;
  private frontHash = 0;
  private frontEstimate = 0;

  /**
   * @param share the window's share of the capacity.
   * @param sketch a sketch someone else keeps counting (then this policy only reads it).
   */
  constructor(slots: number, capacity: number, share: number, sketch?: FrequencySketch) {
    this.lists = new SlotLists(TINYLFU_LISTS, slots);
    this.capacity = capacity;
    this.share = share;
    this.counting = sketch === undefined;
    this.sketch = sketch ?? new FrequencySketch(capacity);
    this.resize();
  }

  /** Lets `sampler` see the requests of sampled keys and choose the window share. */
  attach(sampler: WindowSampler, share: number): void {
    this.sampler = sampler;
    this.sampleBound = sampler.bound;
    this.setWindowShare(share);
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
    if (this.counting && (!this.hasLastMiss || hash !== this.lastMissHash)) this.sketch.increment(hash);
    this.hasLastMiss = false;
    const links = this.lists.links;
    const at = 4 * (slot + TINYLFU_LISTS);
    links[at + HASH] = hash;
    links[at + STATE] = WINDOW;
    this.lists.push(WINDOW, slot + TINYLFU_LISTS);
    if (++this.windowCount > this.windowMax) {
      // The window's oldest entry leaves it for probation, where (once the cache is full) it must win
      // against main's victim to stay. After the window shrank, the surplus follows, a bounded number
      // per insert; the last one moved faces admission. Contesting the first instead would pit the
      // window's stalest entries, often old hot ones, against main's hot victims and evict one of
      // them per insert.
      let moved = 0;
      do this.candidate = this.moveToProbation(this.lists.oldest(WINDOW));
      while (++moved < DRAIN_PER_INSERT && this.windowCount > this.windowMax);
    }
    if ((hash ^ SAMPLE_SALT) >>> 0 < this.sampleBound) this.sampled(hash);
  }

  access(slot: number): void {
    const links = this.lists.links;
    const at = 4 * (slot + TINYLFU_LISTS);
    let state = links[at + STATE]!;
    const hash = links[at + HASH]!;
    if (this.counting) {
      const sketch = this.sketch;
      const saturatedTag = (sketch.epoch + 1) << TAG_SHIFT;
      if ((state & ~(REGION | REUSED)) !== saturatedTag && sketch.increment(hash)) {
        state = (state & (REGION | REUSED)) | saturatedTag;
      }
    }
    const n = slot + TINYLFU_LISTS;
    const r = state & REGION;
    // A request raises the entry's own estimate: the collision check of admit() no longer applies.
    if (slot === this.frontVictim) this.frontVictim = NIL;
    if (r === WINDOW) {
      links[at + STATE] = state | REUSED;
      this.lists.moveToEnd(WINDOW, n);
    } else if (r === PROTECTED && this.windowCount >= this.windowMax) {
      links[at + STATE] = state;
      this.lists.moveToEnd(PROTECTED, n);
    } else {
      this.promote(n, state);
    }
    if ((hash ^ SAMPLE_SALT) >>> 0 < this.sampleBound) this.sampled(hash);
  }

  remove(slot: number): void {
    this.lists.unlink(slot + TINYLFU_LISTS);
    const r = this.lists.links[4 * (slot + TINYLFU_LISTS) + STATE]! & REGION;
    if (r === WINDOW) this.windowCount--;
    else if (r === PROTECTED) this.protectedCount--;
    if (slot === this.candidate) this.candidate = NIL;
  }

  victim(entries: number): number {
    // Under a byte limit the number of entries that fit is only known now; follow it (with slack, so
    // entries of varying sizes do not resize the regions on every eviction).
    const held = entries - 1;
    if (held > 0 && (held > this.capacity * 1.25 || held < this.capacity * 0.75)) this.rescale(held);
    const lists = this.lists;
    let victim = lists.oldest(PROBATION);
    const candidate = this.candidate;
    this.candidate = NIL;
    if (candidate !== NIL && (lists.links[4 * (candidate + TINYLFU_LISTS) + STATE]! & REGION) === PROBATION) {
      // The entry that just left the window competes with main's least valuable entry: TinyLFU admission.
      if (victim === candidate + TINYLFU_LISTS) victim = lists.after(victim);
      if (victim === PROBATION) victim = lists.oldest(PROTECTED);
      if (victim === PROTECTED) return candidate;
      return this.admit(candidate, victim - TINYLFU_LISTS) ? victim - TINYLFU_LISTS : candidate;
    }
    // No newcomer: the window grew (or a byte limit needs more room), so main shrinks by its least
    // valuable entry, without a contest: the cache then converges to what a cache of the new window
    // share would hold (a window of the whole capacity is LRU exactly), which is what the share was
    // chosen for.
    if (victim === PROBATION) victim = lists.oldest(PROTECTED);
    if (victim !== PROTECTED) return victim - TINYLFU_LISTS;
    const oldest = lists.oldest(WINDOW);
    return oldest === WINDOW ? NIL : oldest - TINYLFU_LISTS;
  }

  clear(): void {
    this.lists.reset();
    if (this.counting) this.sketch.clear();
    this.windowCount = 0;
    this.protectedCount = 0;
    this.hasLastMiss = false;
    this.candidate = NIL;
    this.frontVictim = NIL;
    if (this.sampler !== undefined) this.setWindowShare(this.sampler.clear());
  }

  /** The hash stored with the entry in `slot`. */
  hashAt(slot: number): number {
    return this.lists.links[4 * (slot + TINYLFU_LISTS) + HASH]!;
  }

  /** The current window share, for tests and diagnostics. @internal */
  windowShare(): number {
    return this.windowMax / this.capacity;
  }

  /** Sets the window's share of the capacity; the regions follow over the next inserts and evictions. */
  setWindowShare(share: number): void {
    this.share = share;
    this.resize();
  }

  /** The capacity changed (a byte limit turned out to fit a different number of entries). */
  private rescale(capacity: number): void {
    this.capacity = capacity;
    if (this.counting) this.sketch.ensureCapacity(capacity);
    if (this.sampler !== undefined) {
      this.share = this.sampler.rescale(capacity);
      this.sampleBound = this.sampler.bound;
    }
    this.resize();
  }

  private sampled(hash: number): void {
    const share = this.sampler!.sample(hash);
    if (share >= 0) this.setWindowShare(share);
  }

  /** A hit on an entry of main (`n` its node, `state` its state word) that is not a plain protected hit. */
  private promote(n: number, state: number): void {
    const links = this.lists.links;
    const r = state & REGION;
    this.lists.unlink(n);
    if (this.windowMax === this.capacity && this.windowCount < this.windowMax) {
      // The window grows to the whole capacity (LRU): main must vanish, and an entry of main in use
      // moves to the window rather than waiting to be evicted, so main drains by its unused entries
      // and the cache converges to LRU's state.
      links[4 * n + STATE] = (state & ~REGION) | WINDOW | REUSED;
      this.lists.push(WINDOW, n);
      this.windowCount++;
      if (r === PROTECTED) this.protectedCount--;
      return;
    }
    this.lists.push(PROTECTED, n);
    links[4 * n + STATE] = (state & ~REGION) | PROTECTED;
    if (r === PROTECTED) return;
    // A second hit while on probation proves the entry worth protecting; protected's oldest make room.
    if (++this.protectedCount > this.protectedMax) this.demoteProtected();
  }

  private resize(): void {
    const cap = this.capacity;
    this.windowMax = Math.min(cap, Math.max(1, Math.round(cap * this.share)));
    this.protectedMax = Math.floor((cap - this.windowMax) * PROTECTED_SHARE);
  }

  /**
   * TinyLFU admission, plus one rule: a candidate requested again while in the window is admitted
   * whatever its estimate. A re-reference within a window's worth of misses is direct evidence of
   * reuse (the evidence S3-FIFO and ARC admit on), while the sketch's estimate is an average over
   * ten capacities of requests that lags behind it when popularity changes: after a shift, the old
   * hot keys' counts would keep refusing the new ones for several agings. Keys of a loop longer than
   * the window, or of a scan, are never re-referenced there, so they still face the sketch.
   */
  private admit(candidate: number, victim: number): boolean {
    const links = this.lists.links;
    const at = 4 * (candidate + TINYLFU_LISTS);
    if ((links[at + STATE]! & REUSED) !== 0) return true;
    const c = this.sketch.frequency(links[at + HASH]!);
    const v = this.sketch.frequency(links[4 * (victim + TINYLFU_LISTS) + HASH]!);
    if (c > v) return true;
    // If the victim was not requested since its last contest (a request forgets it, see access) and
    // its estimate rose all the same, other keys' counts did it: collisions, of which some entry
    // among many always has its share. It loses; otherwise it would win every contest and keep every
    // newcomer out of main for as long as the keys it collides with stay popular.
    const vh = links[4 * (victim + TINYLFU_LISTS) + HASH]!;
    if (victim !== this.frontVictim || vh !== this.frontHash) {
      this.frontVictim = victim;
      this.frontHash = vh;
      this.frontEstimate = v;
    } else if (v >= this.frontEstimate + RISE) {
      return true;
    }
    // An attacker who keeps a victim's estimate saturated could lock every newcomer out; admitting a
    // warm candidate now and then, at random, breaks that (Caffeine does the same).
    if (c < 6 || v < 15) return false;
    let x = this.random;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.random = x;
    return (x & 127) === 0;
  }

  /** Sets node `n`'s region, keeping its other state. */
  private setRegion(n: number, region: number): void {
    const links = this.lists.links;
    links[4 * n + STATE] = (links[4 * n + STATE]! & ~REGION) | region;
  }

  /** Moves list node `n` from the window to probation's newest end; returns its slot. */
  private moveToProbation(n: number): number {
    this.lists.unlink(n);
    this.lists.push(PROBATION, n);
    this.setRegion(n, PROBATION);
    this.windowCount--;
    return n - TINYLFU_LISTS;
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
}
