/** pino logs: job fields from AsyncLocalStorage on every line, across retries, redaction, no repeated keys. */
import { describe, expect, it } from 'vitest';
import { Pipeline, Queue, TransientError, ValidationError, Worker, sqliteStore } from '../../src/index.js';
import { jobScope } from '../../src/kernel/logger.js';
import { HealthMonitor } from '../../src/observe/health.js';
import { createLogger, logJobEvents } from '../../src/observe/log.js';
import { waitFor } from '../helpers/wait.js';
import { capture } from './capture.js';

/** Logs through the root logger from a helper far from the handler: no logger is passed down. */
async function deepHelper(log: ReturnType<typeof createLogger>, step: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 1));
  await Promise.resolve();
  log.info({ step }, 'deep inside the handler');
}

describe('structured logs', () => {
  it('every line of a job carries the same correlation id, through a retry and a follow-up job', async () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, level: 'debug' });
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue<string>('crawl', { store });
    const w = new Worker(
      q,
      async (ctx) => {
        ctx.log.info({ step: 'start' }, 'fetching');
        await deepHelper(log, `attempt ${ctx.attempt}`);
        if (ctx.payload === 'page' && ctx.attempt === 1) throw new TransientError('socket hang up');
        // A job added while this one runs inherits its correlation id.
        if (ctx.payload === 'page') await q.add('follow-up', { id: 'child' });
        ctx.log.info({ step: 'done' }, 'fetched');
      },
      { logger: log, pollIntervalMs: 20 },
    );
    const stop = logJobEvents(w, log);
    await q.add('page', { id: 'given', correlationId: 'req-42', backoff: { delayMs: 1, jitter: 'none' } });
    await q.add('other', { id: 'generated' });
    await waitFor(async () => (await q.counts()).completed === 3, 'three jobs completed');
    await w.close();
    stop();
    await store.close();

    const lines = out.lines();
    const ofJob = (id: string) => lines.filter((l) => l.jobId === id);

    const given = ofJob('given');
    // Two attempts × (start, deep, …) + the retry line + the completion line.
    expect(given.length).toBeGreaterThanOrEqual(7);
    expect(new Set(given.map((l) => l.attempt))).toEqual(new Set([1, 2]));
    for (const l of given)
      expect(l, JSON.stringify(l)).toMatchObject({ correlationId: 'req-42', queue: 'crawl' });
    expect(given.some((l) => l.msg === 'job failed, retrying' && l.category === 'transient')).toBe(true);
    expect(given.filter((l) => l.msg === 'deep inside the handler').map((l) => l.attempt)).toEqual([1, 2]);

    const child = ofJob('child');
    expect(child.length).toBeGreaterThanOrEqual(3);
    for (const l of child) expect(l.correlationId).toBe('req-42');

    const generated = ofJob('generated');
    expect(generated.length).toBeGreaterThanOrEqual(3);
    const id = generated[0]!.correlationId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    for (const l of generated) expect(l.correlationId).toBe(id);

    // The mixin never repeats a key the logger already binds. (ctx.log's child binds `queue` on top of
    // the worker's own `queue` binding: that repeat is core's, so `queue` is checked on the other lines.)
    for (const raw of out.raw) {
      const keys = ['"correlationId":', '"jobId":', '"attempt":'];
      if (!raw.includes('"workerId"')) keys.push('"queue":');
      for (const key of keys) expect(raw.split(key).length - 1, raw).toBeLessThanOrEqual(1);
    }
  });

  it('the correlation id follows a job through every stage of a pipeline, with the stage on each line', async () => {
    const out = capture();
    const log = createLogger({ destination: out.stream });
    const store = sqliteStore({ path: ':memory:' });
    const fast = { pollIntervalMs: 20, logger: log };
    let embedTries = 0;
    const p = new Pipeline<string>('ingest', { store, defaults: { backoff: { delayMs: 1, jitter: 'none' } } })
      .stage(
        'parse',
        async (ctx) => {
          await deepHelper(log, 'parse');
          return ctx.payload.toUpperCase();
        },
        fast,
      )
      .stage(
        'embed',
        async (ctx) => {
          await deepHelper(log, 'embed');
          if (++embedTries === 1) throw new TransientError('model busy');
          return ctx.payload.length;
        },
        fast,
      )
      .start();
    const monitor = new HealthMonitor();
    const offs = ['parse', 'embed'].map((s) => monitor.watch(p.worker(s), { name: `ingest/${s}` }));
    const stops = ['parse', 'embed'].map((s) => logJobEvents(p.worker(s), log));
    await p.add('doc', { id: 'doc-1', correlationId: 'upload-7' });
    await waitFor(
      async () =>
        (await p.status('doc-1'))?.state === 'completed' && (await p.status('doc-1'))?.stage === 'embed',
      'pipeline done',
    );
    await p.close();
    for (const off of [...offs, ...stops]) off();
    await store.close();

    const lines = out.lines().filter((l) => l.jobId === 'doc-1');
    const stages = lines
      .filter((l) => l.msg === 'deep inside the handler')
      .map((l) => `${String(l.stage)}#${String(l.attempt)}`);
    expect(stages).toEqual(['parse#1', 'embed#1', 'embed#2']);
    expect(lines.some((l) => l.msg === 'job failed, retrying')).toBe(true);
    for (const l of lines) expect(l.correlationId, JSON.stringify(l)).toBe('upload-7');
    expect(monitor.processor('ingest/parse').health().totals).toEqual({
      calls: 1,
      successes: 1,
      failures: 0,
    });
    expect(monitor.processor('ingest/embed').health().totals).toEqual({
      calls: 2,
      successes: 1,
      failures: 1,
    });
  });

  it('adds the stage when the scope has one, and nothing outside a job', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream });
    log.info('outside');
    jobScope.run({ jobId: 'j1', queue: 'etl', attempt: 3, correlationId: 'c1', stage: 'embed' }, () =>
      log.child({ component: 'embedder' }).info('inside'),
    );
    const [outside, inside] = out.lines();
    expect(outside).not.toHaveProperty('jobId');
    expect(outside).not.toHaveProperty('correlationId');
    expect(inside).toMatchObject({
      component: 'embedder',
      jobId: 'j1',
      queue: 'etl',
      attempt: 3,
      correlationId: 'c1',
      stage: 'embed',
      msg: 'inside',
    });
  });

  it('redacts configured paths', () => {
    const out = capture();
    const log = createLogger({
      destination: out.stream,
      redact: ['payload.password', 'headers.authorization'],
    });
    log.info(
      { payload: { user: 'ann', password: 'hunter2' }, headers: { authorization: 'Bearer x' } },
      'login',
    );
    const [line] = out.lines();
    expect(line).toMatchObject({
      payload: { user: 'ann', password: '[Redacted]' },
      headers: { authorization: '[Redacted]' },
    });
    expect(out.raw[0]).not.toContain('hunter2');
  });

  it('rejects bad options with a ValidationError', () => {
    expect(() => createLogger({ level: 'loud' as never })).toThrow(ValidationError);
    expect(() => createLogger({ destination: {} as never })).toThrow(ValidationError);
    expect(() => createLogger({ redact: [''] })).toThrow(ValidationError);
    expect(() => logJobEvents({} as never, createLogger({ destination: capture().stream }))).toThrow(
      ValidationError,
    );
  });
});
