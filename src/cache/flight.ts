/**
 * Single-flight bookkeeping: one load per key, shared by every caller that missed while it ran.
 * @internal
 */
export interface Flight<V> {
  promise: Promise<V>;
  readonly controller: AbortController;
  /** Callers waiting for the result; when the last one with a signal gives up, the load is abandoned. */
  waiters: number;
  /** A stale-while-revalidate refresh nobody waits for: it runs to completion. */
  readonly detached: boolean;
  /** Aborts the loader's signal and forgets the flight, so the next caller starts a fresh load. */
  readonly abandon: (reason: unknown) => void;
}

/** The flight's result as seen by one caller, who may stop waiting when `signal` aborts. */
export function waitFor<V>(flight: Flight<V>, signal: AbortSignal | undefined): Promise<V> {
  flight.waiters++;
  // A caller without a signal never leaves, so the load can never be abandoned: share the promise as is.
  if (signal === undefined) return flight.promise;
  return new Promise<V>((resolve, reject) => {
    const onAbort = (): void => {
      flight.waiters--;
      if (flight.waiters === 0 && !flight.detached) flight.abandon(signal.reason);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    flight.promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
