/** concurrency: { adaptive }: the worker's limit follows the jobs' latency and congestion errors. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Queue,
  ResourceError,
  ValidationError,
  Worker,
  sqliteStore,
  type Store,
} from '../../../src/index.js';
import { createRegistry } from '../../../src/resilience/index.js';
import { waitFor } from '../../helpers/wait.js';

let store: Store;
afterEach(async () => {
  await store?.close();
});

describe('adaptive worker concurrency', () => {
  it('never runs more jobs than its limit, which grows while latency stays flat', async () => {
    store = sqliteStore({ path: ':memory:' });
    const queue = new Queue<number>('adaptive', { store });
    await queue.addBulk(Array.from({ length: 600 }, (_, i) => ({ payload: i })));
    let running = 0;
    let over = 0;
    const limits: number[] = [];
    const worker = new Worker(
      queue,
      async () => {
        running++;
        if (running > worker.limiter!.limit) over++;
        await new Promise((r) => setTimeout(r, 2));
        running--;
      },
      { concurrency: { adaptive: { min: 1, max: 32, initial: 2, minWindowCalls: 5 } } },
    );
    worker.limiter!.on('limit', (e) => limits.push(e.to));
    await waitFor(async () => (await queue.counts()).completed === 600, 'all done', 30_000);
    await worker.close();
    expect(over).toBe(0);
    expect(Math.max(...limits)).toBeGreaterThan(2);
    expect(worker.limiter!.limit).toBeLessThanOrEqual(32);
  });

  it('congestion errors (resource) lower the limit; validation errors do not', async () => {
    store = sqliteStore({ path: ':memory:' });
    const queue = new Queue<string>('congested', { store });
    const congested = new Worker(queue, () => Promise.reject(new ResourceError('pool exhausted')), {
      concurrency: { adaptive: { min: 1, max: 16, initial: 8, minWindowCalls: 5 } },
      autostart: false,
    });
    const before = congested.limiter!.limit;
    await queue.addBulk(Array.from({ length: 40 }, () => ({ payload: 'x', options: { maxAttempts: 1 } })));
    congested.start();
    await waitFor(async () => (await queue.counts()).dead === 40, 'all dead');
    await congested.close();
    expect(congested.limiter!.limit).toBeLessThan(before);

    const q2 = new Queue<string>('invalid', { store });
    const invalid = new Worker(q2, () => Promise.reject(new ValidationError('bad')), {
      concurrency: { adaptive: { min: 1, max: 16, initial: 8, minWindowCalls: 5 } },
    });
    await q2.addBulk(Array.from({ length: 40 }, () => ({ payload: 'x' })));
    await waitFor(async () => (await q2.counts()).dead === 40, 'all dead');
    await invalid.close();
    expect(invalid.limiter!.limit).toBeGreaterThanOrEqual(8);
  });

  it('starts no more jobs than a declared dependency has permits free', async () => {
    store = sqliteStore({ path: ':memory:' });
    const queue = new Queue<number>('deps', { store });
    const registry = createRegistry();
    const api = registry.define('api', { adaptive: { min: 2, max: 2, initial: 2 } });
    await queue.addBulk(Array.from({ length: 30 }, (_, i) => ({ payload: i })));
    let running = 0;
    let most = 0;
    const worker = new Worker(
      queue,
      (ctx) =>
        ctx.dependency('api').execute(async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 3));
          running--;
        }),
      { concurrency: 10, dependencies: ['api'], registry },
    );
    let waitingInLine = 0;
    const off = setInterval(() => (waitingInLine = Math.max(waitingInLine, api.limiter!.queued)), 1);
    await waitFor(async () => (await queue.counts()).completed === 30, 'all done');
    clearInterval(off);
    await worker.close();
    expect(most).toBeLessThanOrEqual(2);
    // The worker held jobs back instead of starting ten that would wait in the dependency's line.
    expect(waitingInLine).toBeLessThanOrEqual(2);
  });

  it('refuses a bad adaptive option with a ValidationError', () => {
    store = sqliteStore({ path: ':memory:' });
    const queue = new Queue('bad', { store });
    expect(
      () => new Worker(queue, () => {}, { concurrency: { adaptive: {} } as never, autostart: false }),
    ).toThrow(ValidationError);
    expect(
      () => new Worker(queue, () => {}, { concurrency: { adaptive: { max: 0 } }, autostart: false }),
    ).toThrow(ValidationError);
    expect(
      () => new Worker(queue, () => {}, { concurrency: { adaptive: { max: 4, min: 8 } }, autostart: false }),
    ).toThrow(ValidationError);
  });
});
