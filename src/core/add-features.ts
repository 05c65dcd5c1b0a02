/**
 * The add options beyond the plain queue — uniqueness, debounce and throttle by key — and what the
 * store's answer means for each job (`job.outcome`).
 */
import { z } from 'zod';
import { ValidationError } from '../kernel/errors.js';
import { zPositiveInt, zText } from '../kernel/validate.js';
import type { DeadDependency, NewJob, StoredJob } from '../store/types.js';

/**
 * One job per key, three ways:
 * - `drop` (default): while a job with the key is waiting, delayed, blocked or active, adding another
 *   returns that job and adds nothing;
 * - `debounce`: while a job with the key waits to start, adding another replaces its payload and pushes
 *   its run time to `delayMs` from now; once it runs, the next add makes a new job;
 * - `throttle`: at most one job per key per `windowMs` (fixed windows from the epoch); adds within a
 *   window return that window's job.
 */
export type UniqueOptions =
  | { key: string; mode?: 'drop' }
  | { key: string; mode: 'debounce'; delayMs: number }
  | { key: string; mode: 'throttle'; windowMs: number };

/**
 * How `add` treated a job: `created`, `existing` (its `id` was taken: the existing job is returned),
 * or by its unique key `dropped` (the job holding the key is returned), `debounced` (the waiting job
 * took the new payload and run time) or `throttled` (the window's job is returned).
 */
export type AddOutcome = 'created' | 'existing' | 'dropped' | 'debounced' | 'throttled';

const zKey = zText.min(1).max(512);
const DAY = 86_400_000;

export const zUnique = z.union([
  z.object({ key: zKey, mode: z.literal('drop').optional() }).strict(),
  z
    .object({
      key: zKey,
      mode: z.literal('debounce'),
      delayMs: z
        .number()
        .int()
        .nonnegative()
        .max(365 * DAY),
    })
    .strict(),
  z.object({ key: zKey, mode: z.literal('throttle'), windowMs: zPositiveInt.max(365 * DAY) }).strict(),
]);

/** Most dependencies one job may have. */
export const MAX_DEPENDENCIES = 10_000;

export const zDependsOn = z.array(zText.min(1).max(512)).min(1).max(MAX_DEPENDENCIES);
export const zDeadDependency = z.enum(['fail', 'ignore', 'wait']);

/** The add options this file handles, as parsed. */
export interface FeatureOptions {
  id?: string;
  delayMs?: number;
  runAt?: Date | number;
  unique?: UniqueOptions;
  dependsOn?: readonly string[];
  onDependencyDead?: DeadDependency;
}

/** Why a combination of options is refused (null: it is fine). */
export function refuseCombination(o: FeatureOptions): { message: string; path: string[] } | null {
  const u = o.unique;
  if (u?.mode === 'throttle' && o.id !== undefined)
    return { message: 'a throttled job gets its id from the key and the window: give no id', path: ['id'] };
  if (o.dependsOn !== undefined && u !== undefined)
    return { message: 'a job with dependencies cannot be unique', path: ['unique'] };
  if (o.onDependencyDead !== undefined && o.dependsOn === undefined)
    return { message: 'onDependencyDead needs dependsOn', path: ['onDependencyDead'] };
  if (u?.mode === 'debounce' && (o.delayMs !== undefined || o.runAt !== undefined))
    return {
      message: 'a debounced job runs unique.delayMs after the last add: give no delayMs or runAt',
      path: ['unique'],
    };
  return null;
}

/** Applies the feature options to a row about to be added (the id, run-at and unique key). */
export function withFeatures(row: NewJob, o: FeatureOptions, now: number): NewJob {
  if (o.dependsOn !== undefined) {
    const deps = [...new Set(o.dependsOn)];
    if (deps.includes(row.id)) {
      throw new ValidationError(
        `[bulwark] invalid job options.dependsOn: job ${row.id} cannot depend on itself`,
        {
          path: 'job options.dependsOn',
        },
      );
    }
    row.dependsOn = deps;
    row.onDependencyDead = o.onDependencyDead ?? 'fail';
  }
  const u = o.unique;
  if (!u) return row;
  switch (u.mode) {
    case 'throttle':
      row.id = `throttle:${u.key}:${Math.floor(now / u.windowMs)}`;
      return row;
    case 'debounce':
      row.runAt = now + u.delayMs;
      row.uniqueKey = u.key;
      row.uniqueMode = 'debounce';
      return row;
    default:
      row.uniqueKey = u.key;
      row.uniqueMode = 'drop';
      return row;
  }
}

/** What happened to an added row, from the store's answer (null: created). */
export function outcomeOf(
  row: NewJob,
  found: StoredJob | null,
  unique: UniqueOptions | undefined,
): AddOutcome {
  if (!found) return 'created';
  if (unique?.mode === 'throttle') return 'throttled';
  if (found.id !== row.id) return unique?.mode === 'debounce' ? 'debounced' : 'dropped';
  return 'existing';
}

/**
 * The order to add a bulk in so that a job comes after the jobs of the same call it depends on (ids
 * of jobs added earlier or already stored need no order). A cycle is a ValidationError.
 */
export function dependencyOrder(rows: readonly NewJob[]): number[] | null {
  if (!rows.some((r) => r.dependsOn !== undefined)) return null;
  const index = new Map<string, number>();
  rows.forEach((r, i) => index.set(r.id, i));
  const order: number[] = [];
  const mark = new Uint8Array(rows.length); // 0 new, 1 on the path, 2 placed
  const visit = (i: number, path: string[]): void => {
    if (mark[i] === 2) return;
    const row = rows[i]!;
    if (mark[i] === 1) {
      throw new ValidationError(
        `[bulwark] invalid job options.dependsOn: a cycle ${[...path, row.id].join(' -> ')}`,
        { path: 'job options.dependsOn' },
      );
    }
    mark[i] = 1;
    for (const dep of row.dependsOn ?? []) {
      const j = index.get(dep);
      if (j !== undefined) visit(j, [...path, row.id]);
    }
    mark[i] = 2;
    order.push(i);
  };
  for (let i = 0; i < rows.length; i++) visit(i, []);
  return order;
}
