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
 * What this does instead: a controlled experiment, run all the time (tuner.ts). Keys are sampled by
 * hash (a fixed part of the key space, so a sampled key is always sampled); each sampled request is
 * also played on five miniature W-TinyLFU caches, one per window share of a geometric grid from 1% to
 * 100%, each of capacity × the sample rate (Waldspurger et al., "Cache Modeling and Optimization
 * using Miniature Simulations", USENIX ATC 2017: a cache of C entries seeing 1/R of the keys behaves
 * like one of C/R entries seeing all of them). The miniatures see the same requests at the same time,
 * so the difference of their hits measures the effect of the share and nothing else. The cache moves
 * to another share only when that share beats the current one by more than chance would:
 * - requests on which every miniature agrees carry no information and are ignored;
 * - outcomes of nearby requests are not independent (a miniature that holds a block of keys another
 *   does not hits them one after another), so evidence is counted in batches of requests: under "no
 *   difference" each batch's lead is as likely negative as positive, and the summed lead over the
 *   root of the summed squared leads is a self-normalized statistic of about unit variance, which
 *   must pass `confidence` (3). A burst inside one batch can never pass; a difference that holds in
 *   every batch passes after about ten (about a third of a capacity of requests);
 * - evidence is halved every 32 batches in which the two shares differed, so it reflects the
 *   workload of the last few capacities, and a pair that rarely differs keeps its evidence longer.
 *
 * That answers each way the climber fails, by construction rather than by tuning:
 * - cold start: while the miniatures fill they all hold everything and agree, so nothing moves;
 * - flat signal: no disagreement is no evidence, and the choice stays where it is;
 * - noise: a lead within chance never moves the window, however long it lasts;
 * - sudden shifts: old evidence halves every 32 batches of differences, so after a shift the share
 *   that now wins gathers a significant lead within a few capacities;
 * - the LRU floor: the grid contains 100%, which is LRU exactly (main drains into the window as it
 *   grows), so where LRU is best the cache becomes LRU, less the time it takes to see that.
 *
 * The start is the 1% window (see tuner.ts for why leaving a wrong start is cheapest from there).
 * The miniatures run the same W-TinyLFU code as the cache (tinylfu.ts), whose admission has two rules
 * beyond TinyLFU's "admit when more frequent than the victim", both for workloads where popularity
 * changes: a candidate requested again while in the window is admitted (re-reference is direct
 * evidence of reuse, which the sketch's ten-capacity average lags behind), and a victim whose estimate
 * rose while nobody requested it loses (hash collisions, not popularity, raised it).
 *
 * Cost: above `miniatureEntries` entries of capacity, about `miniatureEntries / capacity` of requests
 * (at least 1/32) are sampled and each costs five miniature lookups; the others cost one comparison.
 * Memory grows with what the miniatures hold: at most five times their capacity of entries of a few
 * words, plus their sketch.
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
