/**
 * The adaptive limiter as a policy, next to `bulkhead()`: a call takes a permit (waiting in line
 * while the limit is reached), runs, and reports its latency or error to the limiter.
 */
import type { Disposer, Listener } from '../kernel/events.js';
import {
  AdaptiveLimiter,
  type AdaptiveLimiterEvents,
  type AdaptiveLimiterOptions,
  type AdaptiveLimiterStats,
  type AdaptivePermit,
} from './adaptive-limiter.js';
import type { CallContext } from './policy.js';
import { Policy, next, type Task } from './policy.js';

export type AdaptiveOptions = AdaptiveLimiterOptions;

export class AdaptivePolicy extends Policy {
  /** The limiter this policy takes its permits from (share it to gate other work by the same limit). */
  readonly limiter: AdaptiveLimiter;

  constructor(options: AdaptiveOptions | AdaptiveLimiter = {}) {
    super();
    this.limiter = options instanceof AdaptiveLimiter ? options : new AdaptiveLimiter(options);
  }

  on<K extends keyof AdaptiveLimiterEvents>(
    event: K,
    listener: Listener<AdaptiveLimiterEvents[K]>,
  ): Disposer {
    return this.limiter.on(event, listener);
  }

  get name(): string | undefined {
    return this.limiter.name;
  }

  /** Calls that may run at once now. */
  get limit(): number {
    return this.limiter.limit;
  }

  /** Calls running now. */
  get inflight(): number {
    return this.limiter.inflight;
  }

  /** Calls waiting for a permit. */
  get queued(): number {
    return this.limiter.queued;
  }

  stats(): AdaptiveLimiterStats {
    return this.limiter.stats();
  }

  /** @internal */
  step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    const permit = this.limiter.tryAcquire();
    if (permit !== undefined) return run(permit, chain, i, fn, ctx);
    if (this.limiter.queued >= this.limiter.maxQueue) throw this.limiter.rejection();
    return this.limiter.acquire(ctx.cancelSignal()).then((p) => run(p, chain, i, fn, ctx));
  }
}

function run(
  permit: AdaptivePermit,
  chain: readonly Policy<unknown>[],
  i: number,
  fn: Task<unknown>,
  ctx: CallContext,
): unknown {
  let r: unknown;
  try {
    r = next(chain, i, fn, ctx);
  } catch (error) {
    permit.failure(error);
    throw error;
  }
  if (!(r instanceof Promise)) {
    permit.success();
    return r;
  }
  return r.then(
    (value: unknown) => {
      permit.success();
      return value;
    },
    (error: unknown) => {
      permit.failure(error);
      throw error;
    },
  );
}

/** An adaptive concurrency policy: the limit follows the dependency's latency and congestion errors. */
export function adaptive(options?: AdaptiveOptions | AdaptiveLimiter): AdaptivePolicy {
  return new AdaptivePolicy(options);
}
