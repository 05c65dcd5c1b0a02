/**
 * `ctx.progress(value)`: a number or small JSON value, saved under the attempt's lease like a
 * checkpoint. A handler may report progress in a tight loop; while one write is in flight the newer
 * values wait, and only the newest is written next (every caller's promise settles with that write).
 */
import { toJsonText } from '../../kernel/validate.js';

/** The largest progress value accepted, in bytes of JSON: progress is a status, not a result. */
export const PROGRESS_MAX_BYTES = 65_536;

export class ProgressWriter {
  private inFlight: Promise<void> | undefined;
  private next: { value: unknown; done: Promise<void> } | undefined;

  constructor(private readonly save: (value: unknown) => Promise<void>) {}

  write(value: unknown): Promise<void> {
    try {
      toJsonText(value, 'progress', PROGRESS_MAX_BYTES);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!this.inFlight) return this.start(value);
    if (this.next) {
      this.next.value = value;
      return this.next.done;
    }
    const queued = { value, done: Promise.resolve() };
    queued.done = this.inFlight.then(
      () => this.start(queued.value),
      () => this.start(queued.value),
    );
    this.next = queued;
    return queued.done;
  }

  private start(value: unknown): Promise<void> {
    this.next = undefined;
    const write = this.save(value);
    const tracked = write.finally(() => {
      if (this.inFlight === tracked) this.inFlight = undefined;
    });
    // The caller handles the write's rejection; the tracker must not be reported as unhandled.
    tracked.catch(() => undefined);
    this.inFlight = tracked;
    return write;
  }
}
