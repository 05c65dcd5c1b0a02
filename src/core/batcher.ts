/**
 * Micro-batching for a pipeline stage: items from concurrent job handlers are collected into one call
 * of a batch handler (up to `size`, or whatever arrived within `waitMs` of the first), which returns
 * one output per item. Each item stays its own job: an item whose attempt is aborted while it waits
 * (timeout, lost lease, shutdown) leaves the batch at once and never reaches the handler, and the
 * handler can fail single items (`ctx.fail(i, error)`) without failing the others.
 */
import { ValidationError } from '../kernel/errors.js';
import type { JobContext } from './worker/context.js';

/** What a batch handler receives besides the items. */
export interface BatchContext<T> {
  /** Each item's own job context, in the order of the items. */
  readonly jobs: readonly JobContext<T>[];
  /** Aborts when any job of the batch is aborted (timeout, lost lease, shutdown). */
  readonly signal: AbortSignal;
  /**
   * Fails item `index` with `error` (classified like any job failure: retried, dead-lettered, …)
   * while the other items keep their outputs; that item's output is ignored.
   */
  fail(index: number, error: unknown): void;
}

/** Returns one output per item, in order. Throwing fails every item of the batch. */
export type BatchHandler<In, Out> = (
  items: readonly In[],
  ctx: BatchContext<In>,
) => Promise<readonly Out[]> | readonly Out[];

interface Waiting {
  ctx: JobContext<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Leaves the queue when the attempt aborts before its batch starts. */
  onAbort: () => void;
}

export class Batcher {
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly batch: { size: number; waitMs: number },
    private readonly handler: BatchHandler<unknown, unknown>,
  ) {}

  push(ctx: JobContext<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const signal = ctx.signal;
      if (signal.aborted) return reject(signal.reason);
      const w: Waiting = {
        ctx,
        resolve,
        reject,
        onAbort: () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.waiting.push(w);
      if (this.waiting.length >= this.batch.size) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.batch.waitMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const taken = this.waiting.splice(0, this.batch.size);
    if (this.waiting.length > 0) this.timer = setTimeout(() => this.flush(), this.batch.waitMs);
    for (const w of taken) w.ctx.signal.removeEventListener('abort', w.onAbort);
    if (taken.length === 0) return;
    void this.run(taken);
  }

  private async run(taken: Waiting[]): Promise<void> {
    const jobs = taken.map((w) => w.ctx);
    const failed = new Map<number, unknown>();
    try {
      const ctx: BatchContext<unknown> = {
        jobs,
        get signal() {
          return AbortSignal.any(jobs.map((j) => j.signal));
        },
        fail(index, error) {
          if (!Number.isInteger(index) || index < 0 || index >= taken.length) {
            throw new ValidationError(`[bulwark] ctx.fail: no item ${index} in a batch of ${taken.length}`, {
              path: 'index',
            });
          }
          failed.set(index, error);
        },
      };
      const out = await this.handler(
        jobs.map((j) => j.payload),
        ctx,
      );
      if (!Array.isArray(out) || out.length !== taken.length) {
        throw new ValidationError(
          `[bulwark] a batch handler must return one output per item (${taken.length}), got ${
            Array.isArray(out) ? out.length : typeof out
          }`,
        );
      }
      taken.forEach((w, i) => (failed.has(i) ? w.reject(failed.get(i)) : w.resolve(out[i])));
    } catch (e) {
      for (const w of taken) w.reject(e);
    }
  }
}
