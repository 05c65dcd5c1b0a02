/**
 * Redis restarts mid-run (persistence on): workers reconnect and resume, and every job still ends
 * completed or dead-lettered, none lost and none duplicated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../../src/index.js';
import { redisStore, type RedisStore } from '../../../src/store/redis/index.js';
import { waitFor, sleep } from '../../helpers/wait.js';
import { hasRedisServer, ownRedis, type OwnRedis } from '../../helpers/redis-server.js';

const JOBS = 2000;

describe.skipIf(!hasRedisServer())('redis store: server restart (appendonly, fsync always)', () => {
  let server: OwnRedis;
  let store: RedisStore;

  beforeAll(async () => {
    server = await ownRedis(undefined, ['--appendonly', 'yes', '--appendfsync', 'always']);
    store = redisStore({ url: server.url, prefix: 'restart' });
    await store.init();
  });
  afterAll(async () => {
    await store?.close();
    await server?.destroy();
  });

  it('resumes claiming after a restart and settles every job', async () => {
    const queue = new Queue<number>('restart', { store });
    for (let i = 0; i < JOBS; i += 500) {
      await queue.addBulk(
        Array.from({ length: 500 }, (_, k) => ({
          payload: i + k,
          options: { id: `job-${i + k}`, maxAttempts: 5 },
        })),
      );
    }
    const runId = async (): Promise<string> => /run_id:(\w+)/.exec(await store.client.info('server'))![1]!;
    const firstRun = await runId();
    let settledBeforeStop = 0;
    const worker = new Worker(
      queue,
      async () => {
        await sleep(1 + Math.random() * 2);
        return 'ok';
      },
      {
        concurrency: 8,
        leaseMs: 1000,
        heartbeatMs: 250,
        reapIntervalMs: 200,
        pollIntervalMs: 50,
        retention: false,
      },
    );
    try {
      await waitFor(async () => (await queue.counts()).completed >= 400, '400 completed', 60_000);

      const c = await queue.counts();
      settledBeforeStop = c.completed + c.dead;
      await server.stop('SIGTERM');
      await sleep(300);
      await server.start();

      await waitFor(
        async () => {
          const c = await queue.counts();
          return c.completed + c.dead === JOBS && c.active === 0;
        },
        'every job settled after the restart',
        90_000,
      );
    } finally {
      await worker.close();
    }

    const counts = await queue.counts();
    expect(counts.completed + counts.dead).toBe(JOBS);
    expect(counts.waiting + counts.delayed + counts.active + counts.cancelled).toBe(0);
    const jobs = await queue.list({ limit: 10_000, order: 'asc' });
    expect(jobs).toHaveLength(JOBS);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(JOBS);
    for (const j of jobs) expect(['completed', 'dead']).toContain(j.state);
    // The restart happened mid-run, and it was a new server process that finished the work.
    expect(settledBeforeStop).toBeLessThan(JOBS);
    expect(await runId()).not.toBe(firstRun);
  }, 180_000);
});
