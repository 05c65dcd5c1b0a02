/**
 * The claiming side of a worker: the slots (what counts against concurrency), the prefetch buffer,
 * the claim loop and its wake-ups, and the dependency gates that hold claiming while a breaker is open.
 * Every claim a worker makes is accounted here, whether the loop makes it or it rides on a batch of
 * completions.
 *
 * - A slot is held while a handler runs, and for as long as it runs: a handler that ignores its abort
 *   keeps its slot, so concurrency is never exceeded. The outcome is written in the background
 *   (group commit); outcomes not yet written are bounded, and count until they land.
 * - The buffer holds jobs claimed ahead of a free slot, so a worker whose jobs are short does not wait
 *   a round trip per job. Buffered jobs are leased and heartbeated like running ones; one that waits
 *   longer than `prefetchMaxWaitMs` goes back without using an attempt (so a job of higher priority
 *   added meanwhile is not held up longer than that), and close() hands every buffered job back.
 * - With `prefetch: 'auto'` the buffer holds about PREFETCH_TARGET_MS of work at the handlers' measured
 *   pace: hundreds of no-op jobs, a handful of one-second jobs.
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

/** How much work the automatic prefetch buffer aims to hold. */
const PREFETCH_TARGET_MS = 100;
/** The automatic buffer's ceiling, and the largest single claim. */
export const MAX_PREFETCH = 1000;

export interface ClaimerSettings {
  workerId: string;
  /** The most handlers at once (with an adaptive limit: its ceiling). */
  concurrency: number;
  /** With adaptive concurrency: the limit now, which moves between its min and `concurrency`. */
  limit?: () => number;
  /** Most jobs per claim. */
  batchSize: number;
  /** Jobs held beyond the running ones, or 'auto'. */
  prefetch: number | 'auto';
  /** A buffered job older than this goes back, attempt untouched. */
  prefetchMaxWaitMs: number;
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

/** What the claimer hands claimed jobs to. */
export interface Dispatch {
  /** Runs a claimed job now (a slot is free). */
  start(job: StoredJob): void;
  /** Hands a claimed job back untouched: no attempt used (shutdown, or it waited too long). */
  giveBack(job: StoredJob, why: 'shutdown' | 'prefetch'): void;
}

interface Buffered {
  job: StoredJob;
  claimedAt: number;
}

export class Claimer {
  /** Attempts whose handler runs: what counts against concurrency. */
  readonly held = new Set<Attempt>();
  /** Attempts whose outcome is not in the store yet (they are heartbeated until it is). */
  readonly pending = new Set<Attempt>();
  /** Claimed jobs waiting for a slot, in claim order (priority, then run-at). */
  private buffer: Buffered[] = [];
  /** Slots promised to claims still in flight (the loop's, or one riding on a batch of completions). */
  private claiming = 0;
  private stopping = false;
  private wakeResolve: (() => void) | undefined;
  private wakePending = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeTimerAt: number | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private idleResolvers: (() => void)[] = [];
  private writtenResolvers: (() => void)[] = [];
  /** When claiming stopped for an unavailable dependency (null: not blocked). */
  private blockedSince: number | null = null;
  /**
   * Set when buffered jobs waited out the bound (the handlers are slower than the buffer assumed): no
   * claims ahead until a slot frees, so the same jobs do not cycle between the buffer and the queue.
   */
  private prefetchHeld = false;
  /** Handler durations, smoothed, for the automatic prefetch; undefined before the first. */
  private avgRunMs: number | undefined;
  /** Outcomes allowed to wait for their write before no new job starts (backpressure on a slow store). */
  private readonly maxPending: number;

  constructor(
    private readonly env: WorkerEnv,
    private readonly settings: ClaimerSettings,
    private readonly dispatch: Dispatch,
  ) {
    this.maxPending = Math.max(64, 2 * (settings.concurrency + MAX_PREFETCH));
  }

  /** Jobs claimed and waiting in the buffer. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** The buffered jobs, for heartbeats. */
  bufferedJobs(): StoredJob[] {
    return this.buffer.map((b) => b.job);
  }

  /** A buffered job's lease is gone (cancelled, taken over): drop it. */
  drop(id: string): void {
    this.buffer = this.buffer.filter((b) => b.job.id !== id);
  }

  /**
   * Buffered jobs whose lease ran out by this worker's clock (no heartbeat got through) go back: they
   * must not start, another worker may have them. The give-back is fenced: refused if one has.
   */
  releaseExpired(now: number): void {
    if (this.buffer.length === 0) return;
    const keep: Buffered[] = [];
    for (const b of this.buffer) {
      if (leaseOver(b.job, now)) this.dispatch.giveBack(b.job, 'prefetch');
      else keep.push(b);
    }
    this.buffer = keep;
  }

  /** An attempt starts: it holds a slot until its handler returns and is pending until its outcome lands. */
  hold(attempt: Attempt): void {
    if (!attempt.handlerDone) this.held.add(attempt);
    this.pending.add(attempt);
  }

  /** The attempt's outcome is in the store (or given up on at shutdown). */
  written(attempt: Attempt): void {
    if (attempt.written) return;
    attempt.written = true;
    this.pending.delete(attempt);
    if (this.pending.size === 0) this.writtenResolvers = resolveAll(this.writtenResolvers);
    this.released();
  }

  /** The attempt's handler has returned: its slot is free. */
  handlerDone(attempt: Attempt, runMs: number): void {
    attempt.handlerDone = true;
    this.avgRunMs = this.avgRunMs === undefined ? runMs : this.avgRunMs * 0.9 + runMs * 0.1;
    this.prefetchHeld = false;
    if (this.held.delete(attempt)) this.released();
  }

  private released(): void {
    if (this.held.size === 0 && this.pending.size === 0) this.idleResolvers = resolveAll(this.idleResolvers);
    this.pump();
    this.wake();
  }

  /** Attempts whose outcome is not written yet. */
  unwritten(): number {
    return this.pending.size;
  }

  /** Resolves when no handler runs and every outcome is written (or at once). */
  idle(): Promise<void> {
    if (this.held.size === 0 && this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleResolvers.push(resolve));
  }

  /** Resolves when every outcome is written (handlers that ignore their abort may still run). */
  allWritten(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.writtenResolvers.push(resolve));
  }

  /** True when nothing runs and nothing waits to run: an outcome may be written at once. */
  get quiet(): boolean {
    return this.held.size === 0 && this.buffer.length === 0;
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

  /** Stops claiming and hands every buffered job back; the loop returns at its next turn. */
  stop(): void {
    this.stopping = true;
    this.handBack('shutdown');
    this.wake();
  }

  private handBack(why: 'shutdown' | 'prefetch'): void {
    const back = this.buffer;
    this.buffer = [];
    for (const b of back) this.dispatch.giveBack(b.job, why);
  }

  dispose(): void {
    clearTimeout(this.wakeTimer);
    clearTimeout(this.expiryTimer);
  }

  /**
   * For a batch of completions about to be written: the claim that may ride on the same store
   * operation (null: none). The room it takes stays promised until `delivered`.
   */
  requestFor(): ClaimRequest | null {
    if (this.stopping || this.blockedForMs() > 0) return null;
    const limit = this.claimLimit();
    if (limit <= 0) return null;
    this.claiming += limit;
    return this.request(limit);
  }

  /** The jobs a `requestFor` claim brought (none when its write failed). */
  delivered(request: ClaimRequest, jobs: readonly StoredJob[]): void {
    this.claiming -= request.limit;
    this.take(jobs);
    // The loop may have looked while this room was promised here and gone back to sleep.
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
      const limit = this.claimLimit();
      if (limit <= 0) {
        await this.waitForWake(poll);
        continue;
      }
      const blockedMs = this.blockedForMs();
      if (blockedMs > 0) {
        await this.waitForWake(Math.min(poll, blockedMs));
        continue;
      }
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
      this.take(claimed);
      if (this.stopping) break;
      if (claimed.length === limit) {
        // There may be more; let handlers and I/O run before claiming again.
        await yieldNow();
        continue;
      }
      await this.waitForWake(await this.idleWaitMs(queue.name, poll));
    }
  }

  /** Handlers allowed at once now: the fixed concurrency, or the adaptive limit. */
  private slots(): number {
    const l = this.settings.limit;
    return l === undefined ? this.settings.concurrency : l();
  }

  /**
   * Jobs the declared dependencies with an adaptive limit can take now (Infinity without one): more
   * would only wait in their lines while holding worker slots.
   */
  private dependencyRoom(): number {
    let room = Infinity;
    for (const { gate } of this.settings.gates) {
      const l = gate.limiter;
      if (l !== undefined) room = Math.min(room, l.available);
    }
    return room;
  }

  /** Jobs to claim now: the room left for running plus buffered ones, once it is worth a claim. */
  private claimLimit(): number {
    const s = this.settings;
    const prefetch = this.prefetchHeld ? 0 : this.prefetchSize();
    const room = this.slots() + prefetch - this.held.size - this.buffer.length - this.claiming;
    if (this.pending.size >= this.maxPending) return 0;
    // With a buffer, claim once half of it is used up, not for every job that leaves it.
    const worth = prefetch > 1 ? Math.max(1, Math.floor(prefetch / 2)) : 1;
    return room >= worth ? Math.min(room, s.batchSize) : 0;
  }

  private prefetchSize(): number {
    const p = this.settings.prefetch;
    if (p !== 'auto') return p;
    const c = this.slots();
    if (this.avgRunMs === undefined) return c;
    const perSlot = PREFETCH_TARGET_MS / Math.max(this.avgRunMs, 0.001);
    return Math.min(MAX_PREFETCH, Math.ceil(c * perSlot));
  }

  /** Claimed jobs join the buffer in claim order, and start as slots allow. */
  private take(jobs: readonly StoredJob[]): void {
    if (jobs.length === 0) return;
    if (this.stopping) {
      for (const j of jobs) this.dispatch.giveBack(j, 'shutdown');
      return;
    }
    const claimedAt = this.env.clock.now();
    // A claim whose answer came back after its lease ran out (the link was down meanwhile): those
    // jobs may be another worker's already.
    const fresh = jobs.filter((job) => {
      if (!leaseOver(job, claimedAt)) return true;
      this.dispatch.giveBack(job, 'prefetch');
      return false;
    });
    if (fresh.length === 0) return;
    const added = fresh.map((job) => ({ job, claimedAt }));
    this.buffer = this.buffer.length === 0 ? added : mergeByClaimOrder(this.buffer, added);
    this.pump();
    this.armExpiry();
  }

  /** Starts buffered jobs while slots are free (and outcomes are not piling up unwritten). */
  private pump(): void {
    if (this.buffer.length === 0) return;
    // A dependency whose breaker opened meanwhile: buffered jobs would only meet it, so they go back.
    if (this.settings.gates.length > 0 && this.blockedForMs() > 0) return this.handBack('prefetch');
    const c = this.slots();
    let budget = this.dependencyRoom();
    while (
      !this.stopping &&
      this.buffer.length > 0 &&
      this.held.size < c &&
      budget-- > 0 &&
      this.pending.size < this.maxPending
    ) {
      this.dispatch.start(this.buffer.shift()!.job);
    }
  }

  /** A limit rose or permits freed up: start what now fits. */
  room(): void {
    this.pump();
    this.wake();
  }

  /** Hands back buffered jobs that waited longer than the bound; re-arms while any wait. */
  private armExpiry(): void {
    if (this.expiryTimer !== undefined || this.buffer.length === 0) return;
    const bound = this.settings.prefetchMaxWaitMs;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      const now = this.env.clock.now();
      const keep: Buffered[] = [];
      for (const b of this.buffer) {
        if (now - b.claimedAt >= bound) this.dispatch.giveBack(b.job, 'prefetch');
        else keep.push(b);
      }
      if (keep.length < this.buffer.length) this.prefetchHeld = true;
      this.buffer = keep;
      this.armExpiry();
      this.wake();
    }, bound);
    this.expiryTimer.unref();
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

/** The job's lease has run out by this worker's clock. */
function leaseOver(job: StoredJob, now: number): boolean {
  return job.leaseExpiresAt !== null && job.leaseExpiresAt <= now;
}

function resolveAll(waiting: (() => void)[]): (() => void)[] {
  for (const r of waiting) r();
  return [];
}

/** Claim order: priority descending, then run-at ascending; ties keep the order they came in. */
function mergeByClaimOrder(a: Buffered[], b: Buffered[]): Buffered[] {
  const out: Buffered[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!.job;
    const y = b[j]!.job;
    if (y.priority > x.priority || (y.priority === x.priority && y.runAt < x.runAt)) out.push(b[j++]!);
    else out.push(a[i++]!);
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}
