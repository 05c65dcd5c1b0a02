/**
 * Fires the queue's cron schedules while the worker runs: sleeps until the next tick (at most the poll
 * interval, so schedules declared elsewhere are picked up), then adds the due ticks' jobs. Every worker
 * of the queue does this; the tick-derived job ids make the races idempotent adds.
 */
import type { WorkerEnv } from './claimer.js';

export class ScheduleRunner {
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

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { queue, clock } = this.env;
    while (!this.stopped) {
      let waitMs = this.pollMs;
      try {
        const { nextTickAt } = await queue.fireSchedules();
        if (nextTickAt !== null) waitMs = Math.max(1, Math.min(this.pollMs, nextTickAt - clock.now()));
      } catch (e) {
        this.env.reportError(e, 'schedule');
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, waitMs);
        this.timer.unref();
      });
    }
  }
}
