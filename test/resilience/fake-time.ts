/** A manual clock that also owns timers: `tick(ms)` moves time and fires what falls due, in order. */
import { ManualClock } from '../../src/kernel/clock.js';
import type { Timers } from '../../src/resilience/policy.js';

/** Lets every pending microtask (and promise chain) run. */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class FakeTime extends ManualClock implements Timers {
  private readonly timers = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now() + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in time order with microtasks flushed between. */
  async tick(ms: number): Promise<void> {
    await flush();
    const target = this.now() + ms;
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= target && (due === undefined || entry[1].at < due[1].at)) due = entry;
      }
      if (due === undefined) break;
      this.timers.delete(due[0]);
      if (due[1].at > this.now()) this.set(due[1].at);
      due[1].callback();
      await flush();
    }
    this.set(target);
    await flush();
  }
}
