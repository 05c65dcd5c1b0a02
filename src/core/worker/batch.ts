/**
 * Batches attempt outcomes: everything settled in one turn of the event loop is written with one
 * `complete` and one `fail` call, so a worker at concurrency 50 pays for two store operations per
 * batch instead of fifty. A batch of completions also carries the claim for the slots it frees, when
 * the store can do both in one operation (`completeAndClaim`).
 *
 * A write that fails is retried with backoff (tries at most a second apart), never dropped: the
 * outcome is known and the job is still leased to this worker (heartbeats go on while it waits), so
 * losing it would cost the job an attempt, or dead-letter a job that succeeded on its last one. A retried write may have landed the
 * first time (the connection dropped after the commit): an item the retry finds refused is checked
 * against the store before it is called stale. Only `abandon()` (the end of a shutdown) stops retrying.
 */
import type { Clock } from '../../kernel/clock.js';
import { isStoreClosed } from '../../kernel/errors.js';
import type { CompleteItem, FailItem, Store, StoredJob, StoreMove } from '../../store/types.js';
import type { Claimer } from './claimer.js';

/** Told the outcome of its write: true written, false refused (stale token), undefined given up. */
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

const RETRY_FIRST_MS = 50;
/**
 * The longest wait between two tries. Outcomes that come in meanwhile wait behind the batch being
 * retried, so this bounds how long after the store is back the first completion lands: one more
 * write a second is nothing to a store, and a few seconds of finished work not written is not.
 */
const RETRY_MAX_MS = 1000;

export class SettleBatch {
  private completes: Pending<CompleteItem>[] = [];
  private fails: Pending<FailItem>[] = [];
  private flushing: Promise<void> | undefined;
  private queued = false;
  private abandoned = false;
  /** Wakes writes sleeping before a retry (on abandon). */
  private readonly sleepers = new Set<() => void>();

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

  /** Resolves once every outcome handed in so far is written (or abandoned). */
  async drained(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Stops retrying failed writes: their items are told `undefined` and the reaper recovers the jobs. */
  abandon(): void {
    this.abandoned = true;
    for (const wake of this.sleepers) wake();
  }

  private schedule(): void {
    if (this.flushing) {
      this.queued = true;
      return;
    }
    this.flushing = this.gather().then(() => this.flush());
  }

  /**
   * Waits one turn of the event loop so that outcomes settled together share one write, unless
   * nothing else runs or waits to run: then waiting only adds latency (a worker at concurrency 1).
   */
  private gather(): Promise<void> {
    return this.alone() ? Promise.resolve() : new Promise<void>((resolve) => setImmediate(resolve));
  }

  private async flush(): Promise<void> {
    const { store, queue, clock } = this.env;
    for (let round = 0; ; round++) {
      // Outcomes that came in while the last write ran: gather the rest of this turn's first (a
      // synchronous store returns within microtasks, and would otherwise write a handful at a time).
      if (round > 0) await this.gather();
      this.queued = false;
      const completes = this.completes;
      const fails = this.fails;
      this.completes = [];
      this.fails = [];
      const now = clock.now();
      await Promise.all([
        this.writeCompletes(completes, now),
        this.write(
          fails,
          (items) => store.fail(queue.name, items, clock.now()),
          (i) => expectedAfter(i.store),
        ),
      ]);
      if (!this.queued && this.completes.length === 0 && this.fails.length === 0) break;
    }
    this.flushing = undefined;
  }

  private async writeCompletes(batch: Pending<CompleteItem>[], now: number): Promise<void> {
    const { store, queue, clock } = this.env;
    const plain = (items: CompleteItem[]): Promise<boolean[]> =>
      store.complete(queue.name, items, clock.now());
    const request = batch.length > 0 && store.completeAndClaim ? this.claimer.requestFor() : null;
    if (!request) return this.write(batch, plain, () => 'completed');
    let claimed: StoredJob[] = [];
    let tried = false;
    let delivered = false;
    await this.write(
      batch,
      async (items) => {
        if (tried) return plain(items);
        tried = true;
        try {
          const r = await store.completeAndClaim!(queue.name, items, now, request);
          claimed = r.claimed;
          return r.completed;
        } catch (e) {
          // Free the promised slots now; the completions are retried on their own.
          delivered = true;
          this.claimer.delivered(request, []);
          throw e;
        }
      },
      () => 'completed',
    );
    if (!delivered) this.claimer.delivered(request, claimed);
  }

  /**
   * Writes a batch, retrying with backoff until it lands or the batch is abandoned. `expected` names
   * the state an item's job is in once its write landed: a retry's refusal is checked against it.
   */
  private async write<I extends { id: string; token: number }>(
    batch: Pending<I>[],
    op: (items: I[]) => Promise<boolean[]>,
    expected: (item: I) => string,
  ): Promise<void> {
    if (batch.length === 0) return;
    const items = batch.map((p) => p.item);
    let results: boolean[] | undefined;
    let retried = false;
    for (let n = 0; ; n++) {
      try {
        results = await op(items);
        break;
      } catch (e) {
        this.env.reportError(e, 'settle');
        // A closed store never answers again: its jobs are recovered by another worker's reaper.
        if (this.abandoned || isStoreClosed(e)) break;
        retried = true;
        await this.pause(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** n));
        if (this.abandoned) break;
      }
    }
    if (retried && results) await this.confirm(items, results, expected);
    for (let i = 0; i < batch.length; i++) batch[i]!.settled(results?.[i]);
  }

  /** After a retry, an item refused may be one whose first write had landed: look before calling it stale. */
  private async confirm<I extends { id: string; token: number }>(
    items: I[],
    results: boolean[],
    expected: (item: I) => string,
  ): Promise<void> {
    const { store, queue } = this.env;
    await Promise.all(
      items.map(async (item, i) => {
        if (results[i]) return;
        try {
          const job = await store.getJob(queue.name, item.id);
          results[i] = job !== null && job.fence === item.token && job.state === expected(item);
        } catch (e) {
          this.env.reportError(e, 'settle');
        }
      }),
    );
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      // Not unref'd: an outcome waiting to be written is work in progress, like a running job.
      const t = setTimeout(done, ms);
      const sleepers = this.sleepers;
      function done(): void {
        clearTimeout(t);
        sleepers.delete(done);
        resolve();
      }
      sleepers.add(done);
    });
  }
}

/** The stored state of a job once a failed attempt's move landed. */
function expectedAfter(move: StoreMove): string {
  return move === 'dead' ? 'dead' : 'waiting';
}
