/**
 * Fires the queue's cron schedules while the worker runs: sleeps until the next tick (at most the poll
 * interval, so schedules declared elsewhere are picked up), then adds the due ticks' jobs. Every worker
 * of the queue does this; the tick-derived job ids make the races idempotent adds.
 */
import type { WorkerEnv } from './claimer.js';
import { BackgroundLoop } from './loop.js';

export class ScheduleRunner extends BackgroundLoop {
  constructor(env: WorkerEnv, pollMs: number) {
    super(async () => {
      try {
        const { nextTickAt } = await env.queue.fireSchedules();
        if (nextTickAt !== null) return Math.max(1, Math.min(pollMs, nextTickAt - env.clock.now()));
      } catch (e) {
        env.reportError(e, 'schedule');
      }
      return pollMs;
    });
  }
}
