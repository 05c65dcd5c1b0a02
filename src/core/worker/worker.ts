/**
 * A worker runs a handler over a queue's jobs. It is assembled from parts with one job each:
 * - Claimer: the slot count, the claim loop and its wake-ups, the dependency gates;
 * - Runner: one attempt (timeout, job scope, handler, checkpoints under the lease);
 * - Settler: the outcome (the failure table's fate and its follow-up, batched store writes, events);
 * - Upkeep: heartbeats, the reaper and retention.
 * This class wires them together, owns the events and shuts them down in order.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ClosedError, ValidationError, coerceError } from '../../kernel/errors.js';
import { TypedEmitter, type Disposer, type Listener } from '../../kernel/events.js';
import { noopLogger, type Logger } from '../../kernel/logger.js';
import { parseOptions } from '../../kernel/validate.js';
import type { Queue, QueueEvents } from '../queue.js';
import { onLocalReady } from '../wake.js';
import { adaptiveLimiter, type AdaptiveLimiter } from '../../resilience/adaptive-limiter.js';
import { Claimer, MAX_PREFETCH, type WorkerEnv } from './claimer.js';
import {
  DEFAULT_RETENTION,
  dependencyGates,
  zWorkerOptions,
  type CloseResult,
  type FailureInfo,
  type Handler,
  type WorkerEvents,
  type WorkerOptions,
  type WorkerOwnEvents,
} from './options.js';
import { Runner } from './runner.js';
import { ScheduleRunner } from './scheduler.js';
import { FlowSweeper } from './flows.js';
import { Settler } from './settler.js';
import { Upkeep } from './upkeep.js';

/** Events a worker passes through from its queue: the Queue object emits them, once. */
const QUEUE_EVENTS = new Set<PropertyKey>(['job:added', 'queue:paused', 'queue:resumed', 'queue:throttled']);
const isQueueEvent = (e: PropertyKey): e is keyof QueueEvents => QUEUE_EVENTS.has(e);

/**
 * Runs a handler over a queue's jobs: claims in batches, leases with heartbeats and a fencing token
 * per attempt, classifies every failure to decide the job's fate, and shuts down gracefully.
 */
export class Worker<T = unknown, R = unknown> {
  readonly workerId: string;
  readonly queue: Queue<T, R>;
  private readonly options: WorkerOptions;
  private readonly emitter = new TypedEmitter<WorkerOwnEvents>();
  private readonly log: Logger;
  private readonly claimer: Claimer;
  private readonly runner: Runner<T, R>;
  private readonly settler: Settler;
  private readonly upkeep: Upkeep;
  private readonly scheduler: ScheduleRunner | undefined;
  private readonly flows: FlowSweeper;
  private readonly disposers: Disposer[] = [];
  /** The adaptive concurrency limit, with `concurrency: { adaptive }`. */
  readonly limiter: AdaptiveLimiter | undefined;
  private running = false;
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private closing: Promise<CloseResult> | undefined;

  constructor(queue: Queue<T, R>, handler: Handler<T, R>, options: WorkerOptions = {}) {
    const q = queue as Partial<Queue<T, R>> | null;
    if (typeof q !== 'object' || q === null || typeof q.name !== 'string' || typeof q.add !== 'function') {
      throw new ValidationError(
        '[bulwark] a worker needs a Queue (new Worker(new Queue(name, { store }), handler))',
        {
          path: 'queue',
        },
      );
    }
    if (typeof handler !== 'function') {
      throw new ValidationError('[bulwark] a worker needs a handler function', { path: 'handler' });
    }
    const o = (this.options = parseOptions(zWorkerOptions, options, 'worker options'));
    this.queue = queue;
    const c = o.concurrency ?? 1;
    // With an adaptive limit, the limiter decides how many run; its ceiling sizes everything else.
    this.limiter = typeof c === 'number' ? undefined : adaptiveLimiter({ ...c.adaptive, name: queue.name });
    const concurrency = typeof c === 'number' ? c : this.limiter!.max;
    const leaseMs = o.leaseMs ?? 30_000;
    this.workerId = o.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const bindings: Record<string, string> = { queue: queue.name, workerId: this.workerId };
    if (o.stage !== undefined) bindings.stage = o.stage;
    this.log = (o.logger ?? noopLogger).child(bindings);
    const env: WorkerEnv = {
      queue: queue as Queue<unknown, unknown>,
      store: queue.store,
      clock: queue.clock,
      log: this.log,
      emitter: this.emitter,
      reportError: (e, during) => this.reportError(e, during),
    };
    this.claimer = new Claimer(
      env,
      {
        workerId: this.workerId,
        concurrency,
        limit: this.limiter === undefined ? undefined : () => this.limiter!.limit,
        batchSize: o.batchSize ?? MAX_PREFETCH,
        prefetch: o.prefetch ?? 'auto',
        prefetchMaxWaitMs: Math.min(o.prefetchMaxWaitMs ?? 2000, Math.floor(leaseMs / 2)),
        leaseMs,
        pollMs: o.pollIntervalMs ?? 1000,
        gates: dependencyGates(o),
      },
      {
        start: (job) => this.runner.start(job),
        giveBack: (job) => this.settler.giveBackUnstarted(job),
      },
    );
    this.settler = new Settler(
      env,
      this.claimer,
      o,
      () => this.claimer.quiet,
      (reason) => {
        this.close({ reason }).catch((e: unknown) => this.reportError(e, 'close'));
      },
    );
    this.runner = new Runner(env, handler, this.claimer, this.settler, {
      registry: o.registry,
      stage: o.stage,
      zombieAfterMs: o.zombieAfterMs ?? 5000,
      limiter: this.limiter,
    });
    this.upkeep = new Upkeep(env, this.claimer, (a) => this.runner.loseLease(a), {
      leaseMs,
      heartbeatMs: o.heartbeatMs ?? Math.floor(leaseMs / 3),
      reapIntervalMs: o.reapIntervalMs ?? Math.floor(leaseMs / 2),
      cleanupIntervalMs: o.cleanupIntervalMs ?? 60_000,
      retention: o.retention === undefined ? DEFAULT_RETENTION : o.retention,
    });
    if (o.schedules !== false) this.scheduler = new ScheduleRunner(env, o.pollIntervalMs ?? 1000);
    this.flows = new FlowSweeper(env, o.pollIntervalMs ?? 1000);
    if (o.autostart !== false) this.start();
  }

  /** Subscribes to a worker event, or to its queue's `queue:*` / `job:added` events. */
  on<K extends keyof WorkerEvents>(event: K, listener: Listener<WorkerEvents[K]>): Disposer {
    if (isQueueEvent(event)) return this.queue.on(event, listener as Listener<QueueEvents[typeof event]>);
    const own = event as keyof WorkerOwnEvents;
    return this.emitter.on(own, listener as Listener<WorkerOwnEvents[typeof own]>);
  }

  /** Resolves with the next event of this kind. */
  next<K extends keyof WorkerEvents>(event: K): Promise<WorkerEvents[K]> {
    return new Promise((resolve) => {
      const off = this.on(event, (e) => {
        off();
        resolve(e);
      });
    });
  }

  get isRunning(): boolean {
    return this.running && !this.stopping;
  }

  /** Slots taken: handlers running now (one that ignores its abort keeps its slot until it returns). */
  get busy(): number {
    return this.claimer.held.size;
  }

  /** Jobs claimed ahead and waiting in the local buffer for a slot. */
  get buffered(): number {
    return this.claimer.buffered;
  }

  start(): void {
    if (this.closing) throw new ClosedError('[bulwark] the worker is closed');
    if (this.running) return;
    this.running = true;
    const { store, name } = this.queue;
    const wake = (): void => this.claimer.wake();
    this.disposers.push(onLocalReady(store, name, wake));
    if (store.capabilities.notify && store.subscribe) this.disposers.push(store.subscribe(name, wake));
    // A limit that rises, or a dependency's permits freeing up, makes room for more jobs.
    const room = (): void => this.claimer.room();
    if (this.limiter) this.disposers.push(this.limiter.on('available', room));
    for (const { gate } of dependencyGates(this.options)) {
      if (gate.limiter) this.disposers.push(gate.limiter.on('available', room));
    }
    this.upkeep.start();
    this.scheduler?.start();
    this.flows.start();
    this.loopDone = this.claimer.run();
  }

  private reportError(e: unknown, during: string): void {
    const error = coerceError(e);
    this.log.error({ err: error, during }, 'worker error');
    // Loud by default: with no logger and no listener, an unreachable store would fail in silence.
    if (this.options.logger === undefined && !this.emitter.has('worker:error')) this.unheard(error, during);
    this.emitter.emit('worker:error', { error, during });
  }

  private unheardAt = 0;
  private unheardSkipped = 0;

  /** One stderr line per 10 s at most, saying how many more were held back. */
  private unheard(error: Error, during: string): void {
    const now = Date.now();
    if (now - this.unheardAt < 10_000) {
      this.unheardSkipped++;
      return;
    }
    const skipped = this.unheardSkipped ? ` (${this.unheardSkipped} more since the last report)` : '';
    this.unheardAt = now;
    this.unheardSkipped = 0;
    const message = error.message.replace(/^\[bulwark\]\s*/, '');
    console.error(
      `[bulwark] worker ${this.workerId} of queue ${this.queue.name}: ${during} failed: ${message}${skipped} ` +
        `(listen for 'worker:error' or give a logger to handle these)`,
    );
  }

  /** Resolves when no job holds a slot (or at once when none does). */
  idle(): Promise<void> {
    return this.claimer.idle();
  }

  /**
   * Stops claiming, lets running jobs finish for up to `graceMs`, then aborts the rest (they go back
   * to the queue with their attempt given back), writes every outcome (retrying a failing store for
   * up to `settleTimeoutMs`) and releases all resources. Resolves with what it left behind: handlers
   * that ignore their abort (zombies) and outcomes it could not write. Idempotent.
   */
  close(options: { graceMs?: number; reason?: string } = {}): Promise<CloseResult> {
    if (!this.closing) {
      const graceMs = options.graceMs ?? this.options.shutdownGraceMs ?? 10_000;
      if (!Number.isInteger(graceMs) || graceMs < 0) {
        return Promise.reject(
          new ValidationError('[bulwark] close: graceMs must be a non-negative integer', { path: 'graceMs' }),
        );
      }
      this.closing = this.shutdown(graceMs, options.reason ?? 'close');
    }
    return this.closing;
  }

  private async shutdown(graceMs: number, reason: string): Promise<CloseResult> {
    this.stopping = true;
    this.emitter.emit('worker:stopping', { reason });
    this.claimer.stop();
    // A claim stuck on an unreachable store is not waited for past the grace period: jobs it brings
    // later go straight back.
    const graceOver = delay(graceMs);
    await Promise.race([
      Promise.all([this.loopDone, this.scheduler?.stop(), this.flows.stop()]),
      graceOver.done,
    ]);
    if (this.claimer.held.size > 0) await Promise.race([this.claimer.allWritten(), graceOver.done]);
    graceOver.cancel();
    this.runner.abortAll('shutdown', new ClosedError('[bulwark] the worker shut down'));
    const settleOver = delay(this.options.settleTimeoutMs ?? 3000);
    await Promise.race([this.claimer.allWritten().then(() => this.settler.drained()), settleOver.done]);
    settleOver.cancel();
    const unwritten = this.claimer.unwritten();
    if (unwritten > 0) {
      this.settler.abandon();
      this.log.error({ unwritten }, 'outcomes not written: those jobs are recovered after their lease');
    }
    const result: CloseResult = { zombies: this.runner.zombies, unwritten };
    if (result.zombies > 0) {
      this.log.warn(
        { zombies: result.zombies },
        'closed with handlers still running (they ignore their abort)',
      );
    }
    this.upkeep.stop();
    this.claimer.dispose();
    for (const d of this.disposers) d();
    this.running = false;
    this.emitter.emit('worker:closed', { workerId: this.workerId, ...result });
    return result;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * A timer that keeps the process alive while it runs: a shutdown in progress must reach its end
 * (abort the handlers, give their jobs back) even when nothing else is left on the event loop.
 */
function delay(ms: number): { done: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { done, cancel: () => clearTimeout(timer) };
}

export {
  DEFAULT_RETENTION,
  type CloseResult,
  type FailureInfo,
  type Handler,
  type WorkerEvents,
  type WorkerOptions,
};
