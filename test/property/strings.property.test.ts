/**
 * Property: text made of every kind of UTF-16 code unit (lone surrogates, NUL, pairs, controls, glob
 * and key characters, lengths at every limit) given as a job id, name, correlation id, group, unique
 * key, dependency, queue name, schedule key, pause or cancel reason, search text, worker id, stage or
 * pipeline name is refused with a typed error that changes nothing when a store could not keep it
 * exactly, and otherwise accepted and read back exactly — and the jobs run to a final state. Two
 * different ids are two jobs on every store (no collation, normalization or encoding folds them).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, Pipeline, Queue, Worker, type Store } from '../../src/index.js';
import { storeCases } from '../dashboard/stores.js';
import type { Driver } from './harness.js';
import {
  attempt,
  describeError,
  expectInputError,
  fingerprint,
  isStorable,
  params,
  text,
  driveStore,
} from './harness.js';

const cases = await storeCases('prop-strings');
const NAME = /^[A-Za-z0-9_.:-]+$/;

/** Text of every kind, and text of exactly the lengths around each limit (in 1- and 2-unit characters). */
const anyText = fc.oneof(
  { weight: 6, arbitrary: text({ long: 2100 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(1, 199, 200, 201, 511, 512, 513, 999, 1000, 1001, 1999, 2000, 2001),
        fc.constantFrom('a', 'Z', '9', '-', 'é', '😀', '{', '*', ':', '\0', '\ud800'),
      )
      .map(([n, u]) => u.repeat(Math.max(1, Math.round(n / u.length)))),
  },
  // Queue and schedule names: the allowed alphabet, and one stray character in it.
  {
    weight: 2,
    arbitrary: fc.string({ unit: fc.constantFrom(...'aZ09_.:-'.split('')), minLength: 1, maxLength: 210 }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.string({ unit: fc.constantFrom(...'ab_.:-'.split('')), minLength: 1, maxLength: 20 }),
        text({ maxLength: 2 }),
      )
      .map(([a, b]) => a + b),
  },
);

/** A valid text (by the oracle) of `min`..`max` code points. */
const fits = (s: string, min: number, max: number): boolean =>
  isStorable(s) && length(s) >= min && length(s) <= max;

/** Lengths are counted in code points (an emoji is one), as the validation counts them. */
function length(s: string): number {
  return [...s].length;
}

/** Spellings a careless store might fold into one: case, Unicode normalization, spaces, NUL. */
const variants = (s: string): string[] => [
  s.toUpperCase(),
  s.toLowerCase(),
  s.normalize('NFC'),
  s.normalize('NFD'),
  `${s} `,
  ` ${s}`,
  `${s}\u200b`,
  `${s}\0`,
  s.slice(0, -1),
];

describe.each(cases)('strings on $name', (c) => {
  let store: Store;
  let driver: Driver;
  let q: Queue;
  let seq = 0;

  driveStore(c, 'strings', {}, (s, d) => {
    store = s;
    driver = d;
    q = d.queue;
  });

  /** Each operation: how valid text looks, the call, and what an accepted call must read back. */
  type Op = {
    name: string;
    valid: (s: string) => boolean;
    /** Makes the call; `accepted()` right after the call under test returned (what follows reads back). */
    run: (s: string, accepted: () => void) => Promise<unknown>;
  };
  const ops: Op[] = [
    {
      name: 'job id',
      valid: (s) => fits(s, 1, 512),
      run: async (s, accepted) => {
        driver.plan(s, (ctx) => ctx.job.id);
        const j = await q.add('x', { id: s });
        accepted();
        expect(j.id).toBe(s);
        // An id used before (the run of an earlier case) returns that job.
        expect(['created', 'existing']).toContain(j.outcome);
        const done = (await driver.final(s))!;
        expect(done.id).toBe(s);
        if (j.outcome === 'created') expect(done.result).toBe(s);
        expect((await q.list({ search: s, limit: 10_000 })).map((x) => x.id)).toContain(s);
      },
    },
    {
      name: 'job name, correlation id and group',
      valid: (s) => fits(s, 1, 200),
      run: async (s, accepted) => {
        const id = `named-${seq++}`;
        const j = await q.add('x', { id, name: s, correlationId: s, group: s });
        accepted();
        expect([j.name, j.correlationId, j.group]).toEqual([s, s, s]);
        const stored = (await q.getJob(id))!;
        expect([stored.name, stored.correlationId, stored.group]).toEqual([s, s, s]);
        expect((await q.list({ correlationId: s, limit: 10_000 })).map((x) => x.id)).toContain(id);
        expect((await driver.final(id))!.state).toBe('completed');
      },
    },
    {
      name: 'unique key',
      valid: (s) => fits(s, 1, 512),
      run: async (s, accepted) => {
        const id = `unique-${seq++}`;
        // Paused, so that the driver's worker cannot take the first job before the second add.
        await q.pause();
        let first;
        try {
          first = await q.add('x', { id, unique: { key: s } });
          const second = await q.add('y', { unique: { key: s } });
          accepted();
          expect(first.outcome).toBe('created');
          expect([second.outcome, second.id]).toEqual(['dropped', id]);
        } finally {
          await q.resume();
        }
        expect((await driver.final(first.id))!.state).toBe('completed');
      },
    },
    {
      name: 'dependency id',
      valid: (s) => fits(s, 1, 512),
      run: async (s, accepted) => {
        // An unknown id is refused; add the dependency first when the id is storable.
        if (fits(s, 1, 512)) await q.add('dep', { id: s });
        const id = `dependant-${seq++}`;
        const j = await q.add('x', { id, dependsOn: [s] });
        accepted();
        expect(j.dependsOn).toEqual([s]);
        expect((await q.dependencies(id)).map((d) => d.id)).toEqual([s]);
        await driver.final(s);
        // A dependency cancelled by an earlier case fails its dependant: either way, it ends.
        expect(['completed', 'dead']).toContain((await driver.final(id))!.state);
      },
    },
    {
      name: 'reads by id (getJob, inspect, dependencies, dlq)',
      valid: (s) => fits(s, 1, 512),
      run: async (s, accepted) => {
        const job = await q.getJob(s);
        accepted();
        expect(await q.dlq.replay(s)).toEqual([]);
        expect(await q.dlq.purge([s])).toBe(0);
        if (job === null) {
          await expect(q.inspect(s)).rejects.toMatchObject({ code: 'NOT_FOUND' });
          await expect(q.dlq.inspect(s)).rejects.toMatchObject({ code: 'NOT_FOUND' });
        } else expect((await q.inspect(s)).id).toBe(s);
      },
    },
    {
      name: 'dependencies of an id',
      valid: (s) => fits(s, 1, 512),
      run: async (s, accepted) => {
        const deps = await q.dependencies(s);
        accepted();
        expect(Array.isArray(deps)).toBe(true);
      },
    },
    {
      name: 'cancel by id, with the text as the reason too',
      valid: (s) => fits(s, 1, 512),
      run: async (s, accepted) => {
        const cancelled = await q.cancel([s], s);
        accepted();
        const job = await q.getJob(s);
        if (cancelled.length > 0) {
          expect(cancelled).toEqual([s]);
          expect(job!.state).toBe('cancelled');
          expect(job!.reason).toBe(s);
        }
      },
    },
    {
      name: 'search and correlation id filters',
      valid: (s) => fits(s, 0, 200),
      run: async (s, accepted) => {
        await q.list({ search: s, correlationId: s });
        accepted();
      },
    },
    {
      name: 'pause reason',
      valid: (s) => fits(s, 0, 2000),
      run: async (s, accepted) => {
        await q.pause(s);
        accepted();
        try {
          expect(await q.status()).toMatchObject({ paused: true, pauseReason: s });
        } finally {
          await q.resume();
        }
      },
    },
    {
      name: 'group name and its pause reason',
      valid: (s) => fits(s, 1, 200),
      run: async (s, accepted) => {
        await q.pauseGroup(s, s);
        accepted();
        try {
          const groups = await q.listGroups({ paused: true, limit: 10_000 });
          expect(groups.find((g) => g.name === s)).toMatchObject({ paused: true, pauseReason: s });
          await q.throttleGroup(s, Date.now() + 1);
        } finally {
          await q.resumeGroup(s);
        }
      },
    },
    {
      name: 'queue name',
      valid: (s) => length(s) <= 200 && NAME.test(s),
      run: async (s, accepted) => {
        const other = new Queue(s, { store });
        accepted();
        const j = await other.add('x');
        expect((await other.getJob(j.id))!.queue).toBe(s);
        expect(await store.queues()).toContain(s);
        expect(await other.cancel(j.id)).toEqual([j.id]);
      },
    },
    {
      name: 'schedule key, and the name of the jobs it adds',
      valid: (s) => length(s) <= 200 && NAME.test(s),
      run: async (s, accepted) => {
        const info = await q.schedule(s, { cron: '0 0 1 1 *', options: { name: s } });
        accepted();
        expect(info.key).toBe(s);
        await fire(s);
        expect(await q.unschedule(s)).toBe(true);
      },
    },
    {
      name: 'the name of the jobs a schedule adds',
      valid: (s) => fits(s, 1, 200),
      run: async (s, accepted) => {
        const key = `named-${seq++}`;
        await q.schedule(key, { cron: '0 0 1 1 *', options: { name: s } });
        accepted();
        try {
          const fired = await fire(key);
          expect(fired.map((j) => j.name)).toEqual([s]);
        } finally {
          await q.unschedule(key);
        }
      },
    },
    {
      name: 'worker id and stage',
      valid: (s) => fits(s, 1, 200),
      run: async (s, accepted) => {
        const id = `worker-${seq++}`;
        const w = new Worker(q, () => 'ran', { workerId: s, stage: s, autostart: false, pollIntervalMs: 20 });
        accepted();
        expect(w.workerId).toBe(s);
        await w.close();
        await q.add('x', { id });
        expect((await driver.final(id))!.state).toBe('completed');
      },
    },
    {
      name: 'pipeline name',
      valid: (s) => length(s) <= 200 - '.only'.length && NAME.test(s),
      run: async (s, accepted) => {
        const p = new Pipeline<string>(s, { store }).stage('only', (ctx) => `${ctx.payload}!`);
        accepted();
        await p.add('in', { id: 'one' });
        p.start();
        try {
          for (let i = 0; i < 500; i++) {
            const st = await p.status('one');
            if (st?.state === 'completed') {
              expect(st.result).toBe('in!');
              return;
            }
            await new Promise((r) => setTimeout(r, 20));
          }
          throw new Error(`pipeline ${s} did not complete its job`);
        } finally {
          await p.close({ graceMs: 0 });
        }
      },
    },
  ];

  /** Fires schedule `key` once (a view of the queue whose clock stands at its next tick). */
  async function fire(key: string) {
    const info = (await q.schedules()).find((s) => s.key === key)!;
    const clock = new ManualClock(info.nextTickAt!);
    const fired = await new Queue(q.name, { store, clock }).fireSchedules();
    const mine = fired.jobs.filter((j) => j.id.startsWith(`schedule:${key}:`));
    for (const j of mine) expect((await driver.final(j.id))!.state).toBe('completed');
    return mine;
  }

  it.skipIf(!c.available)(
    'every entry point taking text: refused typed with nothing changed, or accepted and read back exactly',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...ops.map((o) => o.name)), anyText, async (name, s) => {
          const op = ops.find((o) => o.name === name)!;
          const now = Date.now();
          const before = await fingerprint(store, q.name, now);
          let accepted = false;
          const out = await attempt(() => op.run(s, () => (accepted = true)));
          // What fails after the call was accepted is a failure of the read-back, not a refusal.
          if (!out.ok && accepted) throw out.error;
          if (out.ok) {
            expect(op.valid(s), `${op.name}: text no store can keep exactly was accepted`).toBe(true);
            return;
          }
          expectInputError(out.error);
          expect(await fingerprint(store, q.name, now), `${op.name}: a refused call changed the store`).toBe(
            before,
          );
          expect(op.valid(s), `${op.name}: storable text was refused (${describeError(out.error)})`).toBe(
            false,
          );
        }),
        params(1201, 300),
      );
    },
    240_000,
  );

  it.skipIf(!c.available)(
    'two different ids are two jobs, however alike they look',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyText, fc.nat({ max: 8 }), async (a, pick) => {
          const b = variants(a)[pick]!;
          if (a === b) return;
          if (!fits(a, 1, 512) || !fits(b, 1, 512)) return;
          const pair = new Queue(`pair${seq++}`, { store });
          const ja = await pair.add('a', { id: a });
          const jb = await pair.add('b', { id: b });
          expect([ja.outcome, jb.outcome]).toEqual(['created', 'created']);
          expect((await pair.getJob(a))!.payload).toBe('a');
          expect((await pair.getJob(b))!.payload).toBe('b');
          expect((await pair.counts()).waiting).toBe(2);
          expect((await pair.cancel([a, b])).sort()).toEqual([a, b].sort());
        }),
        params(1202, 150),
      );
    },
    240_000,
  );
});
