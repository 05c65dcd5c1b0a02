/**
 * Multi-stage pipelines: a job moves through named stages (uploaded → parsed → chunked → embedded),
 * each stage a queue of its own (`<pipeline>.<stage>`) with its own handler, concurrency, failure
 * table, rate limit, dependencies and optional micro-batching.
 *
 * A stage hands its output to the next stage by adding a job with the same id to the next stage's
 * queue *before* its own job completes. Adding is idempotent, so a crash between the two only
 * repeats the stage's work (at-least-once), never loses or duplicates the job downstream. The
 * correlation id follows the job through every stage.
 */
import { z } from 'zod';
import type { Clock } from '../kernel/clock.js';
import { ClosedError, StateError, ValidationError } from '../kernel/errors.js';
import type { Job } from './job.js';
import { Batcher, type BatchHandler } from './batcher.js';
import { Queue, type AddOptions, type BulkItem, type JobDefaults } from './queue.js';
import { parseOptions, readOptions, zPositiveInt, zQueueName } from '../kernel/validate.js';
import { Worker } from './worker/worker.js';
import { dependencyGates, zWorkerOptions, type Handler, type WorkerOptions } from './worker/options.js';
import type { AddContext, JobState, Store } from '../store/types.js';

export interface PipelineOptions {
  store: Store;
  clock?: Clock;
  /** Job defaults for every stage (a stage's own `defaults` win). */
  defaults?: JobDefaults;
}

/** Collect up to `size` items, or whatever arrived within `waitMs` of the first, into one handler call. */
export interface BatchOptions {
  size: number;
  waitMs: number;
}

export interface StageOptions extends Omit<WorkerOptions, 'autostart' | 'stage'> {
  /** Job defaults for this stage's queue (max attempts, backoff, timeout). */
  defaults?: JobDefaults;
  /** At most `max` jobs of this stage start per `intervalMs`, across every worker. */
  rateLimit?: { max: number; intervalMs: number };
  /** Largest output this stage may hand on, in bytes. */
  maxPayloadBytes?: number;
}

export interface BatchStageOptions extends StageOptions {
  batch: BatchOptions;
}

export type { BatchContext, BatchHandler } from './batcher.js';

interface Stage {
  name: string;
  queue: Queue<unknown>;
  handler: Handler<unknown, unknown>;
  options: WorkerOptions;
}

export interface PipelineJobStatus {
  /** The furthest stage the job has reached. */
  stage: string;
  state: JobState;
  /** The last stage's result, once the job completed there. */
  result?: unknown;
}

const zPipelineOptions = z
  .object({
    store: z.custom<Store>((s) => typeof (s as Store)?.claim === 'function', 'expected a bulwark Store'),
    clock: z.custom<Clock>((c) => typeof (c as Clock)?.now === 'function').optional(),
    defaults: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const zStageName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_-]+$/, 'use letters, digits, _ and - only');

const zBatch = z.object({ size: zPositiveInt.max(10_000), waitMs: z.number().int().nonnegative() }).strict();

/**
 * A pipeline of stages. Build it with `stage()` / `batchStage()` (each returns the pipeline typed by
 * the new stage's output), `start()` its workers, `add()` inputs to the first stage.
 */
export class Pipeline<In, Out = In> {
  readonly name: string;
  private readonly options: PipelineOptions;
  private readonly stages: Stage[] = [];
  private readonly workers = new Map<string, Worker<unknown, unknown>>();
  private started = false;
  private closed = false;

  constructor(name: string, options: PipelineOptions) {
    this.name = parseOptions(zQueueName, name, 'pipeline name');
    this.options = parseOptions(zPipelineOptions, options, 'pipeline options') as PipelineOptions;
  }

  /** Adds a stage whose handler turns this stage's input into the next stage's input. */
  stage<Next>(name: string, handler: Handler<Out, Next>, options: StageOptions = {}): Pipeline<In, Next> {
    if (typeof handler !== 'function') {
      throw new ValidationError(`[bulwark] pipeline stage '${name}' needs a handler function`, {
        path: 'handler',
      });
    }
    this.addStage(name, handler as Handler<unknown, unknown>, options);
    return this as unknown as Pipeline<In, Next>;
  }

  /** Adds a micro-batching stage: its handler gets up to `batch.size` items at once. */
  batchStage<Next>(
    name: string,
    handler: BatchHandler<Out, Next>,
    options: BatchStageOptions,
  ): Pipeline<In, Next> {
    if (typeof handler !== 'function') {
      throw new ValidationError(`[bulwark] pipeline stage '${name}' needs a handler function`, {
        path: 'handler',
      });
    }
    const { batch: rawBatch, ...rest } = readOptions(
      options,
      `stage '${name}' options`,
    ) as Partial<BatchStageOptions>;
    const batch = parseOptions(zBatch, rawBatch, `stage '${name}' batch`);
    const batcher = new Batcher(batch, handler as BatchHandler<unknown, unknown>);
    // Enough slots to fill a batch while the previous one runs.
    this.addStage(name, (ctx) => batcher.push(ctx), { concurrency: batch.size * 2, ...rest });
    return this as unknown as Pipeline<In, Next>;
  }

  private addStage(name: string, handler: Handler<unknown, unknown>, options: StageOptions): void {
    if (this.started) throw new StateError('[bulwark] add stages before start()');
    const stageName = parseOptions(zStageName, name, 'stage name');
    if (this.stages.some((s) => s.name === stageName)) {
      throw new ValidationError(`[bulwark] pipeline '${this.name}' already has a stage '${stageName}'`, {
        path: 'name',
      });
    }
    const { defaults, rateLimit, maxPayloadBytes, ...workerOptions } = readOptions(
      options,
      `stage '${name}' options`,
    ) as StageOptions;
    const queue = new Queue<unknown>(`${this.name}.${stageName}`, {
      store: this.options.store,
      clock: this.options.clock,
      defaults: { ...this.options.defaults, ...readOptions(defaults, `stage '${name}' defaults`) },
      rateLimit,
      maxPayloadBytes,
    });
    const index = this.stages.length;
    const run: Handler<unknown, unknown> = async (ctx) => {
      const output = await handler(ctx);
      const next = this.stages[index + 1];
      if (!next) return output;
      // Same id downstream: a repeated hand-off finds the job already there and changes nothing.
      const job = ctx.job;
      await next.queue.add(output, {
        id: job.id,
        name: job.name ?? undefined,
        priority: job.priority,
        correlationId: job.correlationId,
        metadata: job.metadata as Record<string, unknown>,
      });
      return undefined;
    };
    // Validate the worker options now, not at start().
    dependencyGates(parseOptions(zWorkerOptions, workerOptions, `stage '${stageName}' options`));
    this.stages.push({
      name: stageName,
      queue,
      handler: run,
      options: { ...workerOptions, stage: stageName },
    });
  }

  /** The stage names, in order. */
  get stageNames(): string[] {
    return this.stages.map((s) => s.name);
  }

  /** The queue behind a stage (for counts, DLQ, pause…). */
  queue(stage: string): Queue<unknown> {
    const s = this.stages.find((x) => x.name === stage);
    if (!s)
      throw new ValidationError(`[bulwark] pipeline '${this.name}' has no stage '${stage}'`, {
        path: 'stage',
      });
    return s.queue;
  }

  /** The worker of a stage, once started (for events). */
  worker(stage: string): Worker<unknown, unknown> {
    const w = this.workers.get(stage);
    if (!w) throw new StateError(`[bulwark] stage '${stage}' has no running worker (call start() first)`);
    return w;
  }

  /** Adds an input to the first stage. */
  async add(payload: In, options?: AddOptions, ctx?: AddContext): Promise<Job<In>> {
    return (await this.first().add(payload, options, ctx)) as Job<In>;
  }

  async addBulk(items: readonly BulkItem<In>[], ctx?: AddContext): Promise<Job<In>[]> {
    return (await this.first().addBulk(items, ctx)) as Job<In>[];
  }

  private first(): Queue<unknown> {
    if (this.closed) throw new ClosedError('[bulwark] the pipeline is closed');
    const s = this.stages[0];
    if (!s) throw new StateError(`[bulwark] pipeline '${this.name}' has no stages`);
    return s.queue;
  }

  /** Starts one worker per stage. */
  start(): this {
    if (this.closed) throw new ClosedError('[bulwark] the pipeline is closed');
    if (this.started) return this;
    if (this.stages.length === 0) throw new StateError(`[bulwark] pipeline '${this.name}' has no stages`);
    this.started = true;
    for (const s of this.stages) this.workers.set(s.name, new Worker(s.queue, s.handler, s.options));
    return this;
  }

  /** Where a job is: the furthest stage it reached, its state there, and the final result. */
  async status(id: string): Promise<PipelineJobStatus | null> {
    for (let i = this.stages.length - 1; i >= 0; i--) {
      const s = this.stages[i]!;
      const job = await s.queue.getJob(id);
      if (!job) continue;
      const status: PipelineJobStatus = { stage: s.name, state: job.state };
      if (i === this.stages.length - 1 && job.state === 'completed') status.result = job.result;
      return status;
    }
    return null;
  }

  /** Stops every stage's worker (graceful, like Worker.close). */
  async close(options?: { graceMs?: number; reason?: string }): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers.values()].map((w) => w.close(options)));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
