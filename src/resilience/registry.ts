/**
 * A registry of named dependencies ('openai', 'smtp'), each with its own composed policies, typed
 * events for every state change, and error analytics fed from every failed call. The worker reads a
 * dependency's `availableInMs()` to decide whether to claim jobs that need it.
 *
 * A dependency's policies run in this order (outermost first):
 * fallback → retry → breaker → rate limit → bulkhead → adaptive limit → timeout → fn.
 * The adaptive limiter sits inside the breaker (an open breaker's rejections cost no permit) and
 * outside the timeout (a try cut off by its deadline counts as congestion). Each dependency has its
 * own limiter, so one slow service lowers only its own limit.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../kernel/clock.js';
import { NotFoundError, StateError, ValidationError, type ErrorCategory } from '../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import { AdaptivePolicy, type AdaptiveOptions } from './adaptive.js';
import type { AdaptiveLimiter, AdaptiveLimiterStats, LimitChange } from './adaptive-limiter.js';
import type { ErrorAnalytics } from './analytics.js';
import {
  CircuitBreaker,
  type BreakerOptions,
  type BreakerSnapshot,
  type BreakerState,
  type BreakerStats,
  type BreakerTransition,
  type IsolationHandle,
  type Outcome,
} from './breaker.js';
import { BulkheadPolicy, type BulkheadOptions } from './bulkhead.js';
import { classify, type ClassifyRule } from './classify.js';
import { isLocalRejection } from './errors.js';
import { FallbackPolicy, type FallbackOptions } from './fallback.js';
import type { CallContext } from './policy.js';
import { Policy, next, zClock, zTimers, type Task, type Timers } from './policy.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';
import {
  RecoveryRunner,
  zRecoveryPlan,
  type RecoveryOutcome,
  type RecoveryPlan,
  type RecoveryTrigger,
} from './recovery.js';
import { RetryPolicy, type GiveUpReason, type RetryOptions } from './retry.js';
import { TimeoutPolicy, type TimeoutOptions, type TimeoutStrategy } from './timeout.js';
import { WrappedPolicy } from './wrap.js';

export interface DependencyOptions<V = never> {
  /** Breaker settings; `false` for none. @default {} (opens after 5 consecutive failures) */
  breaker?: Omit<BreakerOptions, 'name' | 'clock'> | false;
  /** Retry settings. @default none */
  retry?: Omit<RetryOptions, 'clock' | 'timers' | 'classifyRules'>;
  /** A time limit per try, in ms or as options. @default none */
  timeout?: number | Omit<TimeoutOptions, 'name' | 'clock' | 'timers'>;
  /** Concurrency limit, as a number or options. @default none */
  bulkhead?: number | Omit<BulkheadOptions, 'name'>;
  /**
   * A concurrency limit found from the calls' latency and congestion errors; `true` for the
   * defaults. Calls over the limit wait in line (see `maxQueue`). @default none
   */
  adaptive?: true | Omit<AdaptiveOptions, 'name' | 'classifyRules'>;
  /** Token-bucket limit. @default none */
  rateLimit?: Omit<RateLimitOptions, 'name' | 'clock'>;
  /** What to answer with when everything failed. @default none */
  fallback?: FallbackOptions<V>;
  /**
   * Errors that say nothing about the dependency's health: they count as nothing for the breaker
   * and give a half-open permit back.
   * @default errors classified validation, permanent, auth, rate_limit, dependency or fatal
   */
  ignore?: (error: unknown) => boolean;
  /** Errors that prove the dependency works: they count as successes. */
  isFailure?: (error: unknown) => boolean;
  /**
   * What to do when the breaker changes state (or when `registry.recover()` reports a health
   * change): `{ 'breaker:open': [failover(urls), lowerConcurrency(), alert(page)] }`. Outcomes are
   * `recovery:action` events. @default none
   */
  recovery?: RecoveryPlan;
}

export interface RegistryOptions {
  /** @default systemClock */
  clock?: Clock;
  /** @default real timers */
  timers?: Timers;
  /** Classification rules for every dependency (retry predicates, the default `ignore`, analytics). */
  classifyRules?: readonly ClassifyRule[];
  /** Where failures are recorded, with the dependency's name. */
  analytics?: ErrorAnalytics;
  /** Longest a recovery action may run, in ms. @default 10000 */
  recoveryTimeoutMs?: number;
}

type Named<T> = T & { dependency: string };

export interface DependencyEvents {
  'breaker:open': Named<BreakerTransition>;
  'breaker:half_open': Named<BreakerTransition>;
  'breaker:close': Named<BreakerTransition>;
  'breaker:isolate': Named<BreakerTransition>;
  retry: Named<{ attempt: number; delayMs: number; error: unknown; category: ErrorCategory | undefined }>;
  'retry:give_up': Named<{
    attempt: number;
    reason: GiveUpReason;
    error: unknown;
    category: ErrorCategory | undefined;
  }>;
  timeout: Named<{ timeoutMs: number; strategy: TimeoutStrategy; late: boolean }>;
  'bulkhead:reject': Named<{ active: number; queued: number }>;
  /** The adaptive limit changed. */
  'adaptive:limit': Named<LimitChange>;
  'rate_limit:reject': Named<{ retryAfterMs: number }>;
  fallback: Named<{ error: unknown; source: 'cache' | 'fn' | 'value' }>;
  /** A try failed (before retry or fallback had their say), with how the breaker counted it. */
  failure: Named<{ error: unknown; category: ErrorCategory; outcome: Outcome }>;
  /** A recovery action ran (see the `recovery` option). */
  'recovery:action': RecoveryOutcome;
}

export interface DependencyStats {
  name: string;
  state: BreakerState;
  availableInMs: number;
  breaker: BreakerStats | undefined;
  bulkhead: { active: number; queued: number; maxConcurrent: number; maxQueue: number } | undefined;
  adaptive: AdaptiveLimiterStats | undefined;
  rateLimit: { available: number; capacity: number } | undefined;
}

const HEALTH_NEUTRAL: ReadonlySet<ErrorCategory> = new Set([
  'validation',
  'permanent',
  'auth',
  'rate_limit',
  'dependency',
  'fatal',
]);

/** Options of a part that the registry sets itself (from the dependency's name and the registry's options). */
const OWNED: Readonly<Record<string, readonly string[]>> = {
  breaker: ['name', 'clock'],
  retry: ['clock', 'timers', 'classifyRules'],
  timeout: ['name', 'clock', 'timers'],
  bulkhead: ['name'],
  adaptive: ['name', 'classifyRules'],
  rateLimit: ['name', 'clock'],
  fallback: [],
};

/**
 * Builds one part of a dependency. Refuses an option the registry sets itself, and names a bad
 * option under the dependency: `dependency 'db'.retry.maxAttempts` rather than `retry.maxAttempts`.
 */
function part<T>(at: string, key: string, inner: string, given: unknown, build: () => T): T {
  const outer = `${at}.${key}`;
  if (typeof given === 'object' && given !== null) {
    const owned = OWNED[key]!.find((k) => Object.hasOwn(given, k));
    if (owned !== undefined) {
      const path = `${outer}.${owned}`;
      throw new ValidationError(
        `[bulwark] invalid ${path}: set by the registry (the name is the dependency's; clock, timers and classifyRules are createRegistry() options)`,
        { path },
      );
    }
  }
  try {
    return build();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const p = error.path;
    if (p === undefined || (p !== inner && !p.startsWith(`${inner}.`))) throw error;
    // A number given for the whole part (timeout: 0) is named as the part itself.
    const path = typeof given === 'number' ? outer : outer + p.slice(inner.length);
    throw new ValidationError(error.message.replace(`invalid ${p}`, `invalid ${path}`), {
      path,
      cause: error,
    });
  }
}

const zName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits and _ . : - only');

const zObject = z.custom<object>((v) => typeof v === 'object' && v !== null, 'expected an object');
const zDependencyOptions = z.strictObject({
  breaker: z.union([z.literal(false), zObject]).optional(),
  retry: zObject.optional(),
  timeout: z.union([z.number(), zObject]).optional(),
  bulkhead: z.union([z.number(), zObject]).optional(),
  adaptive: z.union([z.literal(true), zObject]).optional(),
  rateLimit: zObject.optional(),
  fallback: zObject.optional(),
  ignore: z.custom<(e: unknown) => boolean>((f) => typeof f === 'function', 'expected a function').optional(),
  isFailure: z
    .custom<(e: unknown) => boolean>((f) => typeof f === 'function', 'expected a function')
    .optional(),
  recovery: zRecoveryPlan.optional(),
});

const zRegistryOptions = z.strictObject({
  clock: zClock.optional(),
  timers: zTimers.optional(),
  classifyRules: z
    .array(z.custom<ClassifyRule>((f) => typeof f === 'function', 'expected a function'))
    .optional(),
  analytics: z
    .custom<ErrorAnalytics>(
      (a) => typeof (a as ErrorAnalytics | undefined)?.record === 'function',
      'expected an ErrorAnalytics (an object with record())',
    )
    .optional(),
  recoveryTimeoutMs: z.number().int().positive().max(3_600_000).optional(),
});

/** Sees the errors of a dependency that has no breaker (one with a breaker uses its observer). */
class ObserverPolicy extends Policy {
  constructor(private readonly observe: (error: unknown, outcome: Outcome) => void) {
    super();
  }

  step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    let r: unknown;
    try {
      r = next(chain, i, fn, ctx);
    } catch (error) {
      this.observe(error, 'failure');
      throw error;
    }
    return r instanceof Promise ? r.then(undefined, this.rethrow) : r;
  }

  private readonly rethrow = (error: unknown): never => {
    this.observe(error, 'failure');
    throw error;
  };
}

/** One named dependency and the policies that guard it. */
export class Dependency<V = never> {
  readonly name: string;
  readonly breaker: CircuitBreaker | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly timeout: TimeoutPolicy | undefined;
  readonly bulkhead: BulkheadPolicy | undefined;
  readonly adaptive: AdaptivePolicy | undefined;
  readonly rateLimiter: RateLimiter | undefined;
  readonly fallback: FallbackPolicy<V> | undefined;
  /** Everything above composed into one policy. */
  readonly policy: Policy<V>;

  /** @internal Use `registry.define()`. */
  constructor(
    name: string,
    parts: {
      breaker?: CircuitBreaker | undefined;
      retry?: RetryPolicy | undefined;
      timeout?: TimeoutPolicy | undefined;
      bulkhead?: BulkheadPolicy | undefined;
      adaptive?: AdaptivePolicy | undefined;
      rateLimiter?: RateLimiter | undefined;
      fallback?: FallbackPolicy<V> | undefined;
      observer?: Policy | undefined;
    },
  ) {
    this.name = name;
    this.breaker = parts.breaker;
    this.retry = parts.retry;
    this.timeout = parts.timeout;
    this.bulkhead = parts.bulkhead;
    this.adaptive = parts.adaptive;
    this.rateLimiter = parts.rateLimiter;
    this.fallback = parts.fallback;
    const chain = [
      parts.fallback,
      parts.retry,
      parts.breaker,
      parts.rateLimiter,
      parts.bulkhead,
      parts.adaptive,
      parts.observer,
      parts.timeout,
    ].filter((p) => p !== undefined) as Policy<unknown>[];
    this.policy = new WrappedPolicy<V>(chain);
  }

  /** Runs `fn` through this dependency's policies. */
  execute<T>(fn: Task<T>, signal?: AbortSignal): Promise<T | V> {
    return this.policy.execute(fn, signal);
  }

  /**
   * The adaptive limiter, when the dependency has one: a worker reads `available` before claiming
   * jobs that call this dependency, and a recovery action may `reduce()` it.
   */
  get limiter(): AdaptiveLimiter | undefined {
    return this.adaptive?.limiter;
  }

  /** The breaker's state ('closed' when there is no breaker). */
  get state(): BreakerState {
    return this.breaker === undefined ? 'closed' : this.breaker.state;
  }

  /**
   * Milliseconds until a call may be admitted (0 = now): the longer of the breaker's wait and the
   * rate limiter's. Infinity while isolated. `now` is for the breaker's clock.
   */
  availableInMs(now?: number): number {
    const b = this.breaker === undefined ? 0 : this.breaker.availableInMs(now);
    const r = this.rateLimiter === undefined ? 0 : this.rateLimiter.availableInMs();
    return Math.max(b, r);
  }

  stats(): DependencyStats {
    return {
      name: this.name,
      state: this.state,
      availableInMs: this.availableInMs(),
      breaker: this.breaker?.stats(),
      bulkhead: this.bulkhead && {
        active: this.bulkhead.active,
        queued: this.bulkhead.queued,
        maxConcurrent: this.bulkhead.maxConcurrent,
        maxQueue: this.bulkhead.maxQueue,
      },
      adaptive: this.adaptive?.stats(),
      rateLimit: this.rateLimiter && {
        available: this.rateLimiter.available,
        capacity: this.rateLimiter.capacity,
      },
    };
  }
}

export class DependencyRegistry {
  private readonly deps = new Map<string, Dependency<unknown>>();
  private readonly emitter = new TypedEmitter<DependencyEvents>(undefined, {
    'breaker:open': true,
    'breaker:half_open': true,
    'breaker:close': true,
    'breaker:isolate': true,
    retry: true,
    'retry:give_up': true,
    timeout: true,
    'bulkhead:reject': true,
    'adaptive:limit': true,
    'rate_limit:reject': true,
    fallback: true,
    failure: true,
    'recovery:action': true,
  });
  private readonly clock: Clock;
  /** The clock the user gave (adaptive limiters otherwise keep their high-resolution one). */
  private readonly givenClock: Clock | undefined;
  private readonly timers: Timers | undefined;
  private readonly rules: readonly ClassifyRule[];
  private readonly analytics: ErrorAnalytics | undefined;
  /** Runs the dependencies' recovery plans on their breaker events. */
  readonly recovery: RecoveryRunner;
  private readonly plans = new Map<string, Disposer>();

  constructor(options: RegistryOptions = {}) {
    const o = parseOptions(zRegistryOptions, options, 'registry');
    this.clock = o.clock ?? systemClock;
    this.givenClock = o.clock;
    this.timers = o.timers;
    this.rules = o.classifyRules ?? [];
    this.analytics = o.analytics;
    this.recovery = new RecoveryRunner({
      clock: this.clock,
      ...(o.timers === undefined ? {} : { timers: o.timers }),
      ...(o.recoveryTimeoutMs === undefined ? {} : { actionTimeoutMs: o.recoveryTimeoutMs }),
      limiterOf: (name) => this.deps.get(name)?.limiter,
    });
    this.recovery.attach(this.emitter);
    this.recovery.on('action', (e) => this.emitter.emit('recovery:action', e));
  }

  /**
   * Runs the recovery actions `name` planned for `trigger` (breaker triggers run by themselves;
   * this is for the health ones, e.g. from a HealthMonitor's `transition` event).
   */
  recover(name: string, trigger: RecoveryTrigger, detail?: unknown): Promise<RecoveryOutcome[]> {
    this.get(name);
    return this.recovery.trigger(name, trigger, detail);
  }

  /** Subscribes to an event of any dependency; returns a disposer. */
  on<K extends keyof DependencyEvents>(event: K, listener: Listener<DependencyEvents[K]>): Disposer {
    return this.emitter.on(event, listener);
  }

  /** Defines a dependency. A name can be defined once (`delete` it first to redefine). */
  define<V = never>(name: string, options: DependencyOptions<V> = {}): Dependency<V> {
    const n = parseOptions(zName, name, 'name');
    const o = parseOptions(zDependencyOptions, options, `dependency '${n}'`) as DependencyOptions<V>;
    if (this.deps.has(n)) throw new StateError(`[bulwark] [registry] dependency '${n}' is already defined`);
    const emit = this.emitter;
    const ignore =
      o.ignore ??
      (o.breaker ? o.breaker.ignore : undefined) ??
      ((e: unknown) => HEALTH_NEUTRAL.has(classify(e, this.rules).category));

    // Build every part first, so a bad option throws before anything is registered; a bad option
    // of a part is named under the dependency (`dependency 'db'.retry.maxAttempts`).
    const at = `dependency '${n}'`;
    const breaker =
      o.breaker === false
        ? undefined
        : part(
            at,
            'breaker',
            'breaker',
            o.breaker,
            () =>
              new CircuitBreaker({
                isFailure: o.isFailure,
                ...o.breaker,
                ignore,
                name: n,
                clock: this.clock,
              }),
          );
    const retry =
      o.retry === undefined
        ? undefined
        : part(
            at,
            'retry',
            'retry',
            o.retry,
            () =>
              new RetryPolicy({
                ...o.retry,
                clock: this.clock,
                timers: this.timers,
                classifyRules: this.rules,
              }),
          );
    const to =
      o.timeout === undefined
        ? undefined
        : part(
            at,
            'timeout',
            'timeout',
            o.timeout,
            () =>
              new TimeoutPolicy({
                ...(typeof o.timeout === 'number' ? { timeoutMs: o.timeout } : o.timeout!),
                name: n,
                clock: this.clock,
                timers: this.timers,
              }),
          );
    const bulkhead =
      o.bulkhead === undefined
        ? undefined
        : part(
            at,
            'bulkhead',
            'bulkhead',
            o.bulkhead,
            () =>
              new BulkheadPolicy({
                ...(typeof o.bulkhead === 'number' ? { maxConcurrent: o.bulkhead } : o.bulkhead!),
                name: n,
              }),
          );
    const adaptive =
      o.adaptive === undefined
        ? undefined
        : part(
            at,
            'adaptive',
            'adaptive limiter options',
            o.adaptive,
            () =>
              new AdaptivePolicy({
                ...(this.givenClock === undefined ? {} : { clock: this.givenClock }),
                ...(o.adaptive === true ? {} : o.adaptive),
                classifyRules: this.rules,
                name: n,
              }),
          );
    const limiter =
      o.rateLimit === undefined
        ? undefined
        : part(
            at,
            'rateLimit',
            'rateLimit',
            o.rateLimit,
            () => new RateLimiter({ ...o.rateLimit!, name: n, clock: this.clock }),
          );
    const fb =
      o.fallback === undefined
        ? undefined
        : part(at, 'fallback', 'fallback', o.fallback, () => new FallbackPolicy<V>(o.fallback!));

    const observe = (error: unknown, outcome: Outcome): void => {
      if (isLocalRejection(error)) return;
      const category = classify(error, this.rules).category;
      this.analytics?.record({ dependency: n, category, error, at: this.clock.now() });
      emit.emit('failure', { dependency: n, error, category, outcome });
    };
    let observer: Policy | undefined;
    if (breaker !== undefined) breaker.observer = observe;
    else observer = new ObserverPolicy(observe);

    if (breaker !== undefined) {
      breaker.on('open', (e) => emit.emit('breaker:open', { ...e, dependency: n }));
      breaker.on('half_open', (e) => emit.emit('breaker:half_open', { ...e, dependency: n }));
      breaker.on('close', (e) => emit.emit('breaker:close', { ...e, dependency: n }));
      breaker.on('isolate', (e) => emit.emit('breaker:isolate', { ...e, dependency: n }));
    }
    retry?.on('retry', (e) => emit.emit('retry', { ...e, dependency: n }));
    retry?.on('give_up', (e) => emit.emit('retry:give_up', { ...e, dependency: n }));
    to?.on('timeout', (e) => emit.emit('timeout', { ...e, dependency: n }));
    bulkhead?.on('reject', (e) => emit.emit('bulkhead:reject', { ...e, dependency: n }));
    adaptive?.on('limit', (e) => emit.emit('adaptive:limit', { ...e, dependency: n }));
    limiter?.on('reject', (e) => emit.emit('rate_limit:reject', { ...e, dependency: n }));
    fb?.on('fallback', (e) => emit.emit('fallback', { ...e, dependency: n }));

    const dep = new Dependency<V>(n, {
      breaker,
      retry,
      timeout: to,
      bulkhead,
      adaptive,
      rateLimiter: limiter,
      fallback: fb,
      observer,
    });
    this.deps.set(n, dep as Dependency<unknown>);
    if (o.recovery !== undefined) this.plans.set(n, this.recovery.plan(n, o.recovery));
    return dep;
  }

  /** The dependency called `name`; throws NotFoundError when there is none. */
  get<V = never>(name: string): Dependency<V> {
    const d = this.deps.get(name);
    if (d === undefined) throw new NotFoundError(`[bulwark] [registry] no dependency named '${name}'`);
    return d as Dependency<V>;
  }

  has(name: string): boolean {
    return this.deps.has(name);
  }

  /** Removes a dependency and its recovery plan (its listeners stay with the removed object). */
  delete(name: string): boolean {
    this.plans.get(name)?.();
    this.plans.delete(name);
    return this.deps.delete(name);
  }

  names(): string[] {
    return [...this.deps.keys()];
  }

  /**
   * The longest wait among `names` (0 = all may be called now): what a worker checks before
   * claiming a job that needs them. Unknown names throw NotFoundError.
   */
  availableInMs(names: Iterable<string>, now?: number): number {
    let wait = 0;
    for (const name of names) wait = Math.max(wait, this.get(name).availableInMs(now));
    return wait;
  }

  stats(): DependencyStats[] {
    return [...this.deps.values()].map((d) => d.stats());
  }

  /** Every breaker's state, to persist and `restore()` after a restart. */
  toJSON(): Record<string, BreakerSnapshot> {
    const out: Record<string, BreakerSnapshot> = {};
    for (const [name, d] of this.deps) if (d.breaker) out[name] = d.breaker.toJSON();
    return out;
  }

  /**
   * Loads breaker states saved by `toJSON()`; names not defined here are skipped. Returns the
   * isolation handles of breakers that were isolated when saved.
   */
  restore(snapshot: Record<string, BreakerSnapshot>): Record<string, IsolationHandle> {
    const handles: Record<string, IsolationHandle> = {};
    for (const [name, s] of Object.entries(snapshot)) {
      const handle = this.deps.get(name)?.breaker?.restore(s);
      if (handle) handles[name] = handle;
    }
    return handles;
  }
}

/** A registry of named dependencies. */
export function createRegistry(options?: RegistryOptions): DependencyRegistry {
  return new DependencyRegistry(options);
}
