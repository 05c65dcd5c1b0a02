/**
 * The worker's side of flows: the children a handler spawned and waits for (`ctx.spawn`), the
 * completion that waits for them, and the sweeper that moves blocked jobs on once their dependencies
 * have finished (`store.resolveDependants`), in every process that runs a worker of the queue.
 */
import type { StoredState } from '../../store/types.js';
import { signalLocalReady } from '../wake.js';
import type { Attempt } from './attempt.js';
import type { Awaited } from './awaited.js';
import type { WorkerEnv } from './claimer.js';

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

export class FlowSweeper {
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly env: WorkerEnv,
    private readonly pollMs: number,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Looks now (a job of the queue finished here). */
  poke(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { store, queue, clock } = this.env;
    while (!this.stopped) {
      let waitMs = this.pollMs;
      try {
        const r = await store.resolveDependants(queue.name, clock.now(), SWEEP_LIMIT);
        if (r.ready.length > 0) signalLocalReady(store, queue.name);
        const moved = r.ready.length + r.completed.length + r.dead.length;
        if (moved > 0) waitMs = 0;
        else if (r.open) waitMs = Math.min(this.pollMs, OPEN_SWEEP_MS);
      } catch (e) {
        this.env.reportError(e, 'flows');
      }
      if (this.stopped) break;
      if (waitMs === 0) continue;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, waitMs);
        this.timer.unref();
      });
      this.wakeUp = undefined;
    }
  }
}
