/** What a handler receives: `JobContext`, and the dependency lookups behind `ctx.dependency()`. */
import { StateError } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/logger.js';
import type { Dependency } from '../../resilience/registry.js';
import type { Job } from '../job.js';
import type { Attempt } from './attempt.js';
import { ProgressWriter } from './progress.js';
import { spawnChildren, type SpawnOptions, type Spawned } from './spawn.js';
import type { BulkItem, Queue } from '../queue.js';

/** What a worker needs of a dependency: ms until it may take calls again (0: now). */
export interface DependencyGate {
  availableInMs(): number;
  /**
   * The dependency's adaptive concurrency limit, if it has one: the worker starts no more jobs than
   * it has permits free, and starts more when it says so.
   */
  readonly limiter?: {
    readonly available: number;
    on(event: 'available', listener: () => void): () => void;
  };
}

/** Where a worker finds dependencies by name; a resilience `Registry` is one. */
export interface DependencySource<D extends DependencyGate = DependencyGate> {
  get(name: string): D;
}

/** What a handler receives. */
export interface JobContext<T = unknown> {
  readonly job: Job<T>;
  readonly payload: T;
  /** The 1-based number of this attempt. */
  readonly attempt: number;
  readonly correlationId: string;
  /** Aborts on timeout, lost lease (e.g. the job was cancelled) and shutdown after the grace period. */
  readonly signal: AbortSignal;
  /** The checkpoint the last attempt saved, or null. */
  readonly lastCheckpoint: unknown;
  /** Saves progress under the lease, so that a retry resumes from here. Throws LeaseLostError if the lease is gone. */
  checkpoint(data: unknown): Promise<void>;
  /**
   * Reports progress: a number or a small JSON value (at most 64 KiB), saved under the lease like a
   * checkpoint (refused with LeaseLostError once the lease is lost), emitted as `job:progress` and shown
   * by `getJob`. Calls made while a write is in flight are merged: the newest value is written next.
   */
  progress(value: unknown): Promise<void>;
  /** A logger bound to the job id, queue, attempt and correlation id. */
  readonly log: Logger;
  /**
   * The named dependency from the worker's registry, to call through its policies:
   * `await ctx.dependency('openai').execute(({ signal }) => …)`. Throws NotFoundError for an unknown
   * name and StateError when the worker has no registry.
   */
  dependency<D = Dependency>(name: string): D;
  /**
   * Fans out: adds `children` to this queue (ids default to `<job id>:<index>`, so a retry adds the same
   * children again, not new ones). By default this job completes only when every child has (its result
   * kept until then); with `join`, a separate join job that depends on the children is added instead.
   */
  spawn<C = unknown>(children: readonly BulkItem<C>[], options?: SpawnOptions): Promise<Spawned>;
  /** The jobs this job depends on (`dependsOn`, or the children it waited for), with their results. */
  dependencies(): Promise<Job[]>;
}

/** A checkpoint and/or progress to save under the attempt's lease. */
export type SavePatch = { checkpoint?: unknown; progress?: unknown };

/** @internal The context object; getters keep the signal and the child logger lazy. */
export class Context<T> implements JobContext<T> {
  private childLog: Logger | undefined;
  private progressWriter: ProgressWriter | undefined;
  constructor(
    private readonly current: Attempt,
    private readonly baseLog: Logger,
    private readonly save: (attempt: Attempt, patch: SavePatch) => Promise<void>,
    private readonly registry: DependencySource | undefined,
    private readonly queue?: Queue<unknown, unknown>,
  ) {}
  spawn<C = unknown>(children: readonly BulkItem<C>[], options: SpawnOptions = {}): Promise<Spawned> {
    return spawnChildren(
      this.queueOf('spawn'),
      this.current,
      children as readonly BulkItem<unknown>[],
      options,
    );
  }
  async dependencies(): Promise<Job[]> {
    return this.queueOf('dependencies').dependencies(this.current.job.id);
  }
  private queueOf(what: string): Queue<unknown, unknown> {
    if (!this.queue) throw new StateError(`[bulwark] ctx.${what}() needs the worker's queue`);
    return this.queue;
  }
  dependency<D = Dependency>(name: string): D {
    if (!this.registry) {
      throw new StateError(`[bulwark] ctx.dependency('${name}'): this worker has no registry option`);
    }
    return this.registry.get(name) as D;
  }
  get job(): Job<T> {
    return this.current.job as Job<T>;
  }
  get payload(): T {
    return this.current.job.payload as T;
  }
  get attempt(): number {
    return this.current.job.attempts;
  }
  get correlationId(): string {
    return this.current.job.correlationId;
  }
  get signal(): AbortSignal {
    return this.current.signal;
  }
  get lastCheckpoint(): unknown {
    return this.current.job.checkpoint;
  }
  get log(): Logger {
    const j = this.current.job;
    // The worker's logger already binds the queue (and the stage).
    return (this.childLog ??= this.baseLog.child({
      jobId: j.id,
      attempt: j.attempts,
      correlationId: j.correlationId,
    }));
  }
  checkpoint(data: unknown): Promise<void> {
    return this.save(this.current, { checkpoint: data });
  }
  progress(value: unknown): Promise<void> {
    this.progressWriter ??= new ProgressWriter((v) => this.save(this.current, { progress: v }));
    return this.progressWriter.write(value);
  }
}
