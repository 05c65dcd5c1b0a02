/**
 * Token-bucket rate limiter: `limit` tokens per `intervalMs`, holding up to `burst`. Refilled on
 * use from the clock (no timer). As a policy it rejects with a RateLimitRejectedError carrying
 * `retryAfterMs`.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../kernel/clock.js';
import { ValidationError } from '../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import { RateLimitRejectedError } from './errors.js';
import type { CallContext } from './policy.js';
import { Policy, next, zClock, type Task } from './policy.js';

export interface RateLimitOptions {
  /** Tokens added per interval. */
  limit: number;
  /** @default 1000 */
  intervalMs?: number;
  /** Most tokens held (the burst). The bucket starts full. @default limit */
  burst?: number;
  /** Named in errors and events. */
  name?: string;
  /** @default systemClock */
  clock?: Clock;
}

export interface AcquireResult {
  ok: boolean;
  /** 0 when ok; otherwise when enough tokens will be there, in milliseconds. */
  retryAfterMs: number;
}

export interface RateLimitEvents {
  reject: { retryAfterMs: number };
}

const zRateLimitOptions = z
  .strictObject({
    limit: z.number().positive().finite(),
    intervalMs: z.number().int().positive().optional(),
    burst: z.number().min(1).finite().optional(),
    name: z.string().min(1).max(200).optional(),
    clock: zClock.optional(),
  })
  .refine((o) => (o.burst ?? o.limit) >= 1, {
    message: 'the bucket must hold at least one token: set burst ≥ 1',
    path: ['burst'],
  });

export class RateLimiter extends Policy {
  readonly capacity: number;
  readonly name: string | undefined;
  /** Tokens per millisecond. */
  private readonly rate: number;
  private readonly clock: Clock;
  private readonly events = new TypedEmitter<RateLimitEvents>(undefined, { reject: true });
  private readonly message: string;
  private tokens: number;
  private last: number;

  constructor(options: RateLimitOptions) {
    super();
    const o = parseOptions(zRateLimitOptions, options, 'rateLimit');
    this.capacity = o.burst ?? o.limit;
    this.rate = o.limit / (o.intervalMs ?? 1000);
    this.name = o.name;
    this.clock = o.clock ?? systemClock;
    this.tokens = this.capacity;
    this.last = this.clock.now();
    this.message = `[bulwark] [rate-limit] ${o.name === undefined ? 'limit' : `'${o.name}'`} reached`;
  }

  on<K extends keyof RateLimitEvents>(event: K, listener: Listener<RateLimitEvents[K]>): Disposer {
    return this.events.on(event, listener);
  }

  /** Takes `cost` tokens if there are enough; otherwise takes nothing and says when to come back. */
  tryAcquire(cost = 1): AcquireResult {
    const wait = this.take(cost);
    return { ok: wait === 0, retryAfterMs: wait };
  }

  /** Milliseconds until `cost` tokens are there (0 = now), taking nothing. */
  availableInMs(cost = 1): number {
    this.checkCost(cost);
    this.refill();
    return this.tokens >= cost ? 0 : Math.ceil((cost - this.tokens) / this.rate);
  }

  /** Tokens there now. */
  get available(): number {
    this.refill();
    return this.tokens;
  }

  /** @internal */
  step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    const wait = this.take(1);
    if (wait !== 0) {
      this.events.emit('reject', { retryAfterMs: wait });
      throw new RateLimitRejectedError(this.message, { retryAfterMs: wait, dependency: this.name });
    }
    return next(chain, i, fn, ctx);
  }

  private take(cost: number): number {
    this.checkCost(cost);
    this.refill();
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((cost - this.tokens) / this.rate));
  }

  private checkCost(cost: number): void {
    if (!(cost > 0) || cost > this.capacity) {
      throw new ValidationError(`[bulwark] invalid cost: ${cost} (must be > 0 and ≤ ${this.capacity})`, {
        path: 'cost',
      });
    }
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.rate);
      this.last = now;
    }
  }
}

/** A token-bucket rate limiter (usable as a policy or through `tryAcquire`). */
export function rateLimit(options: RateLimitOptions): RateLimiter {
  return new RateLimiter(options);
}
