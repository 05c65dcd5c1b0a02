/**
 * The worker and its dependencies: a dependency that refuses calls stops claiming, claiming resumes
 * when it takes calls again, the handler reaches dependencies through ctx.dependency, and every
 * failure reaches the analytics recorder. (The breaker-driven version is in test/resilience.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DependencyError,
  Queue,
  StateError,
  ValidationError,
  Worker,
  sqliteStore,
  type FailureRecord,
  type Store,
} from '../../../src/index.js';
import { waitFor } from '../../helpers/wait.js';

/** A dependency whose availability the test sets by hand. */
class Gate {
  waitMs = 0;
  calls = 0;
  availableInMs(): number {
    return this.waitMs;
  }
  async call<T>(fn: () => T): Promise<T> {
    this.calls++;
    return fn();
  }
}

let store: Store;
const workers: Worker<unknown>[] = [];
afterEach(async () => {
  await Promise.all(workers.map((w) => w.close({ graceMs: 0 })));
  workers.length = 0;
  await store?.close();
});

function setup() {
  store = sqliteStore({ path: ':memory:' });
  const queue = new Queue<number>('deps', { store });
  const gate = new Gate();
  const registry = {
    get(name: string) {
      if (name !== 'api') throw new Error(`no dependency ${name}`);
      return gate;
    },
  };
  return { queue, gate, registry };
}

describe('worker dependencies', () => {
  it('claims nothing while a declared dependency refuses calls, and resumes when it takes them', async () => {
    const { queue, gate, registry } = setup();
    gate.waitMs = 60_000;
    await queue.add(1, { id: 'j1' });
    const worker = new Worker(queue, (ctx) => ctx.dependency<Gate>('api').call(() => ctx.payload * 2), {
      dependencies: ['api'],
      registry,
      pollIntervalMs: 20,
    });
    workers.push(worker as Worker<unknown>);
    const blocked = await worker.next('worker:blocked');
    expect(blocked).toEqual({ dependency: 'api', forMs: 60_000 });
    // The loop keeps checking (every poll) and still claims nothing.
    await waitFor(() => worker.isRunning, 'running');
    expect(await queue.counts()).toMatchObject({ waiting: 1, active: 0 });
    expect(gate.calls).toBe(0);

    const unblocked = worker.next('worker:unblocked');
    const done = worker.next('job:completed');
    gate.waitMs = 0;
    expect((await done).result).toBe(2);
    expect((await unblocked).blockedMs).toBeGreaterThanOrEqual(0);
    expect(gate.calls).toBe(1);
  });

  it('records every failure with its category and dependency', async () => {
    const { queue, registry } = setup();
    const seen: FailureRecord[] = [];
    await queue.add(1, { id: 'j1', maxAttempts: 1 });
    const worker = new Worker(
      queue,
      () => {
        throw new DependencyError('smtp is down', { dependency: 'smtp', retryAfterMs: 50 });
      },
      { registry, analytics: { record: (f) => seen.push(f) }, pollIntervalMs: 20, maxSnoozes: 1 },
    );
    workers.push(worker as Worker<unknown>);
    await worker.next('job:dead');
    expect(seen.length).toBe(2);
    expect(seen[0]).toMatchObject({ queue: 'deps', dependency: 'smtp', category: 'dependency' });
    expect(seen[0]!.error).toBeInstanceOf(DependencyError);
  });

  it('rejects a dependency missing from the registry, or declared without a registry', () => {
    const { queue, registry } = setup();
    expect(() => new Worker(queue, () => 1, { dependencies: ['nope'], registry, autostart: false })).toThrow(
      ValidationError,
    );
    expect(() => new Worker(queue, () => 1, { dependencies: ['api'], autostart: false })).toThrow(
      ValidationError,
    );
  });

  it('ctx.dependency without a registry is a StateError that dead-letters nothing by surprise', async () => {
    const { queue } = setup();
    await queue.add(1, { id: 'j1', maxAttempts: 1 });
    const worker = new Worker(queue, (ctx) => ctx.dependency('api'), { pollIntervalMs: 20 });
    workers.push(worker as Worker<unknown>);
    const failed = await Promise.race([worker.next('job:dead'), worker.next('job:retrying')]);
    expect(failed.error).toBeInstanceOf(StateError);
  });
});
