/**
 * A real three-node Redis Cluster of the test's own: queues on different slots, every script's keys
 * in one slot, scripts loaded per node on first use (NOSCRIPT), wake-ups through a Cluster duplicate.
 */
import { spawnSync } from 'node:child_process';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../../src/index.js';
import { redisStore, type RedisStore } from '../../../src/store/redis/index.js';
import { waitFor } from '../../helpers/wait.js';
import { hasRedisServer, ownRedis, type OwnRedis } from '../../helpers/redis-server.js';

// Below 55535: a cluster node also listens on its port + 10000.
const PORTS = [47001, 47002, 47003];

describe.skipIf(!hasRedisServer())('redis store on a Redis Cluster', () => {
  const nodes: OwnRedis[] = [];
  let client: Cluster;
  let store: RedisStore;

  beforeAll(async () => {
    for (const port of PORTS) {
      nodes.push(
        await ownRedis(port, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`]),
      );
    }
    const made = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...PORTS.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`cluster create failed: ${made.stderr || made.stdout}`);
    await waitFor(() => {
      const info = spawnSync('redis-cli', ['-p', String(PORTS[0]), 'cluster', 'info'], { encoding: 'utf8' });
      return info.stdout.includes('cluster_state:ok');
    }, 'cluster_state:ok');
    client = new Cluster(PORTS.map((port) => ({ host: '127.0.0.1', port })));
    store = redisStore({ client, prefix: 'cl' });
    await store.init();
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    client?.disconnect();
    for (const n of nodes) await n.destroy();
  });

  it('runs queues on several slots end to end, with wake-ups', async () => {
    const names = ['alpha', 'beta', 'gamma', 'delta'];
    const queues = names.map((n) => new Queue<number>(n, { store }));
    const done = new Map<string, number>();
    const workers = queues.map(
      (q) =>
        new Worker(q, (ctx) => ctx.payload * 2, {
          concurrency: 4,
          pollIntervalMs: 60_000, // only wake-ups (local and from the marker list) start work
          retention: false,
        }),
    );
    for (const w of workers)
      w.on('job:completed', ({ job }) => done.set(job.queue, (done.get(job.queue) ?? 0) + 1));
    try {
      // Another store on its own Cluster connection adds, so the workers' own process is not told locally.
      const other = new Cluster(PORTS.map((port) => ({ host: '127.0.0.1', port })));
      const adder = redisStore({ client: other, prefix: 'cl' });
      try {
        for (const n of names) {
          await new Queue<number>(n, { store: adder }).addBulk(
            Array.from({ length: 20 }, (_, i) => ({ payload: i, options: { id: `${n}-${i}` } })),
          );
        }
      } finally {
        await adder.close();
        other.disconnect();
      }
      await waitFor(() => names.every((n) => done.get(n) === 20), 'every queue done');
      for (const q of queues) {
        expect(await q.counts()).toMatchObject({ completed: 20, waiting: 0, active: 0 });
        expect((await q.getJob(`${q.name}-7`))!.result).toBe(14);
      }
      expect(await store.queues()).toEqual([...names].sort());
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    // The queues really live on different nodes of the cluster.
    const nodeOf = (queue: string): string => {
      const slot = spawnSync(
        'redis-cli',
        ['-p', String(PORTS[0]), 'cluster', 'keyslot', `{cl:${queue}}:wait`],
        {
          encoding: 'utf8',
        },
      ).stdout.trim();
      return client.slots[Number(slot)]![0]!;
    };
    expect(new Set(names.map(nodeOf)).size).toBeGreaterThan(1);
  });
});
