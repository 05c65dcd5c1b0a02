/**
 * The claiming side of a worker: the slot count (what counts against concurrency), the claim loop
 * and its wake-ups, and the dependency gates that hold claiming while a breaker is open. Every claim
 * a worker makes is accounted here, whether the loop makes it or it rides on a batch of completions.
 */
import { setImmediate as yieldNow } from 'node:timers/promises';
import type { Clock } from '../../kernel/clock.js';
import type { TypedEmitter } from '../../kernel/events.js';
import type { Logger } from '../../kernel/logger.js';
import type { ClaimRequest, Store, StoredJob } from '../../store/types.js';
import type { Queue } from '../queue.js';
import { ensureInit } from '../wake.js';
import type { Attempt } from './attempt.js';
import type { DependencyGate } from './context.js';
import type { WorkerOwnEvents } from './options.js';

export interface ClaimerSettings {
  workerId: string;
  concurrency: number;
  batchSize: number;
  leaseMs: number;
  pollMs: number;
  gates: readonly { name: string; gate: DependencyGate }[];
}

export interface WorkerEnv {
  readonly queue: Queue<unknown, unknown>;
  readonly store: Store;
  readonly clock: Clock;
  readonly log: Logger;
  readonly emitter: TypedEmitter<WorkerOwnEvents>;
  reportError(error: unknown, during: string): void;
}

export class Claimer {
  /**
   * Attempts holding a slot: from the claim until both the outcome is written and the handler has
   * settled. A handler that ignores its abort keeps its slot, so concurrency is never exceeded.
   */
  readonly held = new Set<Attempt>();
  /** Slots promised to claims still in flight (the loop's, or one riding on a batch of completions). */
  private claiming = 0;
  private stopping = false;
  private wakeResolve: (() => void) | undefined;
  private wakePending = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeTimerAt: number | undefined;
  private idleResolvers: (() => void)[] = [];
  private writtenResolvers: (() => void)[] = [];
  /** When claiming stopped for an unavailable dependency (null: not blocked). */
  private blockedSince: number | null = null;

  constructor(
    private readonly env: WorkerEnv,
    private readonly settings: ClaimerSettings,
    /** Gets every claimed job, from the loop and from completions alike. */
    private readonly deliver: (jobs: readonly StoredJob[]) => void,
  ) {}

  /** Held attempts whose outcome is not written yet. */
  private unwrittenCount = 0;

  /** A claimed job's attempt now counts against concurrency, until its outcome is written and its handler done. */
  hold(attempt: Attempt): void {
    this.held.add(attempt);
    this.unwrittenCount++;
  }

  /** The attempt's outcome is in the store (or given up on at shutdown). */
  written(attempt: Attempt): void {
    if (attempt.written) return;
    attempt.written = true;
    if (--this.unwrittenCount === 0) this.writtenResolvers = resolveAll(this.writtenResolvers);
    this.release(attempt);
  }

  /** The attempt's handler has settled. */
  handlerDone(attempt: Attempt): void {
    attempt.handlerDone = true;
    this.release(attempt);
  }

  private release(attempt: Attempt): void {
    if (!attempt.written || !attempt.handlerDone || !this.held.delete(attempt)) return;
    if (this.held.size === 0) this.idleResolvers = resolveAll(this.idleResolvers);
    this.wake();
  }

  /** Held attempts whose outcome is not written yet. */
  unwritten(): number {
    return this.unwrittenCount;
  }

  /** Resolves when no attempt holds a slot (or at once when none does). */
  idle(): Promise<void> {
    if (this.held.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleResolvers.push(resolve));
  }

  /** Resolves when every held attempt's outcome is written (handlers may still run). */
  allWritten(): Promise<void> {
    if (this.unwrittenCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.writtenResolvers.push(resolve));
  }

  wake(): void {
    const r = this.wakeResolve;
    if (r) {
      this.wakeResolve = undefined;
      r();
    } else {
      this.wakePending = true;
    }
  }

  /** Wakes the loop at `at` (a job this worker put back runs then), unless it wakes earlier anyway. */
  wakeAt(at: number): void {
    const ms = at - this.env.clock.now();
    if (ms <= 0) return this.wake();
    if (this.wakeTimerAt !== undefined && this.wakeTimerAt <= at) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimerAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimerAt = undefined;
      this.wake();
    }, ms);
    this.wakeTimer.unref();
  }

  /** Stops claiming; the loop returns at its next turn. */
  stop(): void {
    this.stopping = true;
    this.wake();
  }

  dispose(): void {
    clearTimeout(this.wakeTimer);
  }

  /**
   * For a batch of `freed` completions about to be written: the claim that may ride on the same
   * store operation (null: none). The slots it takes stay promised until `delivered`.
   */
  requestFor(freed: number): ClaimRequest | null {
    if (this.stopping || this.blockedForMs() > 0) return null;
    const s = this.settings;
    const limit = Math.min(s.batchSize, s.concurrency - this.held.size - this.claiming + freed);
    if (limit <= 0) return null;
    this.claiming += limit;
    return this.request(limit);
  }

  /** The jobs a `requestFor` claim brought (none when its write failed). */
  delivered(request: ClaimRequest, jobs: readonly StoredJob[]): void {
    this.claiming -= request.limit;
    this.deliver(jobs);
    // The loop may have looked while these slots were promised here and gone back to sleep.
    this.wake();
  }

  /** The claim loop: runs until `stop()`. */
  async run(): Promise<void> {
    const { store, queue } = this.env;
    const poll = this.settings.pollMs;
    let errors = 0;
    let initialized = false;
    try {
      await ensureInit(store);
      initialized = true;
    } catch (e) {
      this.env.reportError(e, 'init');
    }
    while (!this.stopping) {
      const free = this.settings.concurrency - this.held.size - this.claiming;
      if (free <= 0) {
        await this.waitForWake(poll);
        continue;
      }
      const blockedMs = this.blockedForMs();
      if (blockedMs > 0) {
        await this.waitForWake(Math.min(poll, blockedMs));
        continue;
      }
      const limit = Math.min(free, this.settings.batchSize);
      let claimed: StoredJob[];
      this.wakePending = false;
      this.claiming += limit;
      try {
        // A store that was down at start is set up on the first claim that reaches it.
        if (!initialized) {
          await ensureInit(store);
          initialized = true;
        }
        claimed = await store.claim(this.request(limit));
        errors = 0;
      } catch (e) {
        this.env.reportError(e, 'claim');
        errors++;
        await this.waitForWake(Math.min(poll, 50 * 2 ** Math.min(errors, 10)));
        continue;
      } finally {
        this.claiming -= limit;
      }
      this.deliver(claimed);
      if (this.stopping) break;
      if (claimed.length === limit) {
        // There may be more; let handlers and I/O run before claiming again.
        await yieldNow();
        continue;
      }
      await this.waitForWake(await this.idleWaitMs(queue.name, poll));
    }
  }

  private waitForWake(ms: number): Promise<void> {
    if (this.wakePending || this.stopping) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // Not unref'd: a running worker keeps its process alive, like a server does, until close().
      const t = setTimeout(() => {
        this.wakeResolve = undefined;
        resolve();
      }, ms);
      this.wakeResolve = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private request(limit: number): ClaimRequest {
    const { queue, clock } = this.env;
    return {
      queue: queue.name,
      workerId: this.settings.workerId,
      limit,
      leaseMs: this.settings.leaseMs,
      now: clock.now(),
      rateLimit: queue.rateLimit,
      ...(queue.groupLimits ? { groups: queue.groupLimits } : {}),
    };
  }

  /** How long an idle worker may sleep: until the next delayed job or throttle window ends, at most `poll`. */
  private async idleWaitMs(queue: string, poll: number): Promise<number> {
    const { store, clock } = this.env;
    try {
      const now = clock.now();
      const next = await store.nextRunAt(queue);
      if (next === null) return poll;
      if (next > now) return Math.max(1, Math.min(poll, next - now));
      const status = await store.status(queue);
      if (status.throttledUntil > now) return Math.max(1, Math.min(poll, status.throttledUntil - now));
      return poll;
    } catch (e) {
      this.env.reportError(e, 'idle');
      return poll;
    }
  }

  /**
   * How long a declared dependency still refuses calls (0: all take calls). Emits `worker:blocked` when
   * claiming stops and `worker:unblocked` when it resumes.
   */
  private blockedForMs(): number {
    const gates = this.settings.gates;
    if (gates.length === 0) return 0;
    let ms = 0;
    let culprit = '';
    for (const { name, gate } of gates) {
      const wait = gate.availableInMs();
      if (wait > ms) {
        ms = wait;
        culprit = name;
      }
    }
    const { clock, log, emitter } = this.env;
    const now = clock.now();
    if (ms > 0 && this.blockedSince === null) {
      this.blockedSince = now;
      log.warn({ dependency: culprit, forMs: ms }, 'dependency unavailable: claiming stopped');
      emitter.emit('worker:blocked', { dependency: culprit, forMs: ms });
    } else if (ms === 0 && this.blockedSince !== null) {
      const blockedMs = now - this.blockedSince;
      this.blockedSince = null;
      log.info({ blockedMs }, 'dependencies available: claiming resumed');
      emitter.emit('worker:unblocked', { blockedMs });
    }
    return ms;
  }
}

function resolveAll(waiting: (() => void)[]): (() => void)[] {
  for (const r of waiting) r();
  return [];
}
