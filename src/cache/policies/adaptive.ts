/**
 * The default policy: W-TinyLFU whose window share is chosen by miniature simulations.
 *
 * Why the window needs choosing. A W-TinyLFU cache splits its space between an LRU window (recency)
 * and a main space guarded by frequency admission. A tiny window wins loops, scans and skewed
 * workloads; a window of the whole capacity is exactly LRU and wins recency-heavy ones, where
 * admission by frequency refuses exactly the keys about to be reused. No fixed share is good
 * everywhere (1% loses 35 points to LRU on a sliding working set; 100% gets nothing on a loop).
 *
 * Why not hill climbing. Caffeine moves the window by comparing the hit rate of one sample period
 * with the previous one. That compares two different stretches of the workload, so every change of
 * the workload reads as an effect of the last step: the climber chases noise on real traces, takes
 * "no change" (0 hits in both periods, as on a loop or right after the cache fills) as "keep going",
 * and walks into a corner it cannot leave. Tuning its step, sample size and decay only moves the
 * failures around.
 *
 * What this does instead: a controlled experiment, run all the time. Keys are sampled by hash (a
 * fixed share of the key space, so a sampled key is always sampled); each sampled request is also
 * played on five miniature W-TinyLFU caches, one per window share of a geometric grid from 1% to
 * 100%, each with capacity × the sample rate (Waldspurger et al., "Cache Modeling and Optimization
 * using Miniature Simulations", USENIX ATC 2017: a cache of C entries seeing 1/R of the keys behaves
 * like one of C/R entries seeing all of them). The miniatures see the same requests at the same time,
 * so the difference of their hits measures the effect of the share and nothing else. The cache takes
 * the share whose miniature has the most hits, but only when it beats the current one by more than
 * chance would: requests on which every miniature agrees carry no information and are ignored; on the
 * others, under "no difference" each disagreement is a coin flip, so the current share is abandoned
 * only when the lead exceeds `confidence` × √(disagreements) (a sign test).
 *
 * That answers each way the climber fails, by construction rather than by tuning:
 * - cold start: while the miniatures fill they all hold everything and agree, so nothing moves;
 * - flat signal: no disagreement is no evidence, and the choice stays where it is;
 * - noise: a lead within chance never moves the window, however long it lasts;
 * - sudden shifts: evidence decays with a half-life of about one cache capacity of requests, so after
 *   a shift the share that now wins gathers a significant lead within a few capacities;
 * - the floor: the grid contains 100%, which is LRU exactly, so on a workload where LRU is best the
 *   cache becomes LRU (less the time it takes to see that).
 *
 * Cost: with a capacity above the miniature size, about `miniatureEntries / capacity` of requests are
 * sampled and each costs five miniature lookups; the others cost one comparison. Memory grows with
 * what the miniatures hold, at most five times `miniatureEntries` entries of a few words.
 */
import { WindowTinyLfu } from './tinylfu.js';
import { DEFAULT_TUNER, INITIAL_CHOICE, SHARES, WindowTuner, type TunerSettings } from './tuner.js';

/** The default policy: a W-TinyLFU cache with a window tuner attached. @internal */
export function createAdaptivePolicy(
  slots: number,
  maxEntries: number,
  settings: TunerSettings = DEFAULT_TUNER,
): WindowTinyLfu {
  const capacity = Number.isFinite(maxEntries) ? maxEntries : slots;
  const policy = new WindowTinyLfu(slots, capacity, SHARES[INITIAL_CHOICE]);
  policy.attach(new WindowTuner(capacity, settings), SHARES[INITIAL_CHOICE]);
  return policy;
}
