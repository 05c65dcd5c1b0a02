/**
 * bulwark on Redis against BullMQ, its peer on Redis: same Redis, same no-op jobs, one run, a fresh
 * key prefix per system, every key deleted on teardown. BullMQ runs as its docs advise for throughput
 * (docs.bullmq.io: guide/workers/concurrency shows `concurrency: 50`; guide/queues/adding-bulks;
 * guide/queues/auto-removal-of-jobs), imported when measured.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { redisStore } from '../../src/store/redis/index.js';
import { REDIS_URL } from '../../test/helpers/services.js';
import { bulwarkTarget } from './sqlite.js';
import type { BenchTarget, QueueBenchSystem } from './types.js';

const URL = REDIS_URL;

/** A key prefix no other run uses (its keys are deleted on teardown). */
export const freshPrefix = (system: string): string =>
  `bwbench-${system}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function reachable(): Promise<boolean> {
  const r = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Deletes every key matching the patterns (SCAN + UNLINK). */
export async function deleteKeys(patterns: string[]): Promise<void> {
  const r = new Redis(URL);
  r.on('error', () => {});
  try {
    for (const pattern of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await r.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    r.disconnect();
  }
}

const connection = (): { host: string; port: number; maxRetriesPerRequest: null } => {
  const u = new globalThis.URL(URL);
  return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
};

export const systems: QueueBenchSystem[] = [
  {
    system: 'bulwark',
    package: 'bulwark',
    store: 'redis',
    settings:
      'redisStore (ioredis); addBulk ×1000 (one script each); claim batch = free slots; completes batched per event-loop turn',
    available: reachable,
    async setup() {
      const prefix = freshPrefix('bulwark');
      return bulwarkTarget(redisStore({ url: URL, prefix }), () =>
        deleteKeys([`{${prefix}:*`, `${prefix}:*`]),
      );
    },
  },
  {
    system: 'bullmq',
    package: 'bullmq',
    store: 'redis',
    settings:
      'addBulk ×1000 with removeOnComplete: true (and on add()); one Worker with concurrency = c; ioredis maxRetriesPerRequest: null (its production guide)',
    available: reachable,
    async setup() {
      const { Queue: BullQueue, Worker: BullWorker } = await import('bullmq');
      const prefix = freshPrefix('bullmq');
      const queue = new BullQueue('bench', { connection: connection(), prefix });
      const worker = (concurrency: number, fn: (data: unknown) => void) =>
        new BullWorker(
          'bench',
          async (job) => {
            fn(job.data);
          },
          { connection: connection(), prefix, concurrency },
        );
      return {
        async enqueue(n) {
          for (let i = 0; i < n; i += 1000) {
            await queue.addBulk(
              Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({
                name: 'job',
                data: i + k,
                opts: { removeOnComplete: true },
              })),
            );
          }
        },
        async process(n, concurrency) {
          let done = 0;
          let finish!: () => void;
          const all = new Promise<void>((r) => (finish = r));
          const w = worker(concurrency, () => {});
          w.on('completed', () => {
            if (++done === n) finish();
          });
          await all;
          await w.close();
        },
        async pickup(samples, concurrency) {
          const started = new Map<number, () => void>();
          const w = worker(concurrency, (data) => started.get(data as number)?.());
          await w.waitUntilReady();
          const out: number[] = [];
          for (let i = 0; i < samples; i++) {
            const seen = new Promise<void>((r) => started.set(i, r));
            const t0 = performance.now();
            await queue.add('job', i, { removeOnComplete: true });
            await seen;
            out.push(performance.now() - t0);
            await new Promise((r) => setTimeout(r, 2));
          }
          await w.close();
          return out;
        },
        async teardown() {
          await queue.close();
          await deleteKeys([`${prefix}:*`]);
        },
      } satisfies BenchTarget;
    },
  },
];
