/** The children an attempt's handler spawned and waits for (`ctx.spawn`), read when it completes. */
import type { DeadDependency } from '../../store/types.js';
import type { Attempt } from './attempt.js';

export interface Awaited {
  ids: string[];
  onDependencyDead: DeadDependency;
}

const awaited = new WeakMap<Attempt, Awaited>();

/** Records that this attempt's job completes only once `ids` have (called by `ctx.spawn`). */
export function awaitChildren(attempt: Attempt, ids: readonly string[], policy: DeadDependency): void {
  const current = awaited.get(attempt);
  if (current) {
    for (const id of ids) if (!current.ids.includes(id)) current.ids.push(id);
    current.onDependencyDead = policy;
  } else {
    awaited.set(attempt, { ids: [...ids], onDependencyDead: policy });
  }
}

/** The children this attempt waits for, if its handler spawned any to wait for. */
export const awaitedChildren = (attempt: Attempt): Awaited | undefined => awaited.get(attempt);
