/**
 * The faults the property tests found, each as its shrunk counterexample, on every store: each of
 * these failed before its fix in src/.
 */
import { describe, expect, it } from 'vitest';
import { AuthError, Pipeline, Queue, TransientError, Worker, type Store } from '../../src/index.js';
import { startServer } from '../../src/server/index.js';
import { storeCases } from '../dashboard/stores.js';
import { Driver, expectInputError, fingerprint, isStorable, printable, driveStore } from './harness.js';

const cases = await storeCases('prop-regress');

/** An object whose enumerable property `a` throws when read (printable by fast-check). */
const throwingGetter = (): object =>
  printable(
    Object.defineProperty({}, 'a', {
      enumerable: true,
      get() {
        throw new Error('hostile getter');
      },
    }),
    '<hostile getter>',
  );

describe.each(cases)('regressions on $name', (c) => {
  let store: Store;
  let driver: Driver;
  let n = 0;
  const queue = (): Queue => new Queue(`regress${n++}`, { store });

  driveStore(
    c,
    'regress-driven',
    { defaults: { maxAttempts: 2, backoff: { type: 'constant', delayMs: 0 } } },
    (s, d) => {
      store = s;
      driver = d;
    },
  );

  it.skipIf(!c.available)(
    'a payload or options object whose getter throws is a ValidationError, not the raw error',
    async () => {
      const q = queue();
      const before = await fingerprint(store, q.name);
      // Shrunk: [{"wrapped":<hostile getter>,"n":1},null]
      const e1 = await q.add({ wrapped: throwingGetter(), n: 1 }).catch((e: unknown) => e);
      expectInputError(e1);
      expect((e1 as { path: string }).path).toBe('payload.wrapped');
      const e2 = await q.add(1, throwingGetter() as never).catch((e: unknown) => e);
      expectInputError(e2);
      const e3 = await q.list(throwingGetter() as never).catch((e: unknown) => e);
      expectInputError(e3);
      expect(await fingerprint(store, q.name)).toBe(before);
    },
  );

  it.skipIf(!c.available)(
    'metadata is a plain record: a toJSON of its own is refused, a __proto__ key is kept',
    async () => {
      const q = queue();
      // Shrunk: [{"k":"leaf"},{"toJSON":() => 1}]: it was stored as the metadata `1`.
      const e = await q.add({ k: 'leaf' }, { metadata: { toJSON: () => 1 } }).catch((x: unknown) => x);
      expectInputError(e);
      expect(await q.size()).toBe(0);
      // A `__proto__` key (JSON.parse makes one) was dropped by a copy of the record.
      const metadata = JSON.parse('{"__proto__":{"x":1},"a":2}') as Record<string, unknown>;
      await q.add(1, { id: 'proto', metadata });
      expect(Object.keys((await q.getJob('proto'))!.metadata)).toEqual(['__proto__', 'a']);
      expect((await q.getJob('proto'))!.metadata).toEqual(JSON.parse(JSON.stringify(metadata)));
      // The same for the metadata of a schedule's jobs.
      const refused = await q
        .schedule('s', { cron: '0 0 1 1 *', options: { metadata: { toJSON: () => 1 } } })
        .catch((x: unknown) => x);
      expectInputError(refused);
      const info = await q.schedule('s', { cron: '0 0 1 1 *', options: { metadata } });
      expect(Object.keys(info.options.metadata!)).toEqual(['__proto__', 'a']);
    },
  );

  it.skipIf(!c.available)(
    'a thrown value whose message getter throws still settles its job (no unhandled rejection)',
    async () => {
      // Shrunk: {"end":{"throws":<an Error whose message getter throws>}}: the job stayed active.
      const hostile = printable(
        Object.defineProperty(new Error('hostile'), 'message', {
          get() {
            throw new Error('hostile message getter');
          },
        }),
        '<an Error whose message getter throws>',
      );
      driver.plan('hostile-throw', (_ctx, call) => {
        if (call === 1) throw hostile;
        return 'second';
      });
      await driver.queue.add(null, { id: 'hostile-throw' });
      const done = (await driver.final('hostile-throw'))!;
      expect(done.state).toBe('completed');
      expect(done.errors[0]!.message).toMatch(/threw a value that cannot be read: hostile message getter/);
    },
  );

  it.skipIf(!c.available)(
    'an error message cut at 2000 characters never splits a surrogate pair (records, reasons, pauses)',
    async () => {
      // Shrunk: {"end":{"throws":new Error("x😀😀…")}}: SQLite and Redis kept a mangled message,
      // Postgres refused the error history (invalid jsonb) and the job stayed active for ever.
      const message = `x${'😀'.repeat(1000)}`;
      driver.plan('split-pair', (_ctx, call) => {
        if (call === 1) throw new Error(message);
        return 'second';
      });
      await driver.queue.add(null, { id: 'split-pair', maxAttempts: 1 });
      const dead = (await driver.final('split-pair'))!;
      expect(dead.state).toBe('dead');
      const record = dead.errors.at(-1)!;
      expect(isStorable(record.message)).toBe(true);
      expect(record.message).toBe(`x${'😀'.repeat(999)}…`);
      expect(isStorable(dead.reason!)).toBe(true);
      const emitted = driver.emitted.get('split-pair')!.at(-1)!;
      expect(dead.errors).toContainEqual(emitted.job.errors.at(-1));

      // An auth error's pause reason is cut the same way: the pause used to be refused, and the job
      // went back and forth between the queue and the handler without end.
      const q = queue();
      await q.add(1, { id: 'auth' });
      let calls = 0;
      const w = new Worker(
        q,
        () => {
          calls++;
          throw new AuthError(message);
        },
        { pollIntervalMs: 20, retention: false },
      );
      try {
        await w.next('queue:paused');
        const status = await q.status();
        expect(status.paused).toBe(true);
        expect(isStorable(status.pauseReason!)).toBe(true);
        expect(calls).toBe(1);
      } finally {
        await w.close({ graceMs: 0 });
      }
    },
  );

  it.skipIf(!c.available)(
    "text no store keeps exactly is refused the same way by dependencies() and the name of a schedule's jobs",
    async () => {
      const q = queue();
      const before = await fingerprint(store, q.name);
      // Shrunk: ["dependencies of an id", "\ud800"]: accepted (on Postgres it read the jobs of
      // "\ufffd" instead, and "\0" was a StoreError from the driver).
      for (const id of ['\ud800', 'nul\0'])
        expectInputError(await q.dependencies(id).catch((e: unknown) => e));
      // Shrunk: ["the name of the jobs a schedule adds", "\ud800"]: the schedule was saved, and every
      // tick then failed to add its job (a ValidationError at each fire, nothing ever ran).
      for (const name of ['\ud800', 'nul\0']) {
        const e = await q.schedule('k', { cron: '0 0 1 1 *', options: { name } }).catch((x: unknown) => x);
        expectInputError(e);
      }
      expect(await fingerprint(store, q.name)).toBe(before);
    },
  );

  it.skipIf(!c.available)('a job with a group runs on a queue without the groups option', async () => {
    // Shrunk: ["job name, correlation id and group", "\u{10000}"]: on Redis a new grouped job waits
    // in the group claim's set, which only a queue with `groups` claims from: it stayed waiting.
    const q = queue();
    await q.add('grouped', { id: 'g', group: '\u{10000}' });
    await q.add('plain', { id: 'p' });
    const w = new Worker(q, (ctx) => ctx.job.group, { pollIntervalMs: 20, retention: false });
    try {
      for (let i = 0; i < 250 && (await q.counts()).completed < 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await q.getJob('g'))!).toMatchObject({ state: 'completed', result: '\u{10000}' });
      expect((await q.getJob('p'))!.state).toBe('completed');
    } finally {
      await w.close({ graceMs: 0 });
    }
  });

  it.skipIf(!c.available)(
    'option objects taken apart before parsing (dlq.list, pipeline stages, spawned children) refuse a throwing getter',
    async () => {
      const q = queue();
      // Shrunk: [["dlq.list", <hostile getter>]]
      expectInputError(await q.dlq.list(throwingGetter() as never).catch((e: unknown) => e));
      // Shrunk: [<hostile getter>, false, [], undefined] and [{"defaults": <hostile getter>}, false, [], {}]
      const p = (): Pipeline<unknown> => new Pipeline(`regress-p${n++}`, { store });
      const stage = (options: unknown) => () => p().stage('s', () => 1, options as never);
      const batch = (options: unknown) => () => p().batchStage('s', (xs) => xs, options as never);
      for (const build of [
        stage(throwingGetter()),
        stage({ defaults: throwingGetter() }),
        stage({ defaults: 5 }),
        batch(throwingGetter()),
      ]) {
        expectInputError(
          await Promise.resolve()
            .then(build)
            .catch((e: unknown) => e),
        );
      }
      // Shrunk: [null, false, [{"payload": {}, "options": <hostile getter>}], {}]
      let spawned: unknown;
      driver.plan('spawner', async (ctx) => {
        spawned = await ctx
          .spawn([{ payload: {}, options: throwingGetter() as never }])
          .catch((e: unknown) => e);
        return 'parent';
      });
      await driver.queue.add(null, { id: 'spawner' });
      expect((await driver.final('spawner'))!.state).toBe('completed');
      expectInputError(spawned);
      expect(await driver.queue.getJob('spawner:0')).toBeNull();
    },
  );

  it.skipIf(!c.available)('a run time is at most the end of year 9999, and such a job runs', async () => {
    const q = queue();
    const before = await fingerprint(store, q.name);
    // Shrunk: [{"runAt": new Date("+010905-12-19T12:01:25.055Z")}] and [[{"options": {"runAt": 2 ** 48}}]]:
    // accepted, and on Redis the job was never claimed (its run time overflowed the claim order).
    for (const runAt of [new Date('+010905-12-19T12:01:25.055Z'), 2 ** 48, Number.MAX_SAFE_INTEGER]) {
      expectInputError(await q.add(1, { runAt }).catch((e: unknown) => e));
      expectInputError(await q.addBulk([{ payload: 1, options: { runAt } }]).catch((e: unknown) => e));
    }
    expect(await fingerprint(store, q.name)).toBe(before);
    await driver.queue.add('last', { id: 'year-9999', runAt: new Date('9999-12-31T23:59:59.999Z') });
    expect((await driver.final('year-9999'))!.state).toBe('completed');
  });

  it.skipIf(!c.available)(
    'a ready grouped job is counted, listed, peeked and cleared as waiting',
    async () => {
      // Shrunk: addBulk([]) after a grouped add changed the job total by 1: on Redis a ready grouped
      // job (in the group claim's own set) was in no count, list or peek, and clear() left it.
      for (const groups of [undefined, {}]) {
        const q = new Queue(`regress-g${n++}`, { store, groups });
        await q.add('g', { id: 'g', group: 'G' });
        await q.add('p', { id: 'p' });
        expect(await q.counts()).toMatchObject({ waiting: 2 });
        expect(await q.size()).toBe(2);
        expect((await q.list({ states: ['waiting'] })).map((j) => j.id).sort()).toEqual(['g', 'p']);
        expect((await q.peek()).map((j) => j.id).sort()).toEqual(['g', 'p']);
        expect(await q.cancel('g')).toEqual(['g']);
        expect(await q.counts()).toMatchObject({ waiting: 1, cancelled: 1 });
        await q.add('h', { id: 'h', group: 'G' });
        expect(await q.clear()).toBe(2);
        expect(await q.counts()).toMatchObject({ waiting: 0, cancelled: 1 });
        expect(await q.getJob('h')).toBeNull();
      }
    },
  );

  it.skipIf(!c.available)(
    'a classification rule that answers nonsense or throws leaves the job its fate',
    async () => {
      // Shrunk: [null, {reapIntervalMs: 1, settleTimeoutMs: 0, rules: [() => 'nonsense']}, TransientError]:
      // decideFate found no action for the category 'nonsense' and the job stayed active for ever.
      const rules = [
        () => 'nonsense',
        () => ({ category: 'made-up' }),
        () => {
          throw new Error('a rule that throws');
        },
      ];
      for (const rule of rules) {
        const name = `regress-rule${n++}`;
        const d = new Driver(store, name, {
          defaults: { backoff: { type: 'constant', delayMs: 0 } },
          worker: { pollIntervalMs: 20, retention: false, rules: [rule as never] },
        });
        try {
          d.plan('job', (_ctx, call) => {
            if (call === 1) throw new TransientError('flaky');
            return 'second';
          });
          await d.queue.add(null, { id: 'job' });
          const done = (await d.final('job'))!;
          expect(done).toMatchObject({ state: 'completed', result: 'second' });
          expect(done.errors[0]).toMatchObject({ category: 'transient', action: 'retry' });
        } finally {
          await d.close();
        }
      }
    },
  );

  it.skipIf(!c.available)('a bulk that mixes grouped and plain jobs adds them all', async () => {
    // Shrunk: [[{payload: [], options: {group: ' '}}, {payload: null, options: {}}]]: Postgres took the
    // grouped-only path for the whole bulk and failed in the driver (a null group name, 23502).
    const q = queue();
    const jobs = await q.addBulk([
      { payload: [], options: { group: ' ' } },
      { payload: null, options: {} },
    ]);
    expect(jobs.map((j) => j.outcome)).toEqual(['created', 'created']);
    expect(await q.counts()).toMatchObject({ waiting: 2 });
    expect((await q.getJob(jobs[0]!.id))!.group).toBe(' ');
    expect((await q.getJob(jobs[1]!.id))!.group).toBeNull();
  });

  it.skipIf(!c.available)("a queue's rate limit fits every store's counter", async () => {
    // Shrunk: [{rateLimit: {max: 31536000001, intervalMs: 1}}, …]: accepted, and on Postgres every
    // claim then failed (the limit overflowed the claim function's integer): the job never ran.
    const refused = await Promise.resolve()
      .then(() => new Queue('regress-rate', { store, rateLimit: { max: 31_536_000_001, intervalMs: 1 } }))
      .catch((e: unknown) => e);
    expectInputError(refused);
    const d = new Driver(store, `regress-rate${n++}`, {
      queue: { rateLimit: { max: 1_000_000_000, intervalMs: 1 } },
    });
    try {
      await d.queue.add(null, { id: 'limited' });
      expect((await d.final('limited'))!.state).toBe('completed');
    } finally {
      await d.close();
    }
  });

  it.skipIf(!c.available)(
    'the JSON API refuses a job id or search text no store keeps, with a 400',
    async () => {
      // Shrunk: GET /api/queues/mail/jobs/%00: the id went to the store unchecked, and Postgres's
      // driver refused it: a 500 (SQLite and Redis answered 404). Search and name filters did the same.
      const q = queue();
      await q.add('x', { id: 'j' });
      const server = await startServer({ port: 0, store, intervalMs: 200 });
      try {
        for (const path of [
          `/api/queues/${q.name}/jobs/%00`,
          `/api/queues/${q.name}/jobs?search=%00`,
          `/api/queues/${q.name}/jobs?name=a%00`,
          `/api/events?job=%00`,
        ]) {
          const res = await fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(10_000) });
          expect(res.status, path).toBe(400);
          expect(((await res.json()) as { code: string }).code).toBe('VALIDATION');
        }
        const res = await fetch(`${server.url}/api/queues/${q.name}/dlq/replay`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ids: ['\ud800', 'nul\0'] }),
        });
        expect(res.status).toBe(400);
      } finally {
        await server.close();
      }
    },
  );
});
