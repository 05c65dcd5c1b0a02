/**
 * Structured logs with pino. Every line written while a job runs carries its correlation id, job id,
 * queue, attempt and stage, read from the job scope (AsyncLocalStorage), so a log call anywhere
 * inside a handler, however deep, is tied to the job without passing a logger around. Loggers made
 * by `createLogger()` do it by themselves; your own pino does it with `mixin: jobMixin`, and any
 * other logger with `jobLogger(logger)` or `jobLogFields()`.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { z } from 'zod';
import { ValidationError } from '../kernel/errors.js';
import type { Disposer } from '../kernel/events.js';
import { jobScope, type Logger } from '../kernel/logger.js';
import { parseOptions } from '../kernel/validate.js';
import type { Worker } from '../core/worker/worker.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** Where JSON lines go: a writable stream, a file descriptor, or a file path. @default 1 (stdout) */
  destination?: DestinationStream | number | string;
  /** Paths whose values are replaced in every line, e.g. `['payload.password', 'req.headers.authorization']`. */
  redact?: string[];
  /** What redacted values become. @default '[Redacted]' */
  censor?: string;
  /** A `name` field on every line. */
  name?: string;
  /** Fields on every line. @default { pid, hostname } */
  base?: Record<string, unknown>;
}

const zOptions = z
  .object({
    level: z.enum(LOG_LEVELS).optional(),
    destination: z
      .union([
        z.number().int().nonnegative(),
        z.string().min(1),
        z.custom<DestinationStream>(
          (s) => typeof (s as DestinationStream)?.write === 'function',
          'expected a writable stream, a file descriptor or a path',
        ),
      ])
      .optional(),
    redact: z.array(z.string().min(1).max(500)).max(1000).optional(),
    censor: z.string().max(100).optional(),
    name: z.string().min(1).max(200).optional(),
    base: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** Keys a pino logger already binds (cached per instance): the mixin leaves them out, so no line repeats a key. */
const kBound = Symbol('bulwark.boundKeys');
/** What the mixin needs of the logger pino hands it: its bindings (any pino logger has them). */
interface Bindable {
  bindings?(): Record<string, unknown>;
}
type Marked = Bindable & { [kBound]?: Set<string> };

const NO_KEYS: ReadonlySet<string> = new Set();

function boundKeys(logger: Marked | undefined): ReadonlySet<string> {
  if (typeof logger !== 'object' || logger === null || typeof logger.bindings !== 'function') return NO_KEYS;
  // Children inherit from their parent's object: only an own property belongs to this instance.
  if (Object.hasOwn(logger, kBound)) return logger[kBound]!;
  const keys = new Set(Object.keys(logger.bindings()));
  Object.defineProperty(logger, kBound, { value: keys, enumerable: false });
  return keys;
}

/** The job fields a log line carries. */
export interface JobLogFields {
  correlationId?: string;
  jobId?: string;
  queue?: string;
  attempt?: number;
  stage?: string;
}

/** The running job's fields minus `bound`, in a fresh object ({} outside a job). */
function fieldsOf(bound: ReadonlySet<string>): JobLogFields {
  const s = jobScope.getStore();
  // pino's merge writes into the returned object: it must be a fresh one every time.
  if (s === undefined) return {};
  const out: JobLogFields = {};
  if (!bound.has('correlationId')) out.correlationId = s.correlationId;
  if (!bound.has('jobId')) out.jobId = s.jobId;
  if (!bound.has('queue')) out.queue = s.queue;
  if (!bound.has('attempt')) out.attempt = s.attempt;
  if (s.stage !== undefined && !bound.has('stage')) out.stage = s.stage;
  return out;
}

/**
 * A pino `mixin` for your own logger: `pino({ mixin: jobMixin })`. Every line written while a job
 * runs (however deep inside its handler) carries the job's correlation id, job id, queue, attempt
 * and stage; keys the logger already binds are left out, and fields given in the call win. Outside a
 * job it adds nothing. With a mixin of your own, call it from yours:
 * `mixin: (o, level, logger) => ({ ...jobMixin(o, level, logger), app: 'api' })`.
 */
export function jobMixin<L = PinoLogger>(_mergeObject: object, _level: number, logger?: L): JobLogFields {
  // Generic in the logger so that `pino({ mixin: jobMixin })` infers pino's own type parameters.
  return fieldsOf(boundKeys(logger as Bindable | undefined));
}

/** The running job's log fields ({} outside a job), for any logger: `log.info({ ...jobLogFields(), step })`. */
export function jobLogFields(): JobLogFields {
  return fieldsOf(NO_KEYS);
}

/**
 * A child of `logger` bound to the running job's fields (`logger` itself outside a job). For loggers
 * without a mixin hook (winston, bunyan, …) or to bind the fields once for a long piece of work.
 */
export function jobLogger<L extends { child(bindings: Record<string, unknown>): L }>(logger: L): L {
  if (typeof (logger as { child?: unknown } | null)?.child !== 'function') {
    throw new ValidationError('[bulwark] [log] jobLogger expects a logger with child()', { path: 'logger' });
  }
  const fields = fieldsOf(boundKeys(logger as Bindable));
  return Object.keys(fields).length === 0 ? logger : logger.child(fields as Record<string, unknown>);
}

/**
 * A pino logger for bulwark (and for your handlers): JSON lines with the running job's correlation
 * id, job id, queue, attempt and stage on every line. Pass it as the worker's `logger`.
 */
export function createLogger(options: LogOptions = {}): PinoLogger {
  const o = parseOptions(zOptions, options, 'log options');
  const d = o.destination ?? 1;
  const destination = typeof d === 'object' ? d : pino.destination({ dest: d, sync: false });
  return pino(
    {
      level: o.level ?? 'info',
      ...(o.name === undefined ? {} : { name: o.name }),
      ...(o.base === undefined ? {} : { base: o.base }),
      ...(o.redact === undefined ? {} : { redact: { paths: o.redact, censor: o.censor ?? '[Redacted]' } }),
      mixin: jobMixin,
    },
    destination,
  );
}

type LevelAware = Logger & { isLevelEnabled?(level: string): boolean };

/**
 * Logs a worker's job lifecycle (retries, dead letters, snoozes, pauses, lost leases, shutdown;
 * completions at debug) with each job's correlation id. Returns a disposer. Recoveries of a dead
 * worker's jobs are not repeated here: the worker logs them itself ("recovered stalled jobs", at warn)
 * on its `logger` option, which `instrument` asks for the same logger, so they were logged twice.
 */
export function logJobEvents(worker: Pick<Worker, 'on'>, logger: LevelAware): Disposer {
  if (typeof worker?.on !== 'function') {
    throw new ValidationError('[bulwark] [log] logJobEvents expects a Worker', { path: 'worker' });
  }
  if (typeof logger?.child !== 'function') {
    throw new ValidationError('[bulwark] [log] logJobEvents expects a logger', { path: 'logger' });
  }
  const fields = (job: { id: string; queue: string; attempts: number; correlationId: string }) => ({
    correlationId: job.correlationId,
    jobId: job.id,
    queue: job.queue,
    attempt: job.attempts,
  });
  const offs = [
    worker.on('job:retrying', (e) =>
      logger.warn(
        { ...fields(e.job), category: e.category, delayMs: e.delayMs, err: e.error },
        'job failed, retrying',
      ),
    ),
    worker.on('job:snoozed', (e) =>
      logger.info(
        {
          ...fields(e.job),
          category: e.category,
          delayMs: e.delayMs,
          action: e.action,
          reason: e.error.message,
        },
        'job snoozed',
      ),
    ),
    worker.on('job:dead', (e) =>
      logger.error(
        { ...fields(e.job), category: e.category, reason: e.reason, err: e.error },
        'job dead-lettered',
      ),
    ),
    worker.on('job:stale', (e) => logger.warn(fields(e.job), 'job lost its lease; its outcome was refused')),
    worker.on('queue:paused', (e) => logger.error({ queue: e.queue, reason: e.reason }, 'queue paused')),
    worker.on('worker:stopping', (e) => logger.info({ reason: e.reason }, 'worker stopping')),
    worker.on('worker:closed', (e) => logger.info({ workerId: e.workerId }, 'worker closed')),
  ];
  // A completion line per job is costly: only listen when debug lines are wanted at all.
  if (logger.isLevelEnabled?.('debug') ?? true) {
    offs.push(
      worker.on('job:completed', (e) =>
        logger.debug({ ...fields(e.job), durationMs: e.durationMs }, 'job completed'),
      ),
    );
  }
  return () => {
    for (const off of offs.splice(0)) off();
  };
}
