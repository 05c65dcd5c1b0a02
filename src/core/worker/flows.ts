/**
 * The worker's side of flows: the children a handler spawned and waits for (`ctx.spawn`), the
 * completion that waits for them, and the sweeper that moves blocked jobs on once their dependencies
 * have finished (`store.resolveDependants`), in every process that runs a worker of the queue.
 */
import type { StoredState } from '../../store/types.js';
import { ensureInit, signalLocalReady } from '../wake.js';
import type { Attempt } from './attempt.js';
import type { Awaited } from './awaited.js';
import type { WorkerEnv } from './claimer.js';
import { BackgroundLoop } from './loop.js';

export { awaitedChildren } from './awaited.js';

/**
 * Completes a job that waits for its children: `completed` at once when they are done, else `blocked`
 * (the sweeper completes it later). `done` gets the state, or null when the lease was lost.
 */
export function completeAfterChildren(
  env: WorkerEnv,
  attempt: Attempt,
  result: string | null,
  children: Awaited,
  done: (state: StoredState | null | undefined) => void,
): void {
  const { store, queue, clock } = env;
  const job = attempt.job;
  store
    .completeAfter(
      queue.name,
      { id: job.id, token: job.fence, result },
      children.ids,
      children.onDependencyDead,
      clock.now(),
    )
    .then(done, (e: unknown) => {
      env.reportError(e, 'settle');
      done(undefined);
    });
}

/** Most edges one sweep settles. */
const SWEEP_LIMIT = 1000;
/** How soon to look again while dependency edges are open. */
const OPEN_SWEEP_MS = 50;

/** Resolves the queue's blocked jobs whose dependencies have finished, in every worker process. */
export class FlowSweeper extends BackgroundLoop {
  constructor(env: WorkerEnv, pollMs: number) {
    super(async () => {
      const { store, queue, clock } = env;
      try {
        // Not before the store is set up (a new file or schema): the tables may not exist yet.
        await ensureInit(store);
        const r = await store.resolveDependants(queue.name, clock.now(), SWEEP_LIMIT);
        if (r.ready.length > 0) signalLocalReady(store, queue.name);
        if (r.ready.length + r.completed.length + r.dead.length > 0) return 0;
        if (r.open) return Math.min(pollMs, OPEN_SWEEP_MS);
      } catch (e) {
        env.reportError(e, 'flows');
      }
      return pollMs;
    });
  }
}
