/**
 * Bulkhead: at most `maxConcurrent` calls run at once; up to `maxQueue` more wait in line (a wait
 * ends early when the call's signal aborts); past that, calls are rejected with
 * BulkheadRejectedError.
 */
import { z } from 'zod';
import { TypedEmitter, type Disposer, type Listener } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import { BulkheadRejectedError } from './errors.js';
import type { CallContext } from './policy.js';
import { Policy, abortReason, next, type Task } from './policy.js';

export interface BulkheadOptions {
  maxConcurrent: number;
  /** Calls allowed to wait for a slot. @default 0 */
  maxQueue?: number;
  /** Named in errors and events. */
  name?: string;
}

export interface BulkheadEvents {
  reject: { active: number; queued: number };
}

const zBulkheadOptions = z.strictObject({
  maxConcurrent: z.number().int().positive(),
  maxQueue: z.number().int().nonnegative().optional(),
  name: z.string().min(1).max(200).optional(),
});

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  cancelled: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class BulkheadPolicy extends Policy {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly name: string | undefined;
  private readonly events = new TypedEmitter<BulkheadEvents>(undefined, { reject: true });
  private running = 0;
  private waiting = 0;
  private line: Waiter[] = [];
  private head = 0;
  private readonly message: string;

  constructor(options: BulkheadOptions) {
    super();
    const o = parseOptions(zBulkheadOptions, options, 'bulkhead');
    this.maxConcurrent = o.maxConcurrent;
    this.maxQueue = o.maxQueue ?? 0;
    this.name = o.name;
    this.message = `[bulwark] [bulkhead] ${o.name === undefined ? 'bulkhead' : `'${o.name}'`} is full`;
  }

  on<K extends keyof BulkheadEvents>(event: K, listener: Listener<BulkheadEvents[K]>): Disposer {
    return this.events.on(event, listener);
  }

  /** Calls running now. */
  get active(): number {
    return this.running;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.waiting;
  }

  /** Free slots plus free places in line. */
  get available(): number {
    return this.maxConcurrent - this.running + this.maxQueue - this.waiting;
  }

  /** @internal */
  step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return this.run(chain, i, fn, ctx);
    }
    if (this.waiting >= this.maxQueue) {
      this.events.emit('reject', { active: this.running, queued: this.waiting });
      throw new BulkheadRejectedError(this.message, this.name === undefined ? {} : { dependency: this.name });
    }
    return this.wait(ctx.cancelSignal()).then(() => this.run(chain, i, fn, ctx));
  }

  private run(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    let r: unknown;
    try {
      r = next(chain, i, fn, ctx);
    } catch (error) {
      this.release();
      throw error;
    }
    if (r instanceof Promise) return r.then(this.releaseValue, this.releaseError);
    this.release();
    return r;
  }

  private readonly releaseValue = (value: unknown): unknown => {
    this.release();
    return value;
  };

  private readonly releaseError = (error: unknown): never => {
    this.release();
    throw error;
  };

  /** Frees a slot, or hands it straight to the next caller in line. */
  private release(): void {
    while (this.head < this.line.length) {
      const w = this.line[this.head]!;
      this.line[this.head++] = undefined as unknown as Waiter;
      if (this.head > 1024 && this.head * 2 > this.line.length) {
        this.line = this.line.slice(this.head);
        this.head = 0;
      }
      if (w.cancelled) continue;
      this.waiting--;
      w.signal?.removeEventListener('abort', w.onAbort!);
      w.resolve();
      return;
    }
    this.running--;
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, cancelled: false, signal, onAbort: undefined };
      if (signal !== undefined) {
        w.onAbort = () => {
          w.cancelled = true;
          this.waiting--;
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiting++;
      this.line.push(w);
    });
  }
}

/** A bulkhead policy. */
export function bulkhead(options: BulkheadOptions | number): BulkheadPolicy {
  return new BulkheadPolicy(typeof options === 'number' ? { maxConcurrent: options } : options);
}
