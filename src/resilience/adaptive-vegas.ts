/**
 * The adaptive limiter's algorithm: Vegas style, judged once per window of samples.
 *
 * Why Vegas and not Gradient2 or AIMD:
 * - AIMD only backs off on a drop (an error or a timeout). A dependency that queues instead of
 *   failing (the usual case: a pool, a thread limit, a GPU) never drops, so AIMD climbs to `max`
 *   and the dependency's queue, and every caller's latency, grows with it. It needs an absolute
 *   latency threshold to be told what "too slow" is, which a library cannot guess.
 * - Gradient2 compares short-term latency with a long-term average of latency. That average
 *   follows the queueing delay it is meant to detect, so under a steady overload the gradient
 *   returns to 1 and the limit drifts up by its queue allowance every update: latency is not bounded.
 * - Vegas compares latency with the no-load latency (the lowest seen) and so estimates the queue
 *   at the dependency directly: `queue = inFlight × (1 − baseline / rtt)` (Little's law). Holding
 *   that estimate between `alpha` and `beta` requests keeps the dependency busy (throughput at its
 *   best) with a small, bounded queue (latency close to unloaded), which is what a job queue wants
 *   from the services its handlers call.
 *
 * Vegas has known weaknesses; each is handled here:
 * - A stale baseline (the dependency became slower for good; or a queue that never drains hides the
 *   true no-load latency, as does a start above the dependency's capacity). As TCP BBR does for its
 *   minimum RTT, every `probeIntervalMs` the limit is halved for one window, and halved again
 *   while that keeps moving the latency (down: a queue is
 *   draining; up: the dependency changed under the probe); the latency where halving no longer
 *   moves it is the new baseline.
 * - Noisy per-call latency (documents of different sizes): one fast call would set a baseline that
 *   every later window looks congested against. The baseline is the lowest *smoothed* window
 *   average, not the lowest call (and is measured again by a probe as soon as the first, smallest
 *   windows of the start are behind); and since the lowest of many noisy averages is biased low (which would
 *   read as a standing queue and hold the limit under capacity), each average is taken with its
 *   noise: a window offers `mean + 2 standard errors` as a baseline, and only the latency above
 *   `mean − 2 standard errors` counts as queueing. With exact latencies both are the mean.
 * - The caller's own stalls (a busy event loop, a GC pause): the calls in flight are all seen late,
 *   together, and fill one window that looks queued, however long the stall. The limit is lowered
 *   for a queue only when two of the last three windows show it; a dependency that queues keeps
 *   queueing.
 *
 * Errors: a congestion error (by default `resource`, `dependency` and timeouts) in a window cuts the
 * limit by `backoffRatio` (the AIMD reaction: overload that shows as errors rather than latency);
 * other errors are not latency samples (a validation error fails fast and would fake a low baseline).
 */

/** What one closed window of calls measured. */
export interface VegasWindow {
  /** Successful calls measured (latency samples). */
  samples: number;
  /** Their average latency, in ms. */
  avgRttMs: number;
  /** The standard error of that average, in ms (0 when unknown). */
  rttStdErrMs: number;
  /** Calls in flight on average over the window's time. */
  avgInflight: number;
  /** Most calls in flight at any point of the window. */
  maxInflight: number;
  /** Calls that failed with a congestion error. */
  drops: number;
}

export interface VegasBounds {
  min: number;
  max: number;
  backoffRatio: number;
}

/** Why the limit changed. */
export type LimitReason =
  /** No queue at the dependency and the limit was used: grow. */
  | 'grow'
  /** The dependency queues more than `beta` calls: shrink to its estimated capacity plus a small queue. */
  | 'queueing'
  /** Calls failed with congestion errors: multiplicative decrease. */
  | 'congestion'
  /** The baseline is re-measured with the limit halved for one window. */
  | 'probe'
  /** The probe is over: the limit from before it is back. */
  | 'restore'
  /** Set by hand (`setLimit`, `reduce`, a recovery action). */
  | 'manual';

/**
 * `max(1, log10(limit))`: the queue allowance grows slowly with the limit (as in Netflix's Vegas,
 * whose thresholds are 3 and 6 times it). Here they are 2 and 4 times it: a standing queue of 2 to
 * 4 calls (more above a limit of 10) covers the callers' turnaround between one call and the next,
 * so the dependency stays busy, and keeps a dependency that serves only 5 calls at once under twice
 * its unloaded latency (Netflix's 6 would put it at 2.2×).
 */
export function allowance(limit: number): number {
  return Math.max(1, Math.log10(limit));
}

/** Fewest queued calls at the dependency before the limit may grow. */
export const alphaOf = (limit: number): number => 2 * allowance(limit);
/** Most queued calls at the dependency before the limit shrinks. */
export const betaOf = (limit: number): number => 4 * allowance(limit);

/** How many standard errors a window's average latency is given either way. */
export const NOISE_Z = 2;

/** What a window offers as the no-load latency: its average, taken at the high end of its noise. */
export const baselineOf = (w: VegasWindow): number => w.avgRttMs + NOISE_Z * w.rttStdErrMs;
/** The window's latency for judging queueing: its average, taken at the low end of its noise. */
export const latencyOf = (w: VegasWindow): number => Math.max(0, w.avgRttMs - NOISE_Z * w.rttStdErrMs);

/** The estimated queue at the dependency: calls in flight beyond those it serves at no-load speed. */
export function queueEstimate(avgInflight: number, baselineMs: number, avgRttMs: number): number {
  if (!(avgRttMs > 0) || !(baselineMs > 0) || baselineMs >= avgRttMs) return 0;
  return avgInflight * (1 - baselineMs / avgRttMs);
}

/**
 * The limit after a queue of `queue` calls was seen with `inflight` calls in flight: what the
 * dependency serves at no-load speed plus the middle of the allowed queue; never more than halving at
 * once, so one slow window (a GC pause) cannot collapse the limit.
 */
export function shrunk(limit: number, inflight: number, queue: number, b: VegasBounds): number {
  const next = Math.max(
    limit / 2,
    Math.min(limit - 1, inflight - queue + (alphaOf(limit) + betaOf(limit)) / 2),
  );
  return Math.min(b.max, Math.max(b.min, next));
}

/** The verdict on one window: the next limit (unchanged when `reason` is undefined) and the queue seen. */
export interface Decision {
  limit: number;
  reason: LimitReason | undefined;
  /** The estimated queue at the dependency, in calls (0 for a window of drops only). */
  queue: number;
}

/**
 * The next limit after a window. `slowStart` doubles the limit per window until the first sign of a
 * queue (the caller ends it once `queue` reaches alpha or the limit is cut).
 */
export function nextLimit(
  limit: number,
  baselineMs: number,
  w: VegasWindow,
  slowStart: boolean,
  b: VegasBounds,
): Decision {
  const clamp = (v: number): number => Math.min(b.max, Math.max(b.min, v));
  const keep: Decision = { limit, reason: undefined, queue: 0 };
  if (w.drops > 0) {
    const next = clamp(limit * b.backoffRatio);
    return next < limit ? { limit: next, reason: 'congestion', queue: 0 } : keep;
  }
  if (w.samples === 0) return keep;
  const queue = queueEstimate(w.avgInflight, baselineMs, latencyOf(w));
  keep.queue = queue;
  const alpha = alphaOf(limit);
  const beta = betaOf(limit);
  if (queue > beta) {
    const next = shrunk(limit, w.avgInflight, queue, b);
    return next < limit ? { limit: next, reason: 'queueing', queue } : keep;
  }
  if (queue < alpha) {
    // A limit the callers did not use says nothing about whether a higher one would be safe.
    if (w.maxInflight < limit / 2) return keep;
    const next = clamp(slowStart ? limit * 2 : limit + allowance(limit));
    return next > limit ? { limit: next, reason: 'grow', queue } : keep;
  }
  return keep;
}
