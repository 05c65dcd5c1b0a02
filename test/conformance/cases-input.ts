/** Bad input gets a clear, typed error and changes nothing. */
import { describe, expect, it } from 'vitest';
import type { Harness } from './suite.js';
import { Queue, Worker, type AddOptions } from '../../src/index.js';

export function inputCases(h: Harness): void {
  describe('bad input', () => {
    const expectValidation = async (p: Promise<unknown> | (() => unknown), path?: RegExp) => {
      const run = typeof p === 'function' ? Promise.resolve().then(p) : p;
      const e = (await run.then(
        () => null,
        (err: unknown) => err,
      )) as { code?: string; path?: string; message?: string } | null;
      expect(e, 'expected a ValidationError').not.toBeNull();
      expect(e!.code).toBe('VALIDATION');
      expect(e!.message).toMatch(/^\[bulwark\]/);
      if (path) expect(e!.path).toMatch(path);
    };

    it('rejects invalid job options and writes nothing', async () => {
      const q = h.queue();
      const bad: unknown[] = [
        { priority: 1.5 },
        { maxAttempts: 0 },
        { delayMs: -1 },
        { timeoutMs: 0 },
        { backoff: { type: 'fibonacci' } },
        { id: '' },
        { delayMs: 10, runAt: Date.now() },
        { unknownOption: true },
        { metadata: 'not an object' },
      ];
      for (const o of bad) await expectValidation(q.add('x', o as AddOptions), /job options/);
      expect(await q.size()).toBe(0);
    });

    it('rejects non-JSON and oversized payloads and writes nothing', async () => {
      const q = h.queue<unknown>({ maxPayloadBytes: 1024 });
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      for (const p of [
        10n,
        () => 1,
        Symbol('s'),
        NaN,
        { a: Infinity },
        [1, undefined],
        new Map(),
        cyclic,
        'x'.repeat(2000),
        { s: 'é'.repeat(600) },
      ]) {
        await expectValidation(q.add(p), /payload/);
      }
      expect(await q.size()).toBe(0);
    });

    it('writes nothing from a bulk add with one bad item', async () => {
      const q = h.queue<unknown>();
      await expectValidation(q.addBulk([{ payload: 1 }, { payload: 2 }, { payload: 3n }]));
      await expectValidation(
        q.addBulk([{ payload: 1 }, { payload: 2, options: { priority: 'high' as unknown as number } }]),
      );
      expect(await q.size()).toBe(0);
    });

    it('reports unknown ids clearly', async () => {
      const q = h.queue();
      expect(await q.getJob('missing')).toBeNull();
      await expect(q.inspect('missing')).rejects.toMatchObject({ code: 'NOT_FOUND', name: 'NotFoundError' });
      await expect(q.dlq.inspect('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await q.cancel('missing')).toEqual([]);
      expect(await q.dlq.replay('missing')).toEqual([]);
      expect(await q.dlq.purge('missing')).toBe(0);
    });

    it('rejects invalid queue, worker and filter options', async () => {
      const store = h.store();
      await expectValidation(() => new Queue('has space', { store }));
      await expectValidation(() => new Queue('ok', { store: {} as never }));
      const q = h.queue();
      await expectValidation(
        () => new Worker(q, () => {}, { concurrency: 0, autostart: false }),
        /concurrency/,
      );
      await expectValidation(
        () => new Worker(q, () => {}, { leaseMs: 1000, heartbeatMs: 2000, autostart: false }),
        /heartbeatMs/,
      );
      await expectValidation(
        () => new Worker(q, () => {}, { actions: { transient: 'explode' as never }, autostart: false }),
      );
      await expectValidation(() => new Worker(q, null as never, { autostart: false }));
      for (const notAQueue of [{}, null, 'emails', { name: 'emails' }]) {
        await expectValidation(() => new Worker(notAQueue as never, () => {}, { autostart: false }));
      }
      await expectValidation(q.list({ states: ['nope' as never] }));
      await expectValidation(q.cleanup([{ state: 'completed' }]));
      await expectValidation(q.cancel([42 as never]));
    });

    it('refuses keys a store could not keep exactly (lone surrogates, NUL) the same way on every store', async () => {
      const q = h.queue();
      for (const text of ['lone \ud800', 'lone \udfff low', 'nul\u0000']) {
        await expectValidation(q.add('x', { id: text }), /job options\.id/);
        await expectValidation(q.add('x', { name: text }), /job options\.name/);
        await expectValidation(q.add('x', { correlationId: text }), /job options\.correlationId/);
        await expectValidation(q.getJob(text));
        await expectValidation(q.list({ search: text }));
        await expectValidation(q.cancel([text]));
        await expectValidation(q.pause(text));
      }
      expect(await q.size()).toBe(0);
      // Well-formed text outside the BMP is kept exactly, and two such ids stay two jobs.
      await q.add('a', { id: 'id-😀' });
      await q.add('b', { id: 'id-😁' });
      expect((await q.getJob('id-😀'))!.payload).toBe('a');
      expect((await q.getJob('id-😁'))!.payload).toBe('b');
    });

    it('keeps any JSON string data exactly, and refuses toJSON results that are not JSON', async () => {
      const q = h.queue<unknown>();
      const data = { s: 'nul\u0000 lone\ud800 pair😀', at: new Date(0) };
      const j = await q.add(data, { id: 'data', metadata: { k: 'v\u0000' } });
      expect((await q.getJob(j.id))!).toMatchObject({
        payload: { s: data.s, at: '1970-01-01T00:00:00.000Z' },
        metadata: { k: 'v\u0000' },
      });
      await expectValidation(q.add({ at: new Date(NaN) }), /payload\.at/);
      await expectValidation(q.add({ x: { toJSON: () => 1n } }), /payload\.x/);
      await expectValidation(q.add({ [Symbol('k')]: 1 }), /payload/);
      expect(await q.size()).toBe(1);
    });

    it('stores an error whose message holds NUL or lone surrogates', async () => {
      const q = h.queue();
      await q.add('x', { id: 'weird', maxAttempts: 1 });
      await using w = h.worker(q, () => {
        throw new Error('bad \u0000 byte and \ud800 half');
      });
      await w.next('job:dead');
      const j = (await q.getJob('weird'))!;
      expect(j.state).toBe('dead');
      expect(j.errors.at(-1)!.message).toBe('bad \uFFFD byte and \uFFFD half');
    });
  });
}
