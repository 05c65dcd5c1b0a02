/**
 * The worker-driven variant of the load bench: jobs on an in-memory SQLite queue, a Worker whose
 * handler makes the call to the simulated dependency, with a fixed concurrency or
 * `concurrency: { adaptive }`. Throughput is jobs completed per second over the measured part.
 */
import { performance } from 'node:perf_hooks';
import { Queue, Worker, sqliteStore } from '../../src/index.js';
import { percentile } from '../lib.js';
import type { LimitSample, LoadDriver, RunPlan, RunResult } from './drivers.js';

const REFILL = 2000;

export function workerDriver(concurrency: number | { min: number; max: number }): LoadDriver {
  const adaptive = typeof concurrency !== 'number';
  return {
    name: adaptive ? 'worker adaptive' : `worker fixed ${concurrency}`,
    settings: adaptive
      ? `SQLite :memory: queue, Worker concurrency { adaptive: ${JSON.stringify(concurrency)} }, handler = one call`
      : `SQLite :memory: queue, Worker concurrency ${concurrency}, handler = one call`,
    async run(plan: RunPlan): Promise<RunResult> {
      const store = sqliteStore({ path: ':memory:' });
      const queue = new Queue<number>('load', { store });
      const fill = () => queue.addBulk(Array.from({ length: REFILL }, (_, i) => ({ payload: i })));
      await fill();
      const startedAt = performance.now();
      const measureFrom = startedAt + plan.warmupMs;
      const end = measureFrom + plan.measureMs;
      const latencies: number[] = [];
      let errors = 0;
      const worker = new Worker(
        queue,
        async () => {
          const t0 = performance.now();
          try {
            await plan.call();
          } catch (e) {
            errors++;
            throw e;
          }
          const t1 = performance.now();
          if (t1 >= measureFrom && t1 <= end) latencies.push(t1 - t0);
        },
        {
          concurrency: adaptive ? { adaptive: concurrency } : concurrency,
          retention: false,
          maxSnoozes: 1_000_000,
          pollIntervalMs: 50,
        },
      );
      const limits: LimitSample[] = [];
      if (worker.limiter) {
        limits.push({ atMs: 0, limit: worker.limiter.limit, reason: 'initial' });
        worker.limiter.on('limit', (e) =>
          limits.push({ atMs: performance.now() - startedAt, limit: e.to, reason: e.reason }),
        );
      }
      const timers = (plan.schedule ?? []).map(({ atMs, run }) => setTimeout(() => void run(), atMs));
      // Keep the queue from running dry.
      while (performance.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        if ((await queue.counts()).waiting < REFILL / 2) await fill();
      }
      for (const t of timers) clearTimeout(t);
      await worker.close({ graceMs: 1000 });
      await store.close();
      const sorted = latencies.sort((a, b) => a - b);
      const n = sorted.length;
      return {
        calls: n,
        errors,
        perSecond: (n / plan.measureMs) * 1000,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        meanMs: n > 0 ? sorted.reduce((a, b) => a + b, 0) / n : NaN,
        ...(adaptive ? { limits } : {}),
      };
    },
  };
}
