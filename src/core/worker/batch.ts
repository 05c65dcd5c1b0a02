/**
 * Batches attempt outcomes: everything settled in one turn of the event loop is written with one
 * `complete` and one `fail` call, so a worker at concurrency 50 pays for two store operations per
 * batch instead of fifty. A batch of completions also carries the claim for the slots it frees, when
 * the store can do both in one operation (`completeAndClaim`).
 */
import type { Clock } from '../../kernel/clock.js';
import type { CompleteItem, FailItem, Store, StoredJob } from '../../store/types.js';
import type { Claimer } from './claimer.js';

/** Told the outcome of its write: true written, false refused (stale token), undefined store error. */
export type Settled = (ok: boolean | undefined) => void;

interface Pending<I> {
  item: I;
  settled: Settled;
}

export interface BatchEnv {
  readonly store: Store;
  readonly queue: { readonly name: string };
  readonly clock: Clock;
  reportError(error: unknown, during: string): void;
}

export class SettleBatch {
  private completes: Pending<CompleteItem>[] = [];
  private fails: Pending<FailItem>[] = [];
  private flushing: Promise<void> | undefined;
  private queued = false;

  constructor(
    private readonly env: BatchEnv,
    private readonly claimer: Claimer,
    /** True when no other outcome can join this batch soon (nothing else is running): write at once. */
    private readonly alone: () => boolean,
  ) {}

  complete(item: CompleteItem, settled: Settled): void {
    this.completes.push({ item, settled });
    this.schedule();
  }

  fail(item: FailItem, settled: Settled): void {
    this.fails.push({ item, settled });
    this.schedule();
  }

  /** Resolves once every outcome handed in so far is written. */
  async drained(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private schedule(): void {
    if (this.flushing) {
      this.queued = true;
      return;
    }
    // Wait one turn of the event loop so that outcomes settled together share one write, unless
    // nothing else is running: then waiting only adds latency (a worker at concurrency 1).
    this.flushing = (
      this.alone() ? Promise.resolve() : new Promise<void>((resolve) => setImmediate(resolve))
    ).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    const { store, queue, clock } = this.env;
    do {
      this.queued = false;
      const completes = this.completes;
      const fails = this.fails;
      this.completes = [];
      this.fails = [];
      const now = clock.now();
      await Promise.all([
        this.writeCompletes(completes, now),
        this.write(fails, (items) => store.fail(queue.name, items, now)),
      ]);
    } while (this.queued || this.completes.length > 0 || this.fails.length > 0);
    this.flushing = undefined;
  }

  private async writeCompletes(batch: Pending<CompleteItem>[], now: number): Promise<void> {
    const { store, queue } = this.env;
    const request = batch.length > 0 && store.completeAndClaim ? this.claimer.requestFor(batch.length) : null;
    if (!request) return this.write(batch, (items) => store.complete(queue.name, items, now));
    let claimed: StoredJob[] = [];
    await this.write(batch, async (items) => {
      const r = await store.completeAndClaim!(queue.name, items, now, request);
      claimed = r.claimed;
      return r.completed;
    });
    this.claimer.delivered(request, claimed);
  }

  private async write<I>(batch: Pending<I>[], op: (items: I[]) => Promise<boolean[]>): Promise<void> {
    if (batch.length === 0) return;
    let results: boolean[] | undefined;
    try {
      results = await op(batch.map((p) => p.item));
    } catch (e) {
      // The jobs stay active in the store; their leases expire and the reaper hands them out again.
      this.env.reportError(e, 'settle');
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.settled(results?.[i]);
  }
}
