/**
 * Cron schedules: what a schedule is, how its ticks are computed (croner, a maintained parser) and
 * which ticks are due. Firing is an idempotent add: a tick's job id is derived from the schedule's key
 * and the tick's time, so however many processes fire the same tick, one job exists.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { ValidationError } from '../kernel/errors.js';
import { parseOptions, zJsonRecord, zPositiveInt, zText } from '../kernel/validate.js';
import type { StoredSchedule } from '../store/types.js';

/** What happens to ticks that were missed while no process fired them. */
export type CatchUp = 'none' | 'latest' | 'all';

/** Most missed ticks `catchUp: 'all'` may fire at once. */
export const MAX_CATCH_UP = 1000;
/** A tick fired within this long after its time is on time; older ones were missed (see `catchUp`). */
export const ON_TIME_MS = 30_000;

/** The options of the jobs a schedule adds (no id or run time: the tick decides those). */
export interface ScheduledJobOptions {
  name?: string;
  priority?: number;
  maxAttempts?: number;
  timeoutMs?: number | null;
  metadata?: Record<string, unknown>;
}

export interface ScheduleOptions<T = unknown> {
  /**
   * A cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first).
   * Ranges, lists, steps and names (`*\/15 9-17 * * MON-FRI`) work as in crontab.
   */
  cron: string;
  /** The IANA time zone the expression is read in (`Europe/Paris`). @default 'UTC' */
  tz?: string;
  /** The payload of every job the schedule adds. @default null */
  payload?: T;
  /** Options of every job the schedule adds. */
  options?: ScheduledJobOptions;
  /**
   * Ticks missed while no process ran the schedule (more than 30 s late): `none` skips them, `latest`
   * fires the newest one, `all` fires each (at most `catchUpLimit`, the newest). @default 'none'
   */
  catchUp?: CatchUp;
  /** With `catchUp: 'all'`: most missed ticks fired at once. @default 100 */
  catchUpLimit?: number;
}

/** A schedule as `queue.schedules()` shows it. */
export interface ScheduleInfo<T = unknown> {
  key: string;
  cron: string;
  tz: string;
  payload: T;
  options: ScheduledJobOptions;
  catchUp: CatchUp;
  catchUpLimit: number;
  /** The newest tick fired (or when the schedule was created), epoch ms. */
  lastTickAt: number;
  /** The next tick after now, epoch ms (null when the expression has no future tick). */
  nextTickAt: number | null;
}

/** The spec as stored (JSON text in the store). */
interface Spec {
  cron: string;
  tz: string;
  payload: unknown;
  options: ScheduledJobOptions;
  catchUp: CatchUp;
  catchUpLimit: number;
}

export const zScheduleKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits and _ . : - only');

const zJobOptions = z
  .object({
    name: zText.min(1).max(200).optional(),
    priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
    maxAttempts: zPositiveInt.max(10_000).optional(),
    timeoutMs: zPositiveInt
      .max(7 * 86_400_000)
      .nullable()
      .optional(),
    metadata: zJsonRecord.optional(),
  })
  .strict();

const zSchedule = z
  .object({
    cron: z.string().min(1).max(500),
    tz: z.string().min(1).max(100).optional(),
    payload: z.unknown().optional(),
    options: zJobOptions.optional(),
    catchUp: z.enum(['none', 'latest', 'all']).optional(),
    catchUpLimit: zPositiveInt.max(MAX_CATCH_UP).optional(),
  })
  .strict();

/** Throws a ValidationError unless `tz` is a time zone this runtime knows. */
function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new ValidationError(`[bulwark] invalid schedule.tz: unknown time zone ${JSON.stringify(tz)}`, {
      path: 'schedule.tz',
    });
  }
}

/** A parsed cron expression in its time zone. Only 5 or 6 fields: a 7th (year) field is refused. */
export function parseCron(cron: string, tz: string): Cron {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new ValidationError(
      `[bulwark] invalid schedule.cron: ${JSON.stringify(cron)} has ${fields} fields; give 5 (minute hour day month weekday) or 6 (seconds first)`,
      { path: 'schedule.cron' },
    );
  }
  checkTimeZone(tz);
  try {
    return new Cron(cron, { timezone: tz, paused: true, mode: '5-or-6-parts' });
  } catch (e) {
    const message = e instanceof Error ? e.message.replace(/^CronPattern:\s*/, '') : String(e);
    throw new ValidationError(`[bulwark] invalid schedule.cron: ${JSON.stringify(cron)}: ${message}`, {
      path: 'schedule.cron',
      cause: e,
    });
  }
}

/** Validates a schedule and returns its stored spec (JSON text). `toJson` checks the payload. */
export function scheduleSpec(
  options: ScheduleOptions,
  toJson: (value: unknown, path: string) => string,
): string {
  const o = parseOptions(zSchedule, options, 'schedule');
  const tz = o.tz ?? 'UTC';
  parseCron(o.cron, tz);
  const spec: Spec = {
    cron: o.cron.trim(),
    tz,
    payload: o.payload === undefined ? null : o.payload,
    options: o.options ?? {},
    catchUp: o.catchUp ?? 'none',
    catchUpLimit: o.catchUpLimit ?? 100,
  };
  // Checks the payload and metadata are plain JSON (and within the size limit) before any write.
  toJson(spec.payload, 'schedule.payload');
  return toJson(spec, 'schedule');
}

/** A stored schedule with its parsed spec and cron. */
export interface LoadedSchedule {
  stored: StoredSchedule;
  spec: Spec;
  cron: Cron;
}

/** Parses a stored schedule; null when it no longer parses (it is skipped, not fatal). */
export function loadSchedule(stored: StoredSchedule): LoadedSchedule | null {
  try {
    const spec = JSON.parse(stored.spec) as Spec;
    return { stored, spec, cron: parseCron(spec.cron, spec.tz) };
  } catch {
    return null;
  }
}

export function scheduleInfo<T>(s: LoadedSchedule, now: number): ScheduleInfo<T> {
  return {
    key: s.stored.key,
    cron: s.spec.cron,
    tz: s.spec.tz,
    payload: s.spec.payload as T,
    options: s.spec.options,
    catchUp: s.spec.catchUp,
    catchUpLimit: s.spec.catchUpLimit,
    lastTickAt: s.stored.lastTickAt,
    nextTickAt: nextTick(s, now),
  };
}

/** The first tick after `now`, or null. */
export function nextTick(s: LoadedSchedule, now: number): number | null {
  return s.cron.nextRun(new Date(now))?.getTime() ?? null;
}

/**
 * The ticks due now: `fire`, oldest first (those after the last fired tick and at or before `now`: on
 * time ones always, missed ones as `catchUp` says), and `upTo`, the newest due tick (fired or skipped),
 * which becomes the schedule's last tick. Null when nothing is due.
 */
export function dueTicks(s: LoadedSchedule, now: number): { fire: number[]; upTo: number } | null {
  const { catchUp, catchUpLimit } = s.spec;
  const last = s.stored.lastTickAt;
  const bound = catchUp === 'all' ? Math.max(catchUpLimit, 100) : 100;
  // previousRuns excludes its reference time: start just after now so a tick at `now` counts.
  const ticks = s.cron
    .previousRuns(bound, new Date(now + 1))
    .map((d) => d.getTime())
    .filter((t) => t > last && t <= now)
    .reverse();
  const upTo = ticks.at(-1);
  if (upTo === undefined) return null;
  const onTime = ticks.filter((t) => now - t <= ON_TIME_MS);
  const fire =
    catchUp === 'all'
      ? ticks.slice(-catchUpLimit)
      : catchUp === 'latest' && onTime.length === 0
        ? [upTo]
        : onTime;
  return { fire, upTo };
}

/** The id of a tick's job: the same in every process, so firing it twice adds one job. */
export const tickJobId = (key: string, tickAt: number): string =>
  `schedule:${key}:${new Date(tickAt).toISOString()}`;
