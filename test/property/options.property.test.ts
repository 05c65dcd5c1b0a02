/**
 * Property: option objects of any shape — known keys with right and wrong values (negative, NaN,
 * Infinity, fractions, past every bound, wrong types), unknown keys, non-objects, objects whose
 * reading throws — given to add / addBulk, the queue's reads and operations, new Queue, new Worker,
 * schedules, pipelines and ctx.spawn are refused with a typed error that changes nothing, or accepted
 * and read back as given; every job an accepted call made then reaches a final state through a
 * Worker. Every store gives the same verdict on the same input.
 */
import { types } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  FatalError,
  ManualClock,
  Pipeline,
  Queue,
  RateLimitError,
  TransientError,
  type AddOptions,
  type Job,
  type Store,
} from '../../src/index.js';
import { storeCases } from '../dashboard/stores.js';
import {
  Driver,
  intIn,
  name,
  anyOptionValue,
  anyValue,
  attempt,
  expectInputError,
  optionObject,
  params,
  roundTrip,
  text,
  typedOrAccepted,
  type Outcome,
  driveStore,
} from './harness.js';

const cases = await storeCases('prop-options');

/** Each property's verdicts, per store, in run order: every store must give the same ones. */
const verdicts = new Map<string, Map<string, string[]>>();
function record(property: string, store: string, out: Outcome<unknown>): void {
  const byStore = verdicts.get(property) ?? new Map<string, string[]>();
  verdicts.set(property, byStore);
  const list = byStore.get(store) ?? [];
  byStore.set(store, list);
  const e = out.ok ? null : (out.error as { code?: string; path?: string });
  list.push(e === null ? 'accepted' : `${e.code} ${e.path ?? ''}`);
}

const DAY = 86_400_000;
const ids = fc.oneof(name(), fc.constantFrom('done-0', 'done-1', 'opt-fixed'));
const backoff = optionObject({
  type: fc.constantFrom('constant', 'linear', 'exponential'),
  delayMs: intIn(0, 365 * DAY),
  maxDelayMs: intIn(0, 365 * DAY),
  factor: fc.oneof(intIn(1, 100), fc.double({ min: 1, max: 100, noNaN: true })),
  jitter: fc.constantFrom('none', 'full', 'equal', 'decorrelated'),
});
const metadata = fc.dictionary(name(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
const addOptions = optionObject({
  id: ids,
  name: name(),
  priority: intIn(-1_000_000, 1_000_000),
  delayMs: intIn(0, 10 * 365 * DAY),
  runAt: fc.oneof(intIn(0, Number.MAX_SAFE_INTEGER), fc.date({ min: new Date(0), noInvalidDate: true })),
  maxAttempts: intIn(1, 10_000),
  backoff,
  timeoutMs: fc.oneof(intIn(1, 7 * DAY), fc.constant(null)),
  correlationId: name(),
  metadata: fc.oneof({ weight: 4, arbitrary: metadata }, { weight: 1, arbitrary: anyValue() }),
  unique: fc.oneof(
    optionObject({ key: name(), mode: fc.constant('drop') }, { required: ['key'] }),
    optionObject(
      { key: name(), mode: fc.constant('debounce'), delayMs: intIn(0, 365 * DAY) },
      { required: ['key', 'mode', 'delayMs'] },
    ),
    optionObject(
      { key: name(), mode: fc.constant('throttle'), windowMs: intIn(1, 365 * DAY) },
      { required: ['key', 'mode', 'windowMs'] },
    ),
  ),
  dependsOn: fc.constantFrom(['done-0'], ['done-0', 'done-1'], ['done-1', 'done-1']),
  onDependencyDead: fc.constantFrom('fail', 'ignore', 'wait'),
  group: name(),
});

/** The fields of a created job that must be what the options said. */
function expectAsGiven(job: Job, o: AddOptions): void {
  if (o.name !== undefined) expect(job.name).toBe(o.name);
  if (o.priority !== undefined) expect(job.priority).toBe(o.priority);
  if (o.maxAttempts !== undefined) expect(job.maxAttempts).toBe(o.maxAttempts);
  if (o.timeoutMs !== undefined) expect(job.timeoutMs).toBe(o.timeoutMs);
  if (o.correlationId !== undefined) expect(job.correlationId).toBe(o.correlationId);
  if (o.group !== undefined) expect(job.group).toBe(o.group);
  if (o.metadata !== undefined) expect(job.metadata).toEqual(roundTrip(o.metadata));
  if (o.runAt !== undefined) expect(job.runAt).toBe(o.runAt instanceof Date ? o.runAt.getTime() : o.runAt);
  if (o.delayMs !== undefined) expect(job.runAt).toBe(job.createdAt + o.delayMs);
  if (o.unique?.mode === 'debounce') expect(job.runAt).toBe(job.createdAt + o.unique.delayMs);
  if (o.backoff !== undefined) {
    for (const [k, v] of Object.entries(o.backoff)) {
      if (v !== undefined) expect(job.backoff[k as keyof typeof job.backoff], `backoff.${k}`).toBe(v);
    }
  }
  if (o.dependsOn !== undefined) expect(job.dependsOn).toEqual([...new Set(o.dependsOn)]);
}

describe.each(cases)('options on $name', (c) => {
  let store: Store;
  let driver: Driver;
  let q: Queue;
  let n = 0;
  const fresh = (): string => `opt${n++}`;

  driveStore(c, 'options', {}, async (s, d) => {
    store = s;
    driver = d;
    q = d.queue;
    // Jobs the options may depend on, completed.
    for (const id of ['done-0', 'done-1']) {
      await q.add(id, { id });
      await d.final(id);
    }
  });

  it.skipIf(!c.available)(
    'add(): refused typed with nothing written, or the job reads back as given and runs',
    async () => {
      await fc.assert(
        fc.asyncProperty(addOptions, async (o) => {
          const out = await typedOrAccepted(store, q.name, () => q.add('payload', o as AddOptions));
          record('add', c.name, out);
          if (!out.ok) return;
          const added = out.value;
          const stored = (await q.getJob(added.id))!;
          expect(stored, 'the added job is not in the store').not.toBeNull();
          if (added.outcome === 'created') expectAsGiven(stored, (o ?? {}) as AddOptions);
          const done = (await driver.final(added.id))!;
          expect(['completed', 'dead', 'cancelled']).toContain(done.state);
        }),
        params(1301, 200),
      );
    },
    240_000,
  );

  it.skipIf(!c.available)(
    'addBulk(): all or nothing',
    async () => {
      const item = fc.oneof(
        { weight: 4, arbitrary: fc.record({ payload: fc.jsonValue({ maxDepth: 1 }), options: addOptions }) },
        { weight: 1, arbitrary: anyOptionValue },
        { weight: 1, arbitrary: fc.record({ payload: anyValue() }) },
      );
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.array(item, { maxLength: 5 }), anyOptionValue), async (items) => {
          const before = await store.counts(q.name, 0);
          const out = await typedOrAccepted(store, q.name, () => q.addBulk(items as never));
          record('addBulk', c.name, out);
          if (!out.ok) return;
          expect(out.value).toHaveLength((items as unknown[]).length);
          const created = out.value.filter((j) => j.outcome === 'created').length;
          const after = await store.counts(q.name, 0);
          const total = (x: typeof before) => Object.values(x).reduce((a, b) => a + b, 0);
          expect(total(after) - total(before)).toBe(created);
          for (const j of out.value) await driver.final(j.id);
        }),
        params(1302, 100),
      );
    },
    240_000,
  );

  it.skipIf(!c.available)(
    "the queue's reads and operations: refused typed with nothing changed, or they answer",
    async () => {
      const op = fc.oneof(
        optionObject({
          states: fc.subarray(['waiting', 'delayed', 'blocked', 'active', 'completed', 'dead', 'cancelled']),
          search: name(),
          correlationId: name(),
          limit: intIn(1, 10_000),
          offset: intIn(0, 1_000_000),
          order: fc.constantFrom('asc', 'desc', 'next'),
        }).map((f) => ['list', f] as const),
        fc.oneof(intIn(1, 10_000), anyOptionValue).map((v) => ['peek', v] as const),
        fc
          .tuple(
            fc.oneof(fc.array(name(), { maxLength: 3 }), text(), anyOptionValue),
            fc.oneof(name(), anyOptionValue),
          )
          .map((args) => ['cancel', args] as const),
        fc.oneof(anyOptionValue, name(), fc.constant(null)).map((v) => ['pause', v] as const),
        fc
          .oneof(
            anyOptionValue,
            intIn(0, Date.now() + 1000),
            fc.date({ max: new Date(), noInvalidDate: false }),
          )
          .map((v) => ['throttle', v] as const),
        fc
          .oneof(
            fc.array(
              optionObject(
                {
                  state: fc.constantFrom('completed', 'dead', 'cancelled'),
                  maxAgeMs: intIn(0, 365 * DAY),
                  maxCount: intIn(0, 1_000_000),
                },
                { required: ['state', 'maxCount'] },
              ),
              { maxLength: 3 },
            ),
            anyOptionValue,
          )
          .map((v) => ['cleanup', v] as const),
        optionObject({
          paused: fc.boolean(),
          throttled: fc.boolean(),
          limit: intIn(1, 10_000),
          offset: intIn(0, 1_000_000),
        }).map((v) => ['listGroups', v] as const),
        optionObject({ limit: intIn(1, 10_000), offset: intIn(0, 1_000_000), search: name() }).map(
          (v) => ['dlq.list', v] as const,
        ),
        fc.oneof(fc.array(name(), { maxLength: 2 }), anyOptionValue).map((v) => ['dlq.replay', v] as const),
        fc
          .tuple(fc.oneof(name(), text()), fc.oneof(anyOptionValue, intIn(0, Date.now())))
          .map((v) => ['throttleGroup', v] as const),
      );
      // A queue of its own, with jobs to act on: a throttle may hold it for ever, by design.
      const q = new Queue(fresh(), { store });
      await q.addBulk([{ payload: 1 }, { payload: 2, options: { delayMs: DAY } }, { payload: 3 }]);
      await fc.assert(
        fc.asyncProperty(op, async ([name, arg]) => {
          const call = (): Promise<unknown> => {
            const a = arg as never;
            switch (name) {
              case 'list':
                return q.list(a);
              case 'peek':
                return q.peek(a);
              case 'cancel':
                return q.cancel(...(arg as unknown as [never, never]));
              case 'pause':
                return q.pause(a);
              case 'throttle':
                return q.throttle(a);
              case 'cleanup':
                return q.cleanup(a);
              case 'listGroups':
                return q.listGroups(a);
              case 'dlq.list':
                return q.dlq.list(a);
              case 'dlq.replay':
                return q.dlq.replay(a);
              default:
                return q.throttleGroup(...(arg as unknown as [never, never]));
            }
          };
          // A call that changes state by design is checked for what it changed instead.
          const changes = name === 'pause' || name === 'throttle' || name === 'cleanup';
          const out = changes ? await attempt(call) : await typedOrAccepted(store, q.name, call);
          record('operations', c.name, out);
          if (!out.ok) {
            expectInputError(out.error);
            return;
          }
          if (name === 'list' || name === 'peek' || name === 'dlq.list' || name === 'listGroups')
            expect(Array.isArray(out.value)).toBe(true);
          if (name === 'pause') {
            expect(await q.status()).toMatchObject({ paused: true, pauseReason: arg ?? null });
            await q.resume();
          }
          if (name === 'throttle') {
            const until = arg instanceof Date ? arg.getTime() : (arg as number);
            expect((await q.status()).throttledUntil).toBeGreaterThanOrEqual(until);
          }
        }),
        params(1303, 300),
      );
    },
    240_000,
  );

  it.skipIf(!c.available)(
    'new Queue() and new Worker(): refused typed, or a job runs through them to a final state',
    async () => {
      const rate = optionObject(
        { max: intIn(1, 1_000_000), intervalMs: intIn(1, DAY) },
        { required: ['max', 'intervalMs'] },
      );
      const limit = optionObject({ concurrency: intIn(1, 100_000), rateLimit: rate });
      const queueOptions = optionObject({
        defaults: optionObject({
          priority: intIn(-1_000_000, 1_000_000),
          maxAttempts: intIn(1, 10_000),
          backoff,
          timeoutMs: fc.oneof(intIn(1, 7 * DAY), fc.constant(null)),
        }),
        maxPayloadBytes: intIn(1, 512 * 1024 * 1024),
        rateLimit: optionObject(
          { max: intIn(1, 1000), intervalMs: intIn(1, DAY) },
          { required: ['max', 'intervalMs'] },
        ),
        groups: optionObject({
          concurrency: intIn(1, 100_000),
          rateLimit: rate,
          overrides: fc.dictionary(name(), limit, { maxKeys: 2 }),
          onAuthError: fc.constantFrom('pause-group', 'pause-queue'),
        }),
      });
      const rule = fc.constantFrom(
        () => undefined,
        () => 'transient',
        () => 'validation',
        () => 'nonsense',
        () => ({ category: 'auth' }),
        () => ({ category: 'made-up' }),
        () => {
          throw new Error('a rule that throws');
        },
      );
      // Valid worker options: each field at and inside its bounds (a lease of at least a second here,
      // and polls of at most a second, so that one run stays short).
      const workerOptions = fc
        .record({
          leaseMs: intIn(1000, DAY),
          heartbeatFraction: fc.double({ min: 0.05, max: 0.9, noNaN: true }),
        })
        .chain(({ leaseMs, heartbeatFraction }) =>
          optionObject({
            concurrency: fc.oneof(
              intIn(1, 10_000),
              fc
                .tuple(intIn(1, 10_000), intIn(1, 10_000))
                .map(([a, b]) => ({ adaptive: { min: Math.min(a, b), max: Math.max(a, b) } })),
            ),
            batchSize: intIn(1, 10_000),
            prefetch: fc.oneof(intIn(0, 10_000), fc.constant('auto')),
            prefetchMaxWaitMs: intIn(10, Math.min(3_600_000, leaseMs - 1)),
            leaseMs: fc.constant(leaseMs),
            heartbeatMs: fc.constant(Math.max(1, Math.floor(leaseMs * heartbeatFraction))),
            pollIntervalMs: intIn(1, 1000),
            reapIntervalMs: intIn(1, DAY),
            shutdownGraceMs: intIn(0, DAY),
            settleTimeoutMs: intIn(0, 3_600_000),
            zombieAfterMs: intIn(1, DAY),
            retention: fc.oneof(
              fc.constant(false),
              fc.array(
                optionObject(
                  {
                    state: fc.constantFrom('completed', 'dead', 'cancelled'),
                    maxAgeMs: intIn(0, DAY),
                    maxCount: intIn(0, 10),
                  },
                  { required: ['state', 'maxAgeMs'] },
                ),
                { maxLength: 2 },
              ),
            ),
            cleanupIntervalMs: intIn(1, DAY),
            workerId: name(),
            autostart: fc.boolean(),
            stage: name(),
            schedules: fc.boolean(),
            actions: fc.dictionary(
              fc.constantFrom(
                'transient',
                'rate_limit',
                'auth',
                'unknown',
                'validation',
                'permanent',
                'fatal',
              ),
              fc.constantFrom('retry', 'retry_long', 'snooze', 'pause', 'dead', 'stop'),
              { maxKeys: 3 },
            ),
            rules: fc.array(rule, { maxLength: 2 }),
            rateLimitSnoozeMs: intIn(1, DAY),
            maxRetryAfterMs: intIn(1, 365 * DAY),
            dependencySnoozeMs: intIn(1, DAY),
            longBackoffFactor: fc.oneof(intIn(1, 1000), fc.double({ min: 1, max: 1000, noNaN: true })),
            maxSnoozes: intIn(1, 1000),
          }),
        );
      const failure = fc.constantFrom(
        () => new TransientError('flaky'),
        () => new RateLimitError('slow down', { retryAfterMs: 5000 }),
        () => new AuthError('expired'),
        () => new FatalError('broken'),
        () => new Error('unknown'),
        () => Object.assign(new Error('bad request'), { status: 400 }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.option(queueOptions, { freq: 3 }),
          workerOptions,
          failure,
          async (qo, wo, fail) => {
            const name = fresh();
            const out = await typedOrAccepted(store, name, () => {
              // The queue options as given, with the store (a proxy is given as it is: it has none).
              const options =
                qo === null
                  ? { store }
                  : typeof qo === 'object' && !types.isProxy(qo)
                    ? { ...qo, store }
                    : qo;
              new Queue(name, options as never);
              return new Driver(store, name, { queue: (qo ?? {}) as never, worker: wo as never });
            });
            record('queue and worker', c.name, out);
            if (!out.ok) return;
            const d = out.value;
            try {
              d.plan('job', (_ctx, call) => {
                if (call === 1) throw fail();
                return 'second';
              });
              const added = await attempt(() => d.queue.add('x', { id: 'job', group: 'g' }));
              if (!added.ok) {
                // A queue may refuse a payload as over its own limit: typed, and nothing written.
                expectInputError(added.error);
                expect(await d.queue.size()).toBe(0);
                return;
              }
              const done = await d.final('job', 15_000);
              // Retention may delete the job once it finished: the worker's events still tell.
              const events = (d.emitted.get('job') ?? []).map((e) => e.event);
              if (done === null)
                expect(events.some((e) => e === 'job:completed' || e === 'job:dead')).toBe(true);
              else expect(['completed', 'dead']).toContain(done.state);
            } finally {
              await d.close();
            }
          },
        ),
        params(1304, 100),
      );
    },
    240_000,
  );

  it.skipIf(!c.available)(
    'schedule(): refused typed with nothing saved, or its ticks add jobs as given that run',
    async () => {
      const scheduleOptions = optionObject(
        {
          cron: fc.constantFrom(
            '0 0 1 1 *',
            '* * * * * *',
            '*/15 9-17 * * MON-FRI',
            '0 3 * * *',
            '0 0 29 2 *',
          ),
          tz: fc.constantFrom('UTC', 'Europe/Paris', 'America/St_Johns', 'Asia/Kathmandu'),
          payload: fc.oneof(
            { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
            { weight: 1, arbitrary: anyValue() },
          ),
          options: optionObject({
            name: name(),
            priority: intIn(-1_000_000, 1_000_000),
            maxAttempts: intIn(1, 10_000),
            timeoutMs: fc.oneof(intIn(1, 7 * DAY), fc.constant(null)),
            metadata: fc.oneof({ weight: 4, arbitrary: metadata }, { weight: 1, arbitrary: anyValue() }),
          }),
          catchUp: fc.constantFrom('none', 'latest', 'all'),
          catchUpLimit: intIn(1, 1000),
        },
        { required: ['cron'] },
      );
      await fc.assert(
        fc.asyncProperty(scheduleOptions, async (o) => {
          const key = `s${n++}`;
          const out = await typedOrAccepted(store, q.name, () => q.schedule(key, o as never));
          record('schedule', c.name, out);
          if (!out.ok) return;
          try {
            const info = out.value;
            expect(info.key).toBe(key);
            if (info.nextTickAt === null) return;
            const view = new Queue(q.name, { store, clock: new ManualClock(info.nextTickAt) });
            const fired = (await view.fireSchedules()).jobs.filter((j) =>
              j.id.startsWith(`schedule:${key}:`),
            );
            expect(fired.length).toBeGreaterThan(0);
            const given = (o as { options?: AddOptions; payload?: unknown }).options ?? {};
            for (const j of fired) {
              const stored = (await q.getJob(j.id))!;
              expect(stored.payload).toEqual(roundTrip((o as { payload?: unknown }).payload));
              expectAsGiven(stored, { ...given, metadata: undefined });
              expect(stored.metadata).toMatchObject({
                ...(roundTrip(given.metadata ?? {}) as object),
                schedule: key,
              });
              expect(['completed', 'dead']).toContain((await driver.final(j.id))!.state);
            }
          } finally {
            await q.unschedule(key);
          }
        }),
        params(1305, 100),
      );
    },
    240_000,
  );

  it.skipIf(!c.available)(
    'Pipeline and ctx.spawn(): refused typed, or the work runs to a final state',
    async () => {
      const stageOptions = optionObject({
        concurrency: intIn(1, 50),
        defaults: optionObject({
          maxAttempts: intIn(1, 5),
          timeoutMs: fc.oneof(intIn(1000, DAY), fc.constant(null)),
        }),
        rateLimit: optionObject(
          { max: intIn(1, 1000), intervalMs: intIn(1, 1000) },
          { required: ['max', 'intervalMs'] },
        ),
        maxPayloadBytes: intIn(64, 1_000_000),
        pollIntervalMs: intIn(1, 1000),
        batch: optionObject({ size: intIn(1, 100), waitMs: intIn(0, 200) }, { required: ['size', 'waitMs'] }),
      });
      const spawnOptions = optionObject({
        join: optionObject(
          {
            payload: fc.jsonValue({ maxDepth: 1 }),
            options: optionObject({ name: name(), priority: intIn(-5, 5) }),
          },
          { required: ['payload'] },
        ),
        wait: fc.boolean(),
        onDependencyDead: fc.constantFrom('fail', 'ignore'),
      });
      const children = fc.oneof(
        {
          weight: 5,
          arbitrary: fc.array(
            fc.record({
              payload: fc.jsonValue({ maxDepth: 1 }),
              options: fc.option(optionObject({ name: name(), priority: intIn(-5, 5), metadata }), {
                nil: undefined,
              }),
            }),
            { minLength: 1, maxLength: 3 },
          ),
        },
        { weight: 1, arbitrary: anyOptionValue },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.option(stageOptions, { freq: 2 }),
          fc.boolean(),
          children,
          spawnOptions,
          async (so, batch, kids, spawn) => {
            // A pipeline of one stage, plain or batched, built with the options.
            const name = fresh();
            const built = await attempt(() => {
              const p = new Pipeline<unknown>(name, { store });
              return batch
                ? p.batchStage('s', (items) => items.map(() => 'out'), (so ?? {}) as never)
                : p.stage('s', () => 'out', (so ?? {}) as never);
            });
            record('pipeline', c.name, built);
            if (built.ok) {
              const p = built.value;
              const added = await attempt(() => p.add('in', { id: 'one' }));
              if (!added.ok) expectInputError(added.error);
              else {
                p.start();
                try {
                  for (let i = 0; i < 500; i++) {
                    const st = await p.status('one');
                    if (st?.state === 'completed' || st?.state === 'dead') break;
                    if (i === 499) throw new Error(`pipeline job did not finish: ${JSON.stringify(st)}`);
                    await new Promise((r) => setTimeout(r, 20));
                  }
                } finally {
                  await p.close({ graceMs: 0 });
                }
              }
            } else expectInputError(built.error);

            // ctx.spawn with the children and options: refused inside the handler, or the family ends.
            const parent = `parent${n++}`;
            let spawned: Outcome<unknown> | undefined;
            driver.plan(parent, async (ctx, call) => {
              if (call === 1) spawned = await attempt(() => ctx.spawn(kids as never, spawn as never));
              return 'parent';
            });
            await q.add('p', { id: parent });
            const done = (await driver.final(parent))!;
            expect(spawned, 'the handler ran').toBeDefined();
            record('spawn', c.name, spawned!);
            if (!spawned!.ok) {
              expectInputError(spawned!.error, ['VALIDATION']);
              expect(done.state).toBe('completed');
              return;
            }
            const { children: made, join } = spawned!.value as { children: Job[]; join: Job | null };
            for (const child of [...made, ...(join ? [join] : [])]) {
              expect(['completed', 'dead', 'cancelled']).toContain((await driver.final(child.id))!.state);
            }
            expect(['completed', 'dead']).toContain((await driver.final(parent))!.state);
          },
        ),
        params(1306, 60),
      );
    },
    240_000,
  );
});

describe('the same verdicts on every store', () => {
  it('every store accepts and refuses the same inputs (with the same error and path)', () => {
    const available = cases.filter((c) => c.available).map((c) => c.name);
    for (const [property, byStore] of verdicts) {
      const [first, ...rest] = available;
      for (const other of rest) {
        const a = byStore.get(first!) ?? [];
        const b = byStore.get(other) ?? [];
        if (a.length !== b.length) continue; // a property failed on one store: reported there
        const i = a.findIndex((v, k) => v !== b[k]);
        expect(i, `${property}: run ${i}: ${first} said ${a[i]}, ${other} said ${b[i]}`).toBe(-1);
      }
    }
  });
});
