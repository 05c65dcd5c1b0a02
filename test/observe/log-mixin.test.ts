/** The job's ids in the user's own pino logger: the mixin, the child-logger helper, the plain fields. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Queue, TransientError, ValidationError, Worker, sqliteStore } from '../../src/index.js';
import { jobScope } from '../../src/kernel/logger.js';
import { jobLogFields, jobLogger, jobMixin } from '../../src/observe/log.js';
import { waitFor } from '../helpers/wait.js';
import { capture } from './capture.js';

/** A module of the user's app with its own logger, far from any handler. */
function makeRepository(log: pino.Logger) {
  return {
    async save(doc: string): Promise<void> {
      await new Promise((r) => setTimeout(r, 1));
      await Promise.resolve();
      log.info({ doc }, 'saved');
    },
  };
}

describe("job ids in the user's own pino", () => {
  it('mixin: every line written deep inside a handler carries the job ids, across a retry', async () => {
    const out = capture();
    // The user's logger, made the way they always make it: only the mixin is bulwark's.
    const log = pino({ level: 'info', base: { app: 'ingest' }, mixin: jobMixin }, out.stream);
    const repo = makeRepository(log.child({ module: 'repo' }));
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue<string>('docs', { store });
    const w = new Worker(
      q,
      async (ctx) => {
        log.info({ step: 'start' }, 'handling');
        await repo.save(ctx.payload);
        if (ctx.attempt === 1) throw new TransientError('socket hang up');
      },
      { pollIntervalMs: 20 },
    );
    await q.add('a.pdf', { id: 'job-1', correlationId: 'req-7', backoff: { delayMs: 1, jitter: 'none' } });
    await waitFor(async () => (await q.counts()).completed === 1, 'job completed');
    await w.close();
    await store.close();
    log.info('after the job');

    const lines = out.lines();
    const saved = lines.filter((l) => l.msg === 'saved');
    expect(saved).toHaveLength(2);
    expect(saved.map((l) => l.attempt)).toEqual([1, 2]);
    for (const l of lines.filter((x) => x.msg !== 'after the job')) {
      expect(l, JSON.stringify(l)).toMatchObject({
        app: 'ingest',
        correlationId: 'req-7',
        jobId: 'job-1',
        queue: 'docs',
      });
    }
    expect(saved[0]).toMatchObject({ module: 'repo', doc: 'a.pdf' });
    const after = lines.find((l) => l.msg === 'after the job')!;
    expect(after).not.toHaveProperty('jobId');
    expect(after).not.toHaveProperty('correlationId');
  });

  it('leaves out keys the logger binds and lets fields given in the call win', () => {
    const out = capture();
    const log = pino({ mixin: jobMixin }, out.stream);
    jobScope.run({ jobId: 'j1', queue: 'etl', attempt: 2, correlationId: 'c1', stage: 'embed' }, () => {
      log.child({ queue: 'bound-queue' }).info('child');
      log.info({ attempt: 99 }, 'explicit');
    });
    const [child, explicit] = out.raw;
    expect(child!.split('"queue":').length - 1).toBe(1);
    expect(JSON.parse(child!)).toMatchObject({ queue: 'bound-queue', jobId: 'j1', stage: 'embed' });
    expect(JSON.parse(explicit!)).toMatchObject({ attempt: 99, jobId: 'j1', correlationId: 'c1' });
  });

  it('composes with a mixin of the user’s own', () => {
    const out = capture();
    const log = pino(
      { mixin: (o, level, logger) => ({ ...jobMixin(o, level, logger), region: 'eu' }) },
      out.stream,
    );
    jobScope.run({ jobId: 'j2', queue: 'q', attempt: 1, correlationId: 'c2' }, () => log.info('x'));
    expect(out.lines()[0]).toMatchObject({ region: 'eu', jobId: 'j2', correlationId: 'c2' });
    expect(out.lines()[0]).not.toHaveProperty('stage');
  });

  it('jobLogger: a child bound to the job for a logger without the mixin; the logger itself outside a job', async () => {
    const out = capture();
    const plain = pino({}, out.stream);
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue<string>('mail', { store });
    const w = new Worker(
      q,
      async () => {
        await Promise.resolve();
        jobLogger(plain).info('sending');
        plain.info(jobLogFields(), 'fields');
      },
      { pollIntervalMs: 20 },
    );
    await q.add('hi', { id: 'm-1', correlationId: 'r-1' });
    await waitFor(async () => (await q.counts()).completed === 1, 'mail sent');
    await w.close();
    await store.close();
    expect(jobLogger(plain)).toBe(plain);
    expect(jobLogFields()).toEqual({});
    const [sending, fields] = out.lines();
    expect(sending).toMatchObject({
      msg: 'sending',
      jobId: 'm-1',
      correlationId: 'r-1',
      queue: 'mail',
      attempt: 1,
    });
    expect(fields).toMatchObject({ msg: 'fields', jobId: 'm-1', correlationId: 'r-1' });
    expect(() => jobLogger({} as never)).toThrow(ValidationError);
  });
});
