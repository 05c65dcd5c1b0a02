/**
 * The points where the runtime tells a tracer what it does: adding jobs (a producer span) and running
 * an attempt (a consumer span). Nothing is installed by default, and the runtime checks one variable:
 * tracing costs nothing until `enableTracing()` (bulwark/observe) installs a tracer here.
 */

/** A span the runtime ends when the work it covers is over. */
export interface TraceSpan {
  end(error?: unknown): void;
}

/** What the runtime knows of an attempt when it starts one. */
export interface TracedAttempt {
  queue: string;
  id: string;
  attempt: number;
  correlationId: string;
  /** The trace context the job was added under (W3C `traceparent`), if any. */
  traceparent: string | undefined;
}

export interface JobTracer {
  /**
   * Starts the span of an add of `count` jobs; `traceparent` is the context every added job carries,
   * so that its first attempt continues the trace.
   */
  send(
    queue: string,
    count: number,
    firstId: string,
  ): TraceSpan & {
    traceparent: string | undefined;
    /** Runs `fn` (the store's add) inside the span's context. */
    within<R>(fn: () => R): R;
  };
  /** Starts the span of an attempt and runs `fn` (the handler) inside its context. */
  process<R>(attempt: TracedAttempt, fn: () => R): { span: TraceSpan; result: R };
}

let current: JobTracer | undefined;

/** The installed tracer, or undefined: the runtime skips tracing entirely then. */
export function jobTracer(): JobTracer | undefined {
  return current;
}

/** Installs `tracer` (undefined removes it). Returns the one it replaced. */
export function setJobTracer(tracer: JobTracer | undefined): JobTracer | undefined {
  const before = current;
  current = tracer;
  return before;
}
