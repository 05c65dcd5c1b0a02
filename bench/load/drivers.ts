/**
 * What drives calls at the simulated dependency in the `load` bench. A driver runs closed-loop
 * callers for a while and reports the calls' latency (the call alone: time spent waiting for a
 * permit is the caller's, not the dependency's) and throughput over the measured part of the run.
 *
 * Today: `fixed(n)` (n callers, no limiter) and `adaptiveLoop()` (many callers through the adaptive
 * policy). A worker-driven variant (jobs on a SQLite queue, a Worker with
 * `concurrency: { adaptive }` whose handler makes the call) is one more `LoadDriver`: the runner
 * needs nothing else.
 */
import { performance } from 'node:perf_hooks';
import { adaptive, type AdaptiveOptions } from '../../src/resilience/index.js';
import { percentile } from '../lib.js';

export interface RunPlan {
  /** One call to the dependency. */
  call: () => Promise<void>;
  /** Run this long before measuring, in ms. */
  warmupMs: number;
  /** Then measure this long, in ms. */
  measureMs: number;
  /** Things to do at a time from the start of the run, in ms (e.g. lower the dependency's capacity). */
  schedule?: { atMs: number; run: () => Promise<void> | void }[];
}

/** A change of the adaptive limit, at a time from the start of the run. */
export interface LimitSample {
  atMs: number;
  limit: number;
  reason: string;
}

export interface RunResult {
  /** Calls completed in the measured part. */
  calls: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** The adaptive limit over the whole run (adaptive drivers only). */
  limits?: LimitSample[];
}

export interface LoadDriver {
  name: string;
  settings: string;
  run(plan: RunPlan): Promise<RunResult>;
}

/** Runs `callers` loops of `step` until the plan's time is up; `step` reports each call's latency. */
async function closedLoop(
  plan: RunPlan,
  callers: number,
  step: (record: (startedAt: number) => void) => Promise<void>,
): Promise<Omit<RunResult, 'limits'> & { startedAt: number }> {
  const startedAt = performance.now();
  const measureFrom = startedAt + plan.warmupMs;
  const end = measureFrom + plan.measureMs;
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  let errors = 0;
  const record = (t0: number): void => {
    const t1 = performance.now();
    if (t1 < measureFrom || t1 > end) return;
    if (n === latencies.length) {
      const grown = new Float64Array(n * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[n++] = t1 - t0;
  };
  const timers = (plan.schedule ?? []).map(({ atMs, run }) =>
    setTimeout(() => void Promise.resolve(run()).catch((e: unknown) => console.error(e)), atMs),
  );
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        try {
          await step(record);
        } catch {
          errors++;
        }
      }
    }),
  );
  for (const t of timers) clearTimeout(t);
  const sorted = latencies.subarray(0, n).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    startedAt,
    calls: n,
    errors,
    perSecond: (n / plan.measureMs) * 1000,
    p50Ms: percentile(sorted as unknown as number[], 50),
    p99Ms: percentile(sorted as unknown as number[], 99),
    meanMs: n > 0 ? sum / n : NaN,
  };
}

/** `concurrency` callers calling as fast as the dependency answers, with no limiter. */
export function fixed(concurrency: number): LoadDriver {
  return {
    name: `fixed ${concurrency}`,
    settings: `${concurrency} closed-loop callers, no limiter`,
    run: (plan) =>
      closedLoop(plan, concurrency, async (record) => {
        const t0 = performance.now();
        await plan.call();
        record(t0);
      }).then(({ startedAt: _, ...r }) => r),
  };
}

/** `callers` closed-loop callers, each call through one shared adaptive policy. */
export function adaptiveLoop(callers: number, options: AdaptiveOptions): LoadDriver {
  return {
    name: 'adaptive',
    settings: `${callers} closed-loop callers through adaptive(${JSON.stringify(options)})`,
    async run(plan) {
      const policy = adaptive(options);
      const t0 = performance.now();
      const limits: LimitSample[] = [{ atMs: 0, limit: policy.limit, reason: 'initial' }];
      const off = policy.on('limit', (e) =>
        limits.push({ atMs: performance.now() - t0, limit: e.to, reason: e.reason }),
      );
      const { startedAt: _, ...r } = await closedLoop(plan, callers, (record) =>
        policy.execute(async () => {
          const started = performance.now();
          await plan.call();
          record(started);
        }),
      );
      off();
      return { ...r, limits };
    },
  };
}
