/**
 * What in-process workers tell the dashboard between two ticks: job state changes (coalesced per
 * job, bounded per tick), durations for the charts, and dependency blocks ("blocked by which
 * breaker"). Changes made by workers in other processes reach the dashboard through the store's
 * counts at the next tick instead.
 */
import type { Disposer } from '../kernel/events.js';
import type { Job } from '../core/job.js';
import type { JobState } from '../store/types.js';
import type { WorkerEvents } from '../core/worker/options.js';

/** The part of a Worker the dashboard listens to. */
export interface WatchedWorker {
  readonly queue: { readonly name: string };
  on<K extends keyof WorkerEvents>(event: K, listener: (e: WorkerEvents[K]) => void): Disposer;
}

/** One job's latest change, as sent in a `job` event. */
export interface JobChange {
  queue: string;
  id: string;
  state: JobState | 'retrying' | 'snoozed';
  attempts: number;
  at: number;
  /** For failures: the error's category and message. */
  category?: string;
  message?: string;
}

export interface Block {
  dependency: string;
  /** Epoch ms when the dependency may take calls again. */
  until: number;
}

/** Most job changes kept per tick; beyond it, the queue is flagged as "many changed". */
const MAX_CHANGES = 200;

export class LiveSource {
  private changes = new Map<string, JobChange>();
  private overflow = new Set<string>();
  private readonly blocks = new Map<string, Block>();
  private readonly offs: Disposer[] = [];

  constructor(
    workers: readonly WatchedWorker[],
    private readonly onDuration: (queue: string, ms: number) => void,
    private readonly now: () => number = Date.now,
  ) {
    for (const w of workers) this.follow(w);
  }

  private follow(w: WatchedWorker): void {
    const queue = w.queue.name;
    const change = (job: Job, state: JobChange['state'], extra: Partial<JobChange> = {}): void =>
      this.record({ queue, id: job.id, state, attempts: job.attempts, at: this.now(), ...extra });
    this.offs.push(
      w.on('job:active', (e) => change(e.job, 'active')),
      w.on('job:completed', (e) => {
        this.onDuration(queue, e.durationMs);
        change(e.job, 'completed');
      }),
      w.on('job:retrying', (e) =>
        change(e.job, 'retrying', { category: e.category, message: e.error.message }),
      ),
      w.on('job:snoozed', (e) =>
        change(e.job, 'snoozed', { category: e.category, message: e.error.message }),
      ),
      w.on('job:dead', (e) => change(e.job, 'dead', { category: e.category, message: e.reason })),
      w.on('job:progress', (e) => change(e.job, 'active')),
      w.on('worker:blocked', (e) => {
        this.blocks.set(queue, { dependency: e.dependency, until: this.now() + e.forMs });
      }),
      w.on('worker:unblocked', () => {
        this.blocks.delete(queue);
      }),
    );
  }

  /** A change made here (a replay or cancel from the dashboard) or by a worker. */
  record(c: JobChange): void {
    const key = `${c.queue}\n${c.id}`;
    if (this.changes.size >= MAX_CHANGES && !this.changes.has(key)) {
      this.overflow.add(c.queue);
      return;
    }
    this.changes.set(key, c);
  }

  /** The changes since the last call, and the queues that had more than could be kept. */
  drain(): { changes: JobChange[]; many: string[] } {
    const out = { changes: [...this.changes.values()], many: [...this.overflow] };
    this.changes = new Map();
    this.overflow = new Set();
    return out;
  }

  /** The breaker a queue's in-process worker waits on, if any (expired blocks are dropped). */
  blockOf(queue: string): Block | undefined {
    const b = this.blocks.get(queue);
    if (b && b.until < this.now() - 1000) {
      this.blocks.delete(queue);
      return undefined;
    }
    return b;
  }

  close(): void {
    for (const off of this.offs.splice(0)) off();
  }
}
