/** Readiness helpers and draining on SIGTERM: readiness 503 at once, workers drain, the server closes. */
import { z } from 'zod';
import { ValidationError, coerceError } from '../kernel/errors.js';
import type { Disposer } from '../kernel/events.js';
import { parseOptions } from '../kernel/validate.js';
import type { Queue } from '../core/queue.js';
import type { Worker } from '../core/worker/worker.js';

const fn = <F>(what: string) => z.custom<F>((f) => typeof f === 'function', `expected ${what}`);

/**
 * A `ready` check that passes when every queue's store answers a status read: the usual meaning of
 * "able to take work". A throw (store down, closed) fails readiness with the error's message.
 */
export function storeReachable(...queues: Pick<Queue, 'status'>[]): () => Promise<boolean> {
  if (queues.length === 0 || queues.some((q) => typeof (q as Queue)?.status !== 'function')) {
    throw new ValidationError('[bulwark] [server] storeReachable expects one or more queues', {
      path: 'queues',
    });
  }
  return async () => {
    await Promise.all(queues.map((q) => q.status()));
    return true;
  };
}

export interface DrainOptions {
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: NodeJS.Signals[];
  /** Grace period given to each worker's close(), in ms. @default each worker's shutdownGraceMs */
  graceMs?: number;
  /** Close the server once the workers are closed. @default true */
  closeServer?: boolean;
  /** Called when draining is over (with the first error, if any). */
  onDrained?: (error?: Error) => void;
}

export interface Drain {
  /** Drains now, as the signal would: readiness 503, workers closed, then the server. Idempotent. */
  drain(): Promise<void>;
  /** Removes the signal listeners. */
  dispose: Disposer;
}

const zDrain = z
  .object({
    signals: z
      .array(z.string().regex(/^SIG[A-Z0-9]+$/))
      .min(1)
      .optional(),
    graceMs: z.number().int().nonnegative().optional(),
    closeServer: z.boolean().optional(),
    onDrained: fn<(error?: Error) => void>('a function').optional(),
  })
  .strict();

/**
 * On SIGTERM (or the given signals): `/readyz` turns 503 at once so the load balancer or Kubernetes
 * stops sending work, the workers stop claiming and finish their jobs, then the server closes.
 * `/livez` keeps answering 200 until then.
 */
export function drainOnSignal(
  workers: readonly Pick<Worker, 'close'>[],
  server: { setDraining(draining?: boolean): void; close?(): Promise<void> },
  options: DrainOptions = {},
): Drain {
  if (!Array.isArray(workers) || workers.some((w) => typeof (w as Worker)?.close !== 'function')) {
    throw new ValidationError('[bulwark] [server] drainOnSignal expects an array of workers', {
      path: 'workers',
    });
  }
  if (typeof server?.setDraining !== 'function') {
    throw new ValidationError('[bulwark] [server] drainOnSignal expects a health server or handler', {
      path: 'server',
    });
  }
  const o = parseOptions(zDrain, options, 'drain options');
  const signals = (o.signals ?? ['SIGTERM', 'SIGINT']) as NodeJS.Signals[];
  let draining: Promise<void> | undefined;
  const drain = (): Promise<void> =>
    (draining ??= (async () => {
      server.setDraining(true);
      const closeOptions = o.graceMs === undefined ? {} : { graceMs: o.graceMs };
      const results = await Promise.allSettled(workers.map((w) => w.close(closeOptions)));
      let error = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason as unknown;
      if (o.closeServer !== false && server.close) {
        try {
          await server.close();
        } catch (e) {
          error ??= e;
        }
      }
      o.onDrained?.(error === undefined ? undefined : coerceError(error));
    })());
  const onSignal = (): void => void drain();
  for (const s of signals) process.on(s, onSignal);
  return {
    drain,
    dispose: () => {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
