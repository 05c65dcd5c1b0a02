/** Pipelines on the embedded store: hand-off between stages, failures per stage, micro-batching. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Pipeline,
  StateError,
  TransientError,
  ValidationError,
  currentJob,
  sqliteStore,
  type Store,
} from '../../src/index.js';
import { waitFor } from '../helpers/wait.js';

let store: Store;
const pipelines: Pipeline<unknown, unknown>[] = [];
afterEach(async () => {
  await Promise.all(pipelines.map((p) => p.close({ graceMs: 0 })));
  pipelines.length = 0;
  await store?.close();
});

function make<T>(name = 'ingest'): Pipeline<T> {
  store = sqliteStore({ path: ':memory:' });
  const p = new Pipeline<T>(name, { store });
  pipelines.push(p as Pipeline<unknown, unknown>);
  return p;
}

describe('pipelines', () => {
  it('moves every job through its stages, keeping id and correlation id, and returns the last result', async () => {
    const seen: { stage: string | undefined; correlationId: string | undefined }[] = [];
    const p = make<string>()
      .stage('parse', (ctx) => {
        seen.push({ stage: currentJob()?.stage, correlationId: currentJob()?.correlationId });
        return ctx.payload.split(',').map(Number);
      })
      .stage('double', (ctx) => ctx.payload.map((n) => n * 2))
      .stage('sum', (ctx) => ctx.payload.reduce((a, b) => a + b, 0), { concurrency: 4 })
      .start();
    expect(p.stageNames).toEqual(['parse', 'double', 'sum']);
    for (let i = 0; i < 20; i++) await p.add(`${i},1,2`, { id: `doc-${i}`, correlationId: `corr-${i}` });
    await waitFor(
      async () => (await p.queue('sum').counts()).completed === 20,
      'all 20 through the last stage',
    );

    expect(await p.status('doc-7')).toEqual({ stage: 'sum', state: 'completed', result: (7 + 1 + 2) * 2 });
    // A stage hands off before its own completion is written: the middle stage catches up.
    const mid = await waitFor(async () => {
      const j = await p.queue('double').getJob('doc-7');
      return j?.state === 'completed' ? j : null;
    }, 'doc-7 completed in the middle stage');
    expect(mid).toMatchObject({ state: 'completed', correlationId: 'corr-7', payload: [7, 1, 2] });
    expect((await p.queue('sum').getJob('doc-7'))!.correlationId).toBe('corr-7');
    expect(seen.every((s) => s.stage === 'parse')).toBe(true);
    expect(seen.find((s) => s.correlationId === 'corr-3')).toBeTruthy();
    expect(await p.status('nope')).toBeNull();
  });

  it('applies each stage its own failure table: a retry stays in its stage, a bad input dead-letters there', async () => {
    let flaky = 0;
    const p = make<number>()
      .stage(
        'fetch',
        (ctx) => {
          if (ctx.payload === 1 && flaky++ === 0) throw new TransientError('connection reset');
          return ctx.payload;
        },
        { defaults: { backoff: { type: 'constant', delayMs: 10 } } },
      )
      .stage('check', (ctx) => {
        if (ctx.payload === 2) throw new ValidationError('not a valid document');
        return ctx.payload * 10;
      })
      .start();
    await p.addBulk([1, 2, 3].map((n) => ({ payload: n, options: { id: `n${n}` } })));
    await waitFor(async () => {
      const c = await p.queue('check').counts();
      return c.completed === 2 && c.dead === 1;
    }, 'the check stage to settle');
    expect(await p.status('n1')).toEqual({ stage: 'check', state: 'completed', result: 10 });
    expect(await p.status('n2')).toMatchObject({ stage: 'check', state: 'dead' });
    expect((await p.queue('fetch').getJob('n1'))!.attempts).toBe(2);
    expect(await p.queue('fetch').counts()).toMatchObject({ completed: 3, dead: 0 });
  });

  it('hands off idempotently: a job already in the next stage is not duplicated', async () => {
    const p = make<number>()
      .stage('a', (ctx) => ctx.payload + 1)
      .stage('b', (ctx) => ctx.payload);
    // As if an earlier attempt of stage a handed off, then crashed before completing.
    await p.queue('b').add(100, { id: 'x' });
    await p.add(1, { id: 'x' });
    p.start();
    await waitFor(async () => (await p.queue('b').counts()).completed === 1, 'stage b done');
    expect(await p.queue('b').counts()).toMatchObject({ completed: 1, waiting: 0 });
    expect(await p.status('x')).toEqual({ stage: 'b', state: 'completed', result: 100 });
  });

  it('micro-batches a stage: up to `size` items per call, each job gets its own output', async () => {
    const calls: number[][] = [];
    const p = make<number>()
      .batchStage(
        'embed',
        (items) => {
          calls.push([...items]);
          return items.map((n) => n * n);
        },
        { batch: { size: 5, waitMs: 20 } },
      )
      .start();
    await p.addBulk(Array.from({ length: 12 }, (_, i) => ({ payload: i, options: { id: `e${i}` } })));
    await waitFor(async () => (await p.queue('embed').counts()).completed === 12, 'all embedded');
    expect(calls.every((c) => c.length >= 1 && c.length <= 5)).toBe(true);
    expect(calls.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(calls.some((c) => c.length > 1)).toBe(true);
    for (let i = 0; i < 12; i++) expect((await p.status(`e${i}`))!.result).toBe(i * i);
  });

  it('fails every job of a batch whose handler returns the wrong number of outputs', async () => {
    const p = make<number>()
      .batchStage('bad', () => [1], { batch: { size: 3, waitMs: 10 } })
      .start();
    await p.addBulk([1, 2, 3].map((n) => ({ payload: n, options: { id: `b${n}`, maxAttempts: 1 } })));
    await waitFor(async () => (await p.queue('bad').counts()).dead === 3, 'all dead');
  });

  it('an item whose attempt times out while it waits leaves the batch and never reaches the handler', async () => {
    const calls: string[][] = [];
    const p = make<string>()
      .batchStage(
        'embed',
        (items) => {
          calls.push([...items]);
          return items;
        },
        { batch: { size: 3, waitMs: 10_000 } },
      )
      .start();
    await p.add('late', { id: 'late', timeoutMs: 30, maxAttempts: 1 });
    await waitFor(async () => (await p.queue('embed').counts()).dead === 1, 'timed out while waiting');
    await p.addBulk(['a', 'b', 'c'].map((x) => ({ payload: x, options: { id: x } })));
    await waitFor(async () => (await p.queue('embed').counts()).completed === 3, 'the full batch');
    expect(calls).toEqual([['a', 'b', 'c']]);
  });

  it('items waiting for a batch at shutdown go back and are not run', async () => {
    let calls = 0;
    const p = make<number>()
      .batchStage(
        'embed',
        (items) => {
          calls++;
          return items;
        },
        { batch: { size: 10, waitMs: 10_000 } },
      )
      .start();
    await p.addBulk([1, 2, 3].map((n) => ({ payload: n, options: { id: `w${n}` } })));
    await waitFor(() => p.worker('embed').busy === 3, 'three waiting in the batch');
    await p.close({ graceMs: 0 });
    expect(calls).toBe(0);
    const jobs = await p.queue('embed').list({ states: ['waiting'] });
    expect(jobs.map((j) => [j.attempts, j.errors.at(-1)?.action])).toEqual([
      [0, 'shutdown'],
      [0, 'shutdown'],
      [0, 'shutdown'],
    ]);
  });

  it('a batch handler fails single items with ctx.fail; the others keep their outputs', async () => {
    const p = make<number>()
      .batchStage(
        'check',
        (items, ctx) => {
          items.forEach((n, i) => {
            if (n < 0) ctx.fail(i, new ValidationError(`negative: ${n}`));
          });
          expect(() => ctx.fail(items.length, new Error('x'))).toThrow(ValidationError);
          return items.map((n) => n * 2);
        },
        { batch: { size: 3, waitMs: 50 } },
      )
      .start();
    await p.addBulk([1, -2, 3].map((n) => ({ payload: n, options: { id: `n${n}` } })));
    await waitFor(async () => {
      const c = await p.queue('check').counts();
      return c.completed + c.dead === 3;
    }, 'all settled');
    expect(await p.queue('check').counts()).toMatchObject({ completed: 2, dead: 1 });
    expect((await p.status('n1'))!.result).toBe(2);
    expect((await p.queue('check').getJob('n-2'))!.reason).toMatch(/negative: -2/);
  });

  it('rejects bad definitions with typed errors', async () => {
    const p = make<number>();
    await expect(p.add(1)).rejects.toThrow(StateError);
    expect(() => p.stage('bad name!', (c) => c.payload)).toThrow(ValidationError);
    expect(() => p.stage('ok', 42 as never)).toThrow(ValidationError);
    p.stage('ok', (c) => c.payload);
    expect(() => p.stage('ok', (c) => c.payload)).toThrow(ValidationError);
    expect(() => p.stage('conc', (c) => c.payload, { concurrency: -1 })).toThrow(ValidationError);
    expect(() => p.batchStage('batch', (i) => i, { batch: { size: 0, waitMs: 1 } })).toThrow(ValidationError);
    expect(() => new Pipeline('x y', { store })).toThrow(ValidationError);
    expect(() => p.queue('missing')).toThrow(ValidationError);
    expect(p.stageNames).toEqual(['ok']);
  });
});
