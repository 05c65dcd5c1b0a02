/**
 * Property: any JS value given as a payload, metadata, result, checkpoint or progress — or thrown by
 * a handler — is either refused with a typed ValidationError that changes nothing, or accepted and
 * read back as its JSON round trip; every accepted job then reaches a final state through a real
 * Worker, on SQLite, PostgreSQL and Redis.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  DependencyError,
  FatalError,
  RateLimitError,
  TransientError,
  ValidationError,
  type Store,
} from '../../src/index.js';
import { storeCases } from '../dashboard/stores.js';
import type { Driver } from './harness.js';
import {
  anyNumber,
  anyValue,
  attempt,
  expectInputError,
  isPlainJson,
  isStorable,
  jsonBytes,
  params,
  printable,
  roundTrip,
  text,
  typedOrAccepted,
  type Outcome,
  driveStore,
} from './harness.js';

const MAX_PAYLOAD = 1_048_576;
const MAX_PROGRESS = 65_536;
const cases = await storeCases('prop-values');

/** Metadata must be a plain object of JSON: the oracle, written apart from src/. */
function metadataOk(m: unknown): boolean {
  if (m === undefined) return true;
  try {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
    const proto = Object.getPrototypeOf(m) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    // toJSON on the metadata itself is outside the promise: a record is read field by field.
    if (typeof (m as { toJSON?: unknown }).toJSON === 'function') return false;
  } catch {
    return false;
  }
  return isPlainJson(m) && jsonBytes(m) <= MAX_PAYLOAD;
}

/** True for a promise (and false for a value whose prototype cannot be read). */
function isPromise(v: unknown): v is Promise<unknown> {
  try {
    return v instanceof Promise;
  } catch {
    return false;
  }
}

/** True when awaiting `v` throws (reading its `then` throws): the handler then failed, not returned. */
function thenThrows(v: unknown): boolean {
  try {
    void (v as { then?: unknown } | null)?.then;
    return false;
  } catch {
    return true;
  }
}

/** Errors of every kind a handler may throw, with messages of every kind (long, split pairs, NUL). */
const thrown: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: anyValue() },
  {
    weight: 3,
    arbitrary: fc
      .record({
        message: text({ long: 4100 }),
        kind: fc.constantFrom('Error', 'TypeError', 'RangeError', 'Validation', 'Transient', 'Auth', 'Fatal'),
        status: fc.option(fc.constantFrom(400, 401, 403, 404, 408, 422, 429, 500, 501, 503, 507, 99, 600)),
        code: fc.option(
          fc.constantFrom('ECONNRESET', 'ENOSPC', 'EMFILE', '40001', '23505', 'SQLITE_BUSY', ''),
        ),
        name: fc.option(text()),
        retryAfter: fc.option(
          fc.oneof(anyNumber.map(String), text(), fc.constant('Wed, 21 Oct 2015 07:28:00 GMT')),
        ),
      })
      .map(({ message, kind, status, code, name, retryAfter }) => {
        const e =
          kind === 'Error'
            ? new Error(message)
            : kind === 'TypeError'
              ? new TypeError(message)
              : kind === 'RangeError'
                ? new RangeError(message)
                : kind === 'Validation'
                  ? new ValidationError(message)
                  : kind === 'Transient'
                    ? new TransientError(message)
                    : kind === 'Auth'
                      ? new AuthError(message)
                      : new FatalError(message);
        const extra: Record<string, unknown> = {};
        if (status !== null) extra.status = status;
        if (code !== null) extra.code = code;
        if (retryAfter !== null) extra.headers = { 'retry-after': retryAfter };
        if (name !== null) Object.defineProperty(e, 'name', { value: name });
        return Object.assign(e, extra);
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(text({ long: 2100 }), fc.option(anyNumber), fc.boolean())
      .map(([message, retryAfterMs, dependency]) =>
        dependency
          ? new DependencyError(message, { dependency: 'svc', retryAfterMs: retryAfterMs ?? undefined })
          : new RateLimitError(message, { retryAfterMs: retryAfterMs ?? undefined }),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('message', 'name', 'stack', 'code', 'cause').map((key) =>
      printable(
        Object.defineProperty(new Error('hostile'), key, {
          get() {
            throw new Error(`hostile ${key} getter`);
          },
        }),
        `<an Error whose ${key} getter throws>`,
      ),
    ),
  },
);

describe.each(cases)('values on $name', (c) => {
  let store: Store;
  let driver: Driver;
  let seq = 0;

  driveStore(
    c,
    'values',
    { defaults: { maxAttempts: 2, backoff: { type: 'constant', delayMs: 0 } } },
    (s, d) => {
      store = s;
      driver = d;
    },
  );

  it.skipIf(!c.available)(
    'payloads and metadata: refused with a typed error and nothing written, or read back as JSON and run',
    async () => {
      const q = driver.queue;
      await fc.assert(
        fc.asyncProperty(
          anyValue({ huge: true }),
          fc.option(anyValue(), { freq: 2 }),
          async (payload, meta) => {
            const id = `p${seq++}`;
            const metadata = meta === null ? undefined : meta;
            const seen: { payload?: unknown; metadata?: unknown } = {};
            driver.plan(id, (ctx) => {
              seen.payload = ctx.payload;
              seen.metadata = ctx.job.metadata;
              return 'done';
            });
            const out = await typedOrAccepted(store, q.name, () =>
              q.add(payload, { id, metadata: metadata as Record<string, unknown> }),
            );
            const valid = isPlainJson(payload) && jsonBytes(payload) <= MAX_PAYLOAD && metadataOk(metadata);
            if (!out.ok) {
              expect(valid, 'a JSON payload and metadata were refused').toBe(false);
              return;
            }
            expect(valid, 'a value JSON cannot keep was accepted').toBe(true);
            const stored = (await q.getJob(id))!;
            expect(stored.payload).toEqual(roundTrip(payload));
            expect(stored.metadata).toEqual(metadata === undefined ? {} : roundTrip(metadata));
            const done = await driver.final(id);
            expect(done!.state).toBe('completed');
            expect(done!.result).toBe('done');
            expect(seen.payload).toEqual(roundTrip(payload));
            expect(seen.metadata).toEqual(stored.metadata);
          },
        ),
        params(1101, 150),
      );
    },
    180_000,
  );

  it.skipIf(!c.available)(
    'checkpoints, progress, results and thrown values: refused typed, or stored as JSON; every job ends',
    async () => {
      const q = driver.queue;
      const step = fc.record({
        checkpoint: fc.option(anyValue({ huge: true }), { freq: 3 }),
        progress: fc.option(anyValue(), { freq: 3 }),
        end: fc.oneof(
          anyValue({ huge: true }).map((value) => ({ returns: value })),
          thrown.map((value) => ({ throws: value })),
        ),
      });
      await fc.assert(
        fc.asyncProperty(step, async (s) => {
          const id = `r${seq++}`;
          let checkpoint: Outcome<void> | undefined;
          let progress: Outcome<void> | undefined;
          driver.plan(id, async (ctx, call) => {
            if (call > 1) return 'second';
            if (s.checkpoint !== null) checkpoint = await attempt(() => ctx.checkpoint(s.checkpoint));
            if (s.progress !== null) progress = await attempt(() => ctx.progress(s.progress));
            if ('throws' in s.end) throw s.end.throws;
            return s.end.returns;
          });
          await q.add({ n: seq }, { id });
          const done = (await driver.final(id))!;
          expect(['completed', 'dead']).toContain(done.state);
          expect(driver.callsOf(id)).toBeLessThanOrEqual(2);

          if (s.checkpoint !== null) {
            const ok = isPlainJson(s.checkpoint) && jsonBytes(s.checkpoint) <= MAX_PAYLOAD;
            if (ok) {
              expect(checkpoint, 'a JSON checkpoint was refused').toEqual({ ok: true, value: undefined });
              expect(done.checkpoint).toEqual(roundTrip(s.checkpoint));
            } else {
              expect(checkpoint!.ok, 'a checkpoint JSON cannot keep was accepted').toBe(false);
              expectInputError((checkpoint as { error: unknown }).error);
              expect(done.checkpoint).toBeNull();
            }
          }
          if (s.progress !== null) {
            const ok = isPlainJson(s.progress) && jsonBytes(s.progress) <= MAX_PROGRESS;
            if (ok) {
              expect(progress, 'a JSON progress value was refused').toEqual({ ok: true, value: undefined });
              expect(done.progress).toEqual(roundTrip(s.progress));
            } else {
              expect(progress!.ok, 'a progress value JSON cannot keep was accepted').toBe(false);
              expectInputError((progress as { error: unknown }).error);
              expect(done.progress).toBeNull();
            }
          }
          if ('returns' in s.end && !thenThrows(s.end.returns)) {
            // A returned promise is awaited: its value is the result.
            const r = isPromise(s.end.returns) ? await s.end.returns : s.end.returns;
            if (r === undefined) {
              expect(done.state).toBe('completed');
              expect(done.result).toBeNull();
            } else if (isPlainJson(r) && jsonBytes(r) <= MAX_PAYLOAD) {
              expect(done.state).toBe('completed');
              expect(done.result).toEqual(roundTrip(r));
            } else {
              // A result JSON cannot keep is the handler's bug: the job is dead-lettered, as validation.
              expect(done.state).toBe('dead');
              expect(done.errors.at(-1)!.category).toBe('validation');
              expect(done.result).toBeNull();
            }
          }
          // Every error record and reason the store kept is what the worker reported, and storable text.
          for (const e of done.errors) {
            expect(isStorable(e.message), `message ${JSON.stringify(e.message.slice(-20))}`).toBe(true);
            expect(isStorable(e.name)).toBe(true);
            if (e.stack !== undefined) expect(isStorable(e.stack)).toBe(true);
          }
          if (done.reason !== null) expect(isStorable(done.reason)).toBe(true);
          // The store keeps each error record exactly as the worker reported it.
          for (const e of driver.emitted.get(id) ?? []) {
            if (e.event !== 'job:completed') expect(done.errors).toContainEqual(e.job.errors.at(-1));
          }
        }),
        params(1102, 120),
      );
      const status = await q.status();
      expect(status.paused).toBe(false);
    },
    240_000,
  );
});
