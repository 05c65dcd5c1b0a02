/** What the SQL stores share for flows: how a job with dependencies starts. */
import type { DeadDependency } from '../types.js';

const FINAL = new Set(['completed', 'dead', 'cancelled']);

/** How a blocked job starts, from its dependencies' states now. */
export interface DependencyCount {
  /** Dependencies still to wait for (edges to open). */
  pending: string[];
  /** The first dead or cancelled dependency under `fail`: the job is dead at once. */
  failedBy: string | null;
}

/** Counts what a job must still wait for, given each dependency's state (undefined: unknown id). */
export function countDependencies(
  ids: readonly string[],
  stateOf: (id: string) => string | undefined,
  policy: DeadDependency,
  onUnknown: (id: string) => void,
): DependencyCount {
  const pending: string[] = [];
  for (const id of ids) {
    const state = stateOf(id);
    if (state === undefined) {
      onUnknown(id);
      continue;
    }
    if (state === 'completed') continue;
    if (FINAL.has(state) && policy !== 'wait') {
      if (policy === 'fail') return { pending, failedBy: id };
      continue;
    }
    pending.push(id);
  }
  return { pending, failedBy: null };
}

/** What `completeAfter` does with a job, given its children's states now (undefined: unknown id). */
export interface CompletePlan {
  state: 'completed' | 'blocked' | 'dead';
  /** The children that exist: the job's dependencies from now on. */
  known: string[];
  /** The children still to wait for (edges to open) when blocked. */
  pending: string[];
  /** Why the job is dead, when it is. */
  reason: string | null;
}

export function planCompleteAfter(
  children: readonly string[],
  stateOf: (id: string) => string | undefined,
  policy: DeadDependency,
): CompletePlan {
  const known = children.filter((c) => stateOf(c) !== undefined);
  const count = countDependencies(known, stateOf, policy, () => undefined);
  if (count.failedBy !== null) {
    const reason = `dependency ${count.failedBy} is ${stateOf(count.failedBy)}`;
    return { state: 'dead', known, pending: [], reason };
  }
  return {
    state: count.pending.length === 0 ? 'completed' : 'blocked',
    known,
    pending: count.pending,
    reason: null,
  };
}
