import { AsyncLocalStorage } from 'node:async_hooks';

/** The logger shape bulwark calls; a pino logger satisfies it. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};
export const noopLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => noopLogger,
};

/** What is known about the job whose code is running now. */
export interface JobScope {
  jobId: string;
  queue: string;
  attempt: number;
  correlationId: string;
  stage?: string;
}

/** Carries the current job's scope through every await inside a handler. */
export const jobScope = new AsyncLocalStorage<JobScope>();

/** The scope of the job running in this async context, if any. */
export function currentJob(): JobScope | undefined {
  return jobScope.getStore();
}
