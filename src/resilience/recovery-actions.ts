/**
 * The built-in recovery actions: clear a cache, fail over to the next endpoint, lower a
 * concurrency limit, call an alert hook. Each is a plain `{ name, run(event) }` object; write your
 * own the same way. Nothing here knows bulwark's cache or worker: a cache is anything with
 * `clear()`, a limit anything with `reduce(ratio)`.
 */
import { z } from 'zod';
import { StateError, ValidationError } from '../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import type { ConcurrencyControl, RecoveryAction, RecoveryEvent } from './recovery.js';

const zName = z.string().min(1).max(200);
const zNamed = z.strictObject({ name: zName.optional() });

/** Empties `cache` (anything with `clear()`, awaited when it returns a promise). */
export function clearCache(cache: { clear(): unknown }, options: { name?: string } = {}): RecoveryAction {
  if (typeof (cache as { clear?: unknown } | null)?.clear !== 'function') {
    throw new ValidationError(
      `[bulwark] invalid cache: clearCache expects an object with clear(), got ${cache === null ? 'null' : typeof cache}`,
      {
        path: 'cache',
      },
    );
  }
  const o = parseOptions(zNamed, options, 'clearCache options');
  return {
    name: o.name ?? 'clear-cache',
    async run() {
      await cache.clear();
    },
  };
}

export interface FailoverOptions {
  /** After the last endpoint, start again from the first (else stay on the last). @default true */
  wrap?: boolean;
  /** @default 'failover' */
  name?: string;
}

export interface FailoverEvents<E> {
  failover: { from: E; to: E; index: number; dependency: string | undefined };
}

/** An action that moves to the next endpoint of a list; read `current` where the calls are made. */
export class Failover<E> implements RecoveryAction {
  readonly name: string;
  readonly endpoints: readonly E[];
  private readonly wrap: boolean;
  private readonly events = new TypedEmitter<FailoverEvents<E>>(undefined, { failover: true });
  private i = 0;

  constructor(endpoints: readonly E[], options: FailoverOptions = {}) {
    parseOptions(z.array(z.unknown()).min(1).max(1000), endpoints, 'endpoints');
    const o = parseOptions(
      z.strictObject({ wrap: z.boolean().optional(), name: zName.optional() }),
      options,
      'failover options',
    );
    this.endpoints = [...endpoints];
    this.wrap = o.wrap ?? true;
    this.name = o.name ?? 'failover';
  }

  /** The endpoint calls should go to now. */
  get current(): E {
    return this.endpoints[this.i]!;
  }

  /** The position of `current` in the list. */
  get index(): number {
    return this.i;
  }

  on<K extends keyof FailoverEvents<E>>(event: K, listener: Listener<FailoverEvents<E>[K]>): Disposer {
    return this.events.on(event, listener);
  }

  /** Moves to the next endpoint (what `run` does); returns the new current one. */
  next(dependency?: string): E {
    const from = this.current;
    const last = this.endpoints.length - 1;
    const to = this.i < last ? this.i + 1 : this.wrap ? 0 : last;
    if (to !== this.i) {
      this.i = to;
      this.events.emit('failover', { from, to: this.current, index: to, dependency });
    }
    return this.current;
  }

  /** Back to the first endpoint (e.g. once the primary is known to be healthy again). */
  reset(): void {
    this.i = 0;
  }

  run(event: RecoveryEvent): void {
    this.next(event.dependency);
  }
}

/** Fails over to the next of `endpoints` each time it runs. */
export function failover<E>(endpoints: readonly E[], options?: FailoverOptions): Failover<E> {
  return new Failover(endpoints, options);
}

export interface LowerConcurrencyOptions {
  /** What to lower; default: the dependency's own adaptive limiter (`event.limiter`). */
  limiter?: ConcurrencyControl;
  /** What the limit is multiplied by. @default 0.5 */
  ratio?: number;
  /** @default 'lower-concurrency' */
  name?: string;
}

/**
 * Lowers a concurrency limit (an adaptive limiter's: it then grows back by itself as the
 * dependency recovers). Fails when there is nothing to lower.
 */
export function lowerConcurrency(options: LowerConcurrencyOptions = {}): RecoveryAction {
  const o = parseOptions(
    z.strictObject({
      limiter: z
        .custom<ConcurrencyControl>(
          (l) => typeof (l as ConcurrencyControl | null)?.reduce === 'function',
          'expected a limiter with reduce(ratio)',
        )
        .optional(),
      ratio: z.number().gt(0).max(1).optional(),
      name: zName.optional(),
    }),
    options,
    'lowerConcurrency options',
  );
  const ratio = o.ratio ?? 0.5;
  return {
    name: o.name ?? 'lower-concurrency',
    run(event) {
      const limiter = o.limiter ?? event.limiter;
      if (limiter === undefined) {
        throw new StateError(
          `[bulwark] [recovery] '${event.dependency}' has no adaptive limiter to lower (give one as options.limiter)`,
        );
      }
      limiter.reduce(ratio);
    },
  };
}

/** Calls `hook` with the event (a page, a chat message, a log line); awaited when it returns a promise. */
export function alert(
  hook: (event: RecoveryEvent) => unknown,
  options: { name?: string } = {},
): RecoveryAction {
  if (typeof hook !== 'function') {
    throw new ValidationError(
      `[bulwark] invalid hook: alert expects a function, got ${hook === null ? 'null' : typeof hook}`,
      {
        path: 'hook',
      },
    );
  }
  const o = parseOptions(zNamed, options, 'alert options');
  return {
    name: o.name ?? 'alert',
    async run(event) {
      await hook(event);
    },
  };
}
