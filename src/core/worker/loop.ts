/**
 * A background loop of a worker (the schedule runner, the flow sweeper): runs `step`, sleeps for the
 * time it returns (unref'd timer; 0 runs again at once), until `stop()`. `poke()` ends a sleep early.
 */
export class BackgroundLoop {
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    /** One turn; returns how long to sleep, in ms. Errors are the step's to report. */
    private readonly step: () => Promise<number>,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

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
    while (!this.stopped) {
      const waitMs = await this.step();
      if (this.stopped) break;
      if (waitMs <= 0) continue;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, waitMs);
        this.timer.unref();
      });
      this.wakeUp = undefined;
    }
  }
}
