/**
 * Recovery actions: what to do, per dependency, when its breaker or its health changes state —
 * clear a cache, fail over to the next endpoint, lower the concurrency, alert someone (the actions
 * themselves are in recovery-actions.ts; any object with `name` and `run(event)` is one).
 *
 * A runner takes plans (`trigger → actions`) per dependency. Breaker triggers arrive from a source
 * of breaker events (a DependencyRegistry, which also takes plans in `define()`); health triggers
 * are handed to `trigger()` by whoever watches health (e.g. a HealthMonitor's `transition` event).
 * The actions of one trigger run in order (a failover before the alert that reports it); the runs
 * of one dependency never overlap; each action has a time limit and an AbortSignal; an action that
 * fails is reported as an `action` event and the next one still runs. Nothing runs, and no timer
 * exists, between triggers.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../kernel/clock.js';
import { ClosedError, TimeoutError } from '../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import { systemTimers, zClock, zTimers, type Timers } from './policy.js';

export const RECOVERY_TRIGGERS = [
  'breaker:open',
  'breaker:half_open',
  'breaker:close',
  'breaker:isolate',
  'health:degraded',
  'health:unhealthy',
  'health:healthy',
] as const;
export type RecoveryTrigger = (typeof RECOVERY_TRIGGERS)[number];

/** Something whose concurrency can be lowered: an AdaptiveLimiter is one. */
export interface ConcurrencyControl {
  reduce(ratio: number): void;
}

/** What an action is told when it runs. */
export interface RecoveryEvent {
  dependency: string;
  trigger: RecoveryTrigger;
  /** When the trigger fired (runner clock). */
  at: number;
  /** What caused it: the breaker's transition, or what was given to `trigger()`. */
  detail: unknown;
  /** The dependency's own adaptive limiter, when the runner knows one. */
  limiter: ConcurrencyControl | undefined;
  /** Aborts when the action runs past its time limit or the runner closes. */
  signal: AbortSignal;
}

/** One thing to do on a trigger. */
export interface RecoveryAction {
  /** Shown in events and errors, e.g. `failover` or `clear-cache:users`. */
  readonly name: string;
  run(event: RecoveryEvent): unknown;
}

/** What to do on which trigger, for one dependency. */
export type RecoveryPlan = Partial<Record<RecoveryTrigger, readonly RecoveryAction[]>>;

/** How one action went. */
export interface RecoveryOutcome {
  dependency: string;
  trigger: RecoveryTrigger;
  action: string;
  ok: boolean;
  /** Why it failed (a TimeoutError when it ran past `actionTimeoutMs`). */
  error?: unknown;
  durationMs: number;
}

export interface RecoveryEvents {
  action: RecoveryOutcome;
}

export interface RecoveryOptions {
  /** Longest an action may run before it is aborted and counted as failed, in ms. @default 10000 */
  actionTimeoutMs?: number;
  /** The dependency's adaptive limiter, handed to actions as `event.limiter`. */
  limiterOf?: (dependency: string) => ConcurrencyControl | undefined;
  /** @default systemClock */
  clock?: Clock;
  /** @default real timers */
  timers?: Timers;
}

/** Anything that emits breaker transitions named by dependency (a DependencyRegistry does). */
export interface BreakerEventSource {
  on(
    event: 'breaker:open' | 'breaker:half_open' | 'breaker:close' | 'breaker:isolate',
    listener: (e: { dependency: string }) => void,
  ): Disposer;
}

const zAction = z.custom<RecoveryAction>(
  (a) =>
    typeof a === 'object' &&
    a !== null &&
    typeof (a as RecoveryAction).run === 'function' &&
    typeof (a as RecoveryAction).name === 'string' &&
    (a as RecoveryAction).name.length > 0,
  'expected a recovery action { name, run(event) }',
);
/** @internal The schema of a plan (the registry validates `define()` options with it). */
export const zRecoveryPlan = z
  .partialRecord(z.enum(RECOVERY_TRIGGERS), z.array(zAction).max(100))
  .refine((p) => typeof p === 'object' && p !== null && !Array.isArray(p), 'expected { trigger: actions[] }');
const zDependency = z.string().min(1).max(200);
const zOptions = z.strictObject({
  actionTimeoutMs: z.number().int().positive().max(3_600_000).optional(),
  limiterOf: z
    .custom<(d: string) => ConcurrencyControl | undefined>(
      (f) => typeof f === 'function',
      'expected a function',
    )
    .optional(),
  clock: zClock.optional(),
  timers: zTimers.optional(),
});

export class RecoveryRunner {
  private readonly plans = new Map<string, RecoveryPlan>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly emitter = new TypedEmitter<RecoveryEvents>(undefined, { action: true });
  private readonly running = new Set<AbortController>();
  private readonly timeoutMs: number;
  private readonly limiterOf: (dependency: string) => ConcurrencyControl | undefined;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private closed = false;

  constructor(options: RecoveryOptions = {}) {
    const o = parseOptions(zOptions, options, 'recovery options');
    this.timeoutMs = o.actionTimeoutMs ?? 10_000;
    this.limiterOf = o.limiterOf ?? (() => undefined);
    this.clock = o.clock ?? systemClock;
    this.timers = o.timers ?? systemTimers;
  }

  /** Subscribes to the outcome of every action; returns a disposer. */
  on<K extends keyof RecoveryEvents>(event: K, listener: Listener<RecoveryEvents[K]>): Disposer {
    return this.emitter.on(event, listener);
  }

  /** Sets (or replaces) the plan of a dependency; the disposer removes it. */
  plan(dependency: string, plan: RecoveryPlan): Disposer {
    const d = parseOptions(zDependency, dependency, 'dependency');
    const p = parseOptions(zRecoveryPlan, plan, `recovery plan of '${d}'`) as RecoveryPlan;
    this.plans.set(d, p);
    return () => {
      if (this.plans.get(d) === p) this.plans.delete(d);
    };
  }

  /** Runs the breaker triggers of every planned dependency from `source`'s events. */
  attach(source: BreakerEventSource): Disposer {
    const offs = (['breaker:open', 'breaker:half_open', 'breaker:close', 'breaker:isolate'] as const).map(
      (t) =>
        source.on(t, (e) => {
          if (this.plans.get(e.dependency)?.[t]?.length) void this.trigger(e.dependency, t, e);
        }),
    );
    return () => {
      for (const off of offs) off();
    };
  }

  /**
   * Runs the actions planned for `trigger` on `dependency`, after any run of that dependency still
   * going. Resolves with their outcomes (never rejects for an action's failure).
   */
  trigger(dependency: string, trigger: RecoveryTrigger, detail?: unknown): Promise<RecoveryOutcome[]> {
    const d = parseOptions(zDependency, dependency, 'dependency');
    const t = parseOptions(z.enum(RECOVERY_TRIGGERS), trigger, 'trigger');
    if (this.closed) return Promise.reject(new ClosedError('[bulwark] [recovery] the runner is closed'));
    const actions = this.plans.get(d)?.[t] ?? [];
    if (actions.length === 0) return Promise.resolve([]);
    const at = this.clock.now();
    const previous = this.chains.get(d) ?? Promise.resolve();
    const run = previous.then(() => this.runAll(d, t, at, detail, actions));
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(d, tail);
    void tail.then(() => {
      if (this.chains.get(d) === tail) this.chains.delete(d);
    });
    return run;
  }

  /** Resolves when no action is running or waiting. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all(this.chains.values());
  }

  /** Aborts running actions, refuses new triggers, and waits for the runs to end. */
  async close(): Promise<void> {
    this.closed = true;
    for (const ac of this.running) ac.abort(new ClosedError('[bulwark] [recovery] the runner closed'));
    await this.idle();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async runAll(
    dependency: string,
    trigger: RecoveryTrigger,
    at: number,
    detail: unknown,
    actions: readonly RecoveryAction[],
  ): Promise<RecoveryOutcome[]> {
    const out: RecoveryOutcome[] = [];
    for (const action of actions) {
      if (this.closed) break;
      const outcome = await this.runOne(dependency, trigger, at, detail, action);
      out.push(outcome);
      this.emitter.emit('action', outcome);
    }
    return out;
  }

  private async runOne(
    dependency: string,
    trigger: RecoveryTrigger,
    at: number,
    detail: unknown,
    action: RecoveryAction,
  ): Promise<RecoveryOutcome> {
    const ac = new AbortController();
    this.running.add(ac);
    const t0 = this.clock.now();
    let timer: unknown;
    const limit = new Promise<never>((_, reject) => {
      timer = this.timers.setTimeout(() => {
        const e = new TimeoutError(
          `[bulwark] [recovery] action '${action.name}' of '${dependency}' ran past ${this.timeoutMs} ms`,
          { timeoutMs: this.timeoutMs },
        );
        ac.abort(e);
        reject(e);
      }, this.timeoutMs);
    });
    const aborted = new Promise<never>((_, reject) => {
      ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true });
    });
    // Only one of the racers is awaited: the others must not surface as unhandled rejections.
    limit.catch(() => {});
    aborted.catch(() => {});
    try {
      const event: RecoveryEvent = {
        dependency,
        trigger,
        at,
        detail,
        limiter: this.limiterOf(dependency),
        signal: ac.signal,
      };
      await Promise.race([Promise.resolve().then(() => action.run(event)), limit, aborted]);
      return { dependency, trigger, action: action.name, ok: true, durationMs: this.clock.now() - t0 };
    } catch (error) {
      return {
        dependency,
        trigger,
        action: action.name,
        ok: false,
        error,
        durationMs: this.clock.now() - t0,
      };
    } finally {
      this.timers.clearTimeout(timer);
      this.running.delete(ac);
    }
  }
}

/** A runner of recovery plans (attach it to a registry, or use the registry's `recovery` option). */
export function createRecovery(options?: RecoveryOptions): RecoveryRunner {
  return new RecoveryRunner(options);
}
