/** `ctx.spawn`: children added to the job's queue, then waited for by the job itself or by a join job. */
import { z } from 'zod';
import { ValidationError } from '../../kernel/errors.js';
import { parseOptions, readOptions } from '../../kernel/validate.js';
import type { Job } from '../job.js';
import type { AddOptions, BulkItem, Queue } from '../queue.js';
import type { Attempt } from './attempt.js';
import { awaitChildren } from './awaited.js';
import type { DeadDependency } from '../../store/types.js';

const zSpawnOptions = z
  .object({
    join: z
      .object({ payload: z.unknown(), options: z.record(z.string(), z.unknown()).optional() })
      .strict()
      .optional(),
    wait: z.boolean().optional(),
    onDependencyDead: z.enum(['fail', 'ignore', 'wait']).optional(),
  })
  .strict();

export interface SpawnOptions {
  /** A join job added with the children, depending on all of them (its id defaults to `<job id>:join`). */
  join?: BulkItem<unknown>;
  /** This job completes only once the children have. @default true without `join`, false with one */
  wait?: boolean;
  /** What a dead child does to the job that waits for it (this one, or the join). @default 'fail' */
  onDependencyDead?: DeadDependency;
}

export interface Spawned {
  children: Job[];
  join: Job | null;
}

export async function spawnChildren(
  queue: Queue<unknown, unknown>,
  attempt: Attempt,
  children: readonly BulkItem<unknown>[],
  options: SpawnOptions,
): Promise<Spawned> {
  const o = parseOptions(zSpawnOptions, options, 'spawn options');
  if (!Array.isArray(children) || children.length === 0) {
    throw new ValidationError('[bulwark] ctx.spawn expects a non-empty array of { payload, options? }', {
      path: 'children',
    });
  }
  const parent = attempt.job;
  const items: BulkItem<unknown>[] = children.map((c, i) => {
    // Read once, guarded: a child or its options whose getters throw is a ValidationError.
    const child = readOptions(c, `children[${i}]`);
    const options = readOptions(child.options, `children[${i}].options`) as AddOptions;
    return { payload: child.payload, options: { ...options, id: options.id ?? `${parent.id}:${i}` } };
  });
  const ids = items.map((c) => c.options!.id!);
  const policy = o.onDependencyDead ?? 'fail';
  if (o.join) {
    items.push({
      payload: o.join.payload,
      options: {
        id: `${parent.id}:join`,
        ...(o.join.options as BulkItem<unknown>['options']),
        dependsOn: ids,
        onDependencyDead: policy,
      },
    });
  }
  const added = await queue.addBulk(items);
  if (o.wait ?? !o.join) awaitChildren(attempt, ids, policy);
  const join: Job | null = o.join ? added.at(-1)! : null;
  return { children: o.join ? added.slice(0, -1) : added, join };
}
