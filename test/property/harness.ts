/**
 * Shared pieces of the property tests (issue 11, point 4): the arbitraries (any JS value, text made
 * of every kind of UTF-16 code unit, option objects of any shape), the check that a refused call threw
 * a typed bulwark error and changed nothing, the JSON round trip the API promises, and a driver that
 * runs an accepted job to a final state through a real Worker.
 *
 * Runs are reproducible: every property has a fixed seed. `BULWARK_PROP_SEED=<n>` replaces it (any
 * integer explores new inputs) and `BULWARK_PROP_RUNS=<n>` the number of runs.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect } from 'vitest';
import type { StoreCase } from '../dashboard/stores.js';
import {
  BulwarkError,
  Queue,
  Worker,
  type Handler,
  type Job,
  type JobContext,
  type JobDefaults,
  type QueueOptions,
  type Store,
  type WorkerOptions,
} from '../../src/index.js';

// ---------------------------------------------------------------------------------------------
// Running properties

/** fast-check parameters: the seed and run count of a property, each replaceable from the environment. */
export function params(seed: number, numRuns: number): fc.Parameters<unknown> {
  const envSeed = process.env.BULWARK_PROP_SEED;
  const envRuns = Number(process.env.BULWARK_PROP_RUNS);
  return {
    seed: envSeed === undefined || envSeed === '' ? seed : Number(envSeed),
    numRuns: Number.isInteger(envRuns) && envRuns > 0 ? envRuns : numRuns,
    // A failing run is shrunk, but not for ever: each run may wait for a worker.
    interruptAfterTimeLimit: 90_000,
    markInterruptAsFailure: false,
  };
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs `f`, catching what it throws (synchronously or not). */
export async function attempt<T>(f: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The error codes a refused input may carry: never a driver error, a raw TypeError or a StoreError. */
export const INPUT_ERROR_CODES = ['VALIDATION', 'NOT_FOUND', 'INVALID_STATE', 'CAPABILITY'] as const;

/** Describes an error for a failure message (its class, code, message and the top of its stack). */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return `a thrown ${typeof e}: ${String(e)}`;
  const stack = (e.stack ?? '').split('\n').slice(1, 4).join(' | ');
  return `${e.constructor.name} ${(e as { code?: unknown }).code ?? ''}: ${e.message.slice(0, 300)} at ${stack}`;
}

/** Asserts that `e` is a typed bulwark error for bad input (a ValidationError unless `codes` says more). */
export function expectInputError(e: unknown, codes: readonly string[] = ['VALIDATION']): void {
  expect(e instanceof BulwarkError, `expected a bulwark error, got ${describeError(e)}`).toBe(true);
  const err = e as BulwarkError;
  expect(codes, `unexpected error: ${describeError(e)}`).toContain(err.code);
  expect(err.message, describeError(e)).toMatch(/^\[bulwark\]/);
}

/**
 * What a refused call must leave as it was: the store's queues and, read at one fixed time, the
 * queue's counts, status, schedules and every job row.
 */
export async function fingerprint(store: Store, queue: string, now = 0): Promise<string> {
  const [queues, counts, status, jobs, schedules] = await Promise.all([
    store.queues(),
    store.counts(queue, now),
    store.status(queue),
    store.list(queue, { limit: 10_000, order: 'asc' }, now),
    store.listSchedules(queue),
  ]);
  return JSON.stringify({ queues: [...queues].sort(), counts, status, jobs, schedules });
}

/**
 * The call either throws a typed bulwark error and changes nothing (the queue's fingerprint is the
 * same after), or it is accepted; returns the outcome for the caller's read-back checks.
 */
export async function typedOrAccepted<T>(
  store: Store,
  queue: string,
  call: () => T | Promise<T>,
  codes: readonly string[] = ['VALIDATION'],
): Promise<Outcome<T>> {
  const now = Date.now();
  const before = await fingerprint(store, queue, now);
  const out = await attempt(call);
  if (!out.ok) {
    expectInputError(out.error, codes);
    expect(await fingerprint(store, queue, now), 'a refused call changed the store').toBe(before);
  }
  return out;
}

/** What the API promises to keep of a value: what JSON.stringify then JSON.parse make of it. */
export const roundTrip = (v: unknown): unknown => (v === undefined ? null : JSON.parse(JSON.stringify(v)));

/**
 * True when JSON keeps `v` as the API promises to (the oracle, written apart from src/): JSON.stringify
 * neither throws nor drops or mangles anything on the way (undefined in arrays, NaN, functions, Maps,
 * class instances, symbol keys, invalid Dates, cycles, nesting past 64 levels).
 */
export function isPlainJson(v: unknown, depth = 0, seen = new Set<unknown>(), key = ''): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object': {
      if (v === null) return true;
      // Objects and arrays nest 64 levels below the top one at most.
      if (depth > 64 || seen.has(v)) return false;
      let toJSON: unknown;
      try {
        toJSON = (v as { toJSON?: unknown }).toJSON;
      } catch {
        return false;
      }
      if (typeof toJSON === 'function') {
        if (v instanceof Date && Number.isNaN(v.getTime())) return false;
        let out: unknown;
        try {
          out = (toJSON as (k: string) => unknown).call(v, key);
        } catch {
          return false;
        }
        if (out === undefined) return false;
        seen.add(v);
        const ok = isPlainJson(out, depth + 1, seen, key);
        seen.delete(v);
        return ok;
      }
      seen.add(v);
      try {
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            if (!(i in v) || v[i] === undefined) return false;
            if (!isPlainJson(v[i], depth + 1, seen, String(i))) return false;
          }
          return true;
        }
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto !== Object.prototype && proto !== null) return false;
        if (Object.getOwnPropertySymbols(v).length > 0) return false;
        for (const k of Object.keys(v)) {
          const child = (v as Record<string, unknown>)[k];
          if (child !== undefined && !isPlainJson(child, depth + 1, seen, k)) return false;
        }
        return true;
      } catch {
        return false;
      } finally {
        seen.delete(v);
      }
    }
    default:
      return false;
  }
}

/** Bytes of the JSON text of `v` (for values `isPlainJson` accepts). */
export const jsonBytes = (v: unknown): number =>
  Buffer.byteLength(JSON.stringify(v === undefined ? null : v), 'utf8');

/** True when every store can keep `s` exactly: no NUL and no unpaired surrogate (written apart from src/). */
export function isStorable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** One UTF-16 code unit or code point of every kind: ASCII, NUL and controls, lone halves, pairs. */
const unit: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...'aZ09-_.:/ %?#&=+'.split('')) },
  { weight: 2, arbitrary: fc.constantFrom('\0', '\u0001', '\n', '\r', '\t', '\u007f', '"', "'", '\\', '`') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '\ud83d', '\ude00'),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '😀',
      '𝄞',
      '\u{10ffff}',
      'é',
      'ß',
      '漢',
      '\u200b',
      '\u2028',
      '\ufeff',
      '\uffff',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/**
 * Text of every kind: short strings of any code units (lone surrogates, NUL, pairs), and now and then
 * a long one (up to `long` units, e.g. past a limit) or a run of surrogate pairs at an odd offset
 * (which a cut at a fixed length splits in two).
 */
export function text(options: { maxLength?: number; long?: number } = {}): fc.Arbitrary<string> {
  const maxLength = options.maxLength ?? 24;
  const long = options.long ?? 0;
  const short = fc.string({ unit, maxLength });
  if (long <= 0) return short;
  return fc.oneof(
    { weight: 8, arbitrary: short },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 1, max: long }), fc.constantFrom('x', 'é', '😀', '\0', '\ud800'))
        .map(([n, u]) => u.repeat(Math.max(1, Math.floor(n / u.length)))),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: long }), fc.boolean())
        .map(([n, odd]) => `${odd ? 'x' : ''}${'😀'.repeat(Math.ceil(n / 2))}`),
    },
  );
}

/** A fresh object holding a cycle (each run gets its own). */
const cyclic = fc.constantFrom('object', 'array', 'deep').map((kind) => {
  if (kind === 'array') {
    const a: unknown[] = [1];
    a.push(a);
    return a;
  }
  const o: Record<string, unknown> = { a: 1 };
  if (kind === 'deep') o.child = { list: [{ back: o }] };
  else o.self = o;
  return o;
});

/** Nested arrays or objects `depth` deep (past 64 levels is refused). */
const nested = fc.tuple(fc.integer({ min: 1, max: 90 }), fc.boolean()).map(([depth, asArray]) => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { k: v };
  return v;
});

/** Values with a `toJSON`, in every shape `JSON.stringify` would meet. */
const withToJson = fc.oneof(
  fc.date({ noInvalidDate: false }),
  fc
    .constantFrom<() => unknown>(
      () => 1,
      () => 'text',
      () => undefined,
      () => 10n,
      () => NaN,
      () => new Map([[1, 2]]),
      () => () => 1,
      () => Symbol('s'),
      () => new Date(0),
      () => ({ nested: new Date(NaN) }),
      () => {
        throw new Error('toJSON threw');
      },
    )
    .map((toJSON) => ({ toJSON })),
  fc.constant(null).map(() => {
    const o: Record<string, unknown> = {};
    o.toJSON = () => o;
    return o;
  }),
);

/**
 * `target` behind a proxy that fast-check can print (its reporter would otherwise read the throwing
 * parts): the label answers `fc.toStringMethod`, everything else goes to `traps` or the target.
 */
export function printable<T extends object>(target: T, label: string, traps: ProxyHandler<T> = {}): T {
  return new Proxy(target, {
    ...traps,
    has: (t, k) => k === fc.toStringMethod || Reflect.has(t, k),
    get: (t, k, r) =>
      k === fc.toStringMethod ? () => label : traps.get ? traps.get(t, k, r) : Reflect.get(t, k, t),
  });
}

const boom = (what: string) => (): never => {
  throw new Error(`hostile ${what}`);
};

/** Objects whose reading throws: a getter, a toJSON getter, a proxy trap. */
const hostile = fc
  .constantFrom('getter', 'toJSON getter', 'ownKeys', 'get', 'getPrototypeOf', 'getOwnPropertyDescriptor')
  .map((kind): object => {
    const label = `<hostile ${kind}>`;
    switch (kind) {
      case 'getter':
        return printable(Object.defineProperty({}, 'a', { enumerable: true, get: boom(kind) }), label);
      case 'toJSON getter':
        return printable(Object.defineProperty({}, 'toJSON', { enumerable: false, get: boom(kind) }), label);
      case 'ownKeys':
        return printable({}, label, { ownKeys: boom(kind) });
      case 'get':
        return printable({ a: 1 }, label, { get: boom(kind) });
      case 'getPrototypeOf':
        return printable({}, label, { getPrototypeOf: boom(kind) });
      default:
        return printable({ a: 1 }, label, { getOwnPropertyDescriptor: boom(kind) });
    }
  });

/** Keys JSON keeps but object literals and copies may not: `__proto__`, `constructor`, empty. */
const oddKeys = fc
  .tuple(
    fc.constantFrom('__proto__', 'constructor', 'toString', '', 'hasOwnProperty'),
    fc.jsonValue({ maxDepth: 1 }),
  )
  .map(([k, v]) => JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v)},"other":1}`) as unknown);

/** Huge strings, on both sides of the 1 MiB default limit, in 1-, 2- and 4-byte characters. */
const huge = fc
  .tuple(fc.integer({ min: 200_000, max: 1_100_000 }), fc.constantFrom('x', 'é', '😀'))
  .map(([bytes, u]) => u.repeat(Math.floor(bytes / Buffer.byteLength(u))));

const specials = fc.constantFrom<unknown>(
  undefined,
  null,
  NaN,
  -0,
  0,
  Infinity,
  -Infinity,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER + 2,
  1e21,
  -1e-7,
  '',
  true,
  false,
  [],
  {},
  [undefined],
  [null],
  { u: undefined },
);

const exotic = fc.constantFrom(
  () => 10n,
  () => Symbol('s'),
  () => function named() {},
  () => async () => 1,
  () => new Map([['k', 1]]),
  () => new Set([1]),
  () => new WeakMap(),
  () => /re/g,
  () => new Error('an error'),
  () => new Uint8Array([1, 2]),
  () => new ArrayBuffer(2),
  () => new String('boxed'),
  () => new Number(1),
  () => Promise.resolve(1),
  () => Object.create(null) as unknown,
  () => Object.assign(Object.create(null) as object, { a: 1 }),
  () =>
    new (class Custom {
      x = 1;
    })(),
  () => ({ [Symbol('k')]: 1, a: 1 }),
  // eslint-disable-next-line no-sparse-arrays
  () => [1, , 3],
  () => Object.assign([1, 2], { extra: 'dropped by JSON' }),
  () => Object.freeze({ frozen: true }),
  () => Object.defineProperty({ seen: 1 }, 'hidden', { value: 2, enumerable: false }),
  () => globalThis,
  () => process.env,
);

/**
 * Any JS value: plain JSON of every shape with text of every code unit, numbers at the edges, and
 * everything JSON cannot keep (undefined, NaN, -0, BigInt, symbols, functions, cycles, Dates valid and
 * not, Maps, Sets, class instances, boxed values, sparse arrays, deep nesting, huge strings, toJSON in
 * every form, getters and proxies that throw).
 */
export function anyValue(options: { huge?: boolean } = {}): fc.Arbitrary<unknown> {
  const stringUnit = unit;
  const arbitraries: fc.WeightedArbitrary<unknown>[] = [
    { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    {
      weight: 6,
      arbitrary: fc.anything({
        maxDepth: 3,
        maxKeys: 5,
        stringUnit,
        withBigInt: true,
        withBoxedValues: true,
        withDate: true,
        withMap: true,
        withSet: true,
        withNullPrototype: true,
        withObjectString: true,
        withSparseArray: true,
        withTypedArray: true,
      }),
    },
    { weight: 3, arbitrary: fc.dictionary(text(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) },
    { weight: 3, arbitrary: text({ long: 3000 }) },
    { weight: 2, arbitrary: specials },
    { weight: 2, arbitrary: exotic.map((make) => make()) },
    { weight: 1, arbitrary: cyclic },
    { weight: 1, arbitrary: nested },
    { weight: 2, arbitrary: withToJson },
    { weight: 1, arbitrary: hostile },
    { weight: 1, arbitrary: oddKeys },
  ];
  if (options.huge) arbitraries.push({ weight: 1, arbitrary: huge });
  // Some values sit inside a plain object or array, where JSON treats them differently (dropped keys).
  const leaf = fc.oneof(...arbitraries);
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    { weight: 1, arbitrary: leaf.map((v) => ({ wrapped: v, n: 1 })) },
    { weight: 1, arbitrary: leaf.map((v) => [v, 'x']) },
  );
}

/** A number of any kind: integers at and past every bound, negatives, fractions, NaN, infinities. */
export const anyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -5, max: 100 }),
  fc.integer(),
  fc.constantFrom(
    0,
    -0,
    -1,
    0.5,
    1.5,
    NaN,
    Infinity,
    -Infinity,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e21,
    49,
    50,
    1000,
    10_000,
    10_001,
    1_000_000,
    1_000_001,
    86_400_000,
    365 * 86_400_000,
    365 * 86_400_000 + 1,
    10 * 365 * 86_400_000,
    10 * 365 * 86_400_000 + 1,
  ),
  fc.double({ noDefaultInfinity: false }),
);

/** Anything an option field might be given: right types, wrong types, edge numbers. */
export const anyOptionValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: anyNumber },
  { weight: 3, arbitrary: text() },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, true, false, [], {}, 10n, () => 1) },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: false }) },
  { weight: 1, arbitrary: fc.array(text(), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/**
 * An option object of any shape. `valid` maps each known key to an arbitrary of values meant to be
 * accepted (at and inside every bound); most objects are built from those alone (up to four of the
 * keys), the others have one or two fields replaced by anything at all (a wrong type,
 * NaN, a negative or huge number, a string of any code units) or an unknown key added, and now and
 * then the object is not an object or throws when read.
 */
export function optionObject(
  valid: Record<string, fc.Arbitrary<unknown>>,
  options: { required?: readonly string[] } = {},
): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  const required = options.required ?? [];
  const optional = keys.filter((k) => !required.includes(k));
  // The required keys and a few others (most option objects set a few), each with a valid value.
  const record = fc
    .subarray(optional, { maxLength: Math.min(4, optional.length) })
    .chain((chosen) =>
      fc.record(Object.fromEntries([...required, ...chosen].map((k) => [k, valid[k]!]))),
    ) as fc.Arbitrary<Record<string, unknown>>;
  const corrupted = fc
    .tuple(
      record,
      fc.array(
        fc.tuple(
          fc.oneof(
            { weight: 4, arbitrary: fc.constantFrom(...keys) },
            { weight: 1, arbitrary: fc.constantFrom('unknownOption', '__proto__', 'constructor', '') },
          ),
          fc.oneof(anyOptionValue, anyNumber),
        ),
        { minLength: 1, maxLength: 2 },
      ),
    )
    .map(([r, bad]) => {
      const o: Record<string, unknown> = { ...r };
      // defineProperty: a '__proto__' key is an own key, as JSON.parse would make it.
      for (const [k, v] of bad)
        Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    });
  return fc.oneof(
    { weight: 12, arbitrary: record },
    { weight: 5, arbitrary: corrupted },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(undefined, null, 0, 'options', [], () => ({}), Symbol('o')),
    },
    { weight: 1, arbitrary: hostile },
  );
}

/** Valid text for names and keys: printable graphemes, 1 to `max` of them. */
export const name = (max = 24): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: max }),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: max }),
  );

/** An integer in [min, max], with the bounds themselves often. */
export const intIn = (min: number, max: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min, max }) },
    { weight: 1, arbitrary: fc.constantFrom(min, max) },
  );

// ---------------------------------------------------------------------------------------------
// Driving accepted jobs to a final state

export const FINAL = ['completed', 'dead', 'cancelled'] as const;
const isFinal = (state: string): boolean => (FINAL as readonly string[]).includes(state);

/** What the handler does on the `call`-th run of a job (1-based, counted across attempts and snoozes). */
export type Plan = (ctx: JobContext<unknown>, call: number) => unknown;

/** The last outcome event the worker emitted for a job. */
export interface Emitted {
  event: 'job:completed' | 'job:dead' | 'job:retrying' | 'job:snoozed';
  job: Job;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the jobs of one queue through a real Worker, each to a final state. The worker reads a clock
 * that the driver moves forward (never back) while the job it waits for is due later (delayed, backed
 * off, snoozed, throttled), so a job delayed by a year runs now; an auth pause is resumed as an operator
 * would, and a worker stopped by a fatal error is started again.
 */
export class Driver {
  readonly queue: Queue;
  private readonly runner: Queue;
  private worker: Worker;
  private skew = 0;
  private readonly plans = new Map<string, Plan>();
  private readonly calls = new Map<string, number>();
  /** Every outcome event of each job, in order. */
  readonly emitted = new Map<string, Emitted[]>();
  readonly workerErrors: string[] = [];

  constructor(
    readonly store: Store,
    readonly name: string,
    private readonly options: {
      defaults?: JobDefaults;
      maxPayloadBytes?: number;
      /** More queue options (rate limit, groups), for both the queue and the worker's view of it. */
      queue?: Omit<QueueOptions, 'store' | 'clock'>;
      worker?: WorkerOptions;
    } = {},
  ) {
    const common = {
      ...options.queue,
      store,
      defaults: options.defaults ?? options.queue?.defaults,
      maxPayloadBytes: options.maxPayloadBytes ?? options.queue?.maxPayloadBytes,
    };
    this.queue = new Queue(name, common);
    this.runner = new Queue(name, { ...common, clock: { now: () => Date.now() + this.skew } });
    this.worker = this.makeWorker();
  }

  private makeWorker(): Worker {
    const handler: Handler = (ctx) => {
      const id = ctx.job.id;
      const call = (this.calls.get(id) ?? 0) + 1;
      this.calls.set(id, call);
      const plan = this.plans.get(id);
      return plan ? plan(ctx, call) : undefined;
    };
    // Options given are passed as they are (they may be anything): the defaults are the driver's own.
    const w = new Worker(
      this.runner,
      handler,
      this.options.worker ?? { pollIntervalMs: 20, retention: false, schedules: false },
    );
    for (const event of ['job:completed', 'job:dead', 'job:retrying', 'job:snoozed'] as const) {
      w.on(event, (e: { job: Job }) => {
        const list = this.emitted.get(e.job.id) ?? [];
        list.push({ event, job: structuredCopy(e.job) });
        this.emitted.set(e.job.id, list);
      });
    }
    w.on('worker:error', (e) => this.workerErrors.push(`${e.during}: ${e.error.message.slice(0, 200)}`));
    // Options may say `autostart: false`: the driver starts it all the same.
    if (!w.isRunning) w.start();
    return w;
  }

  /** Sets what the handler does for job `id` (before the job is added, or before it runs). */
  plan(id: string, plan: Plan): void {
    this.plans.set(id, plan);
  }

  /** How many times the handler ran for `id`. */
  callsOf(id: string): number {
    return this.calls.get(id) ?? 0;
  }

  /** Waits until job `id` is completed, dead or cancelled (or deleted: null); fails after `timeoutMs`. */
  async final(id: string, timeoutMs = 10_000): Promise<Job | null> {
    const deadline = Date.now() + timeoutMs;
    let last = 'unknown';
    for (;;) {
      const job = await this.queue.getJob(id);
      if (!job) return null;
      if (isFinal(job.state)) return job;
      last = `${job.state} (attempts ${job.attempts}, runAt ${job.runAt}, errors ${JSON.stringify(job.errors).slice(0, 400)})`;
      const status = await this.queue.status();
      if (status.paused) await this.queue.resume();
      // An auth error in a queue with groups pauses the job's group: resumed too, as an operator would.
      let groupUntil = 0;
      if (job.group !== null && this.queue.groups) {
        const group = (await this.queue.listGroups({ limit: 10_000 })).find((g) => g.name === job.group);
        if (group?.paused) await this.queue.resumeGroup(job.group);
        groupUntil = group?.throttledUntil ?? 0;
      }
      if (!this.worker.isRunning) {
        await this.worker.close({ graceMs: 0 });
        this.worker = this.makeWorker();
      }
      // Only the job waited for is unfinished: moving the clock cannot expire anyone's lease.
      if (job.state === 'waiting' || job.state === 'delayed') {
        const now = Date.now() + this.skew;
        const due = Math.max(job.runAt, status.throttledUntil, groupUntil);
        // Run times end with year 9999 (what `runAt` accepts): a job due later waits for ever.
        if (due > 253_402_300_799_999)
          throw new Error(`job ${JSON.stringify(id)} is not due before year 10000`);
        if (due >= now) {
          this.skew += due - now + 1;
          // Wakes the worker now rather than at its next poll (resume() signals this process's workers).
          await this.queue.resume();
        }
      }
      if (Date.now() > deadline) {
        throw new Error(
          `job ${JSON.stringify(id)} did not reach a final state within ${timeoutMs} ms: ${last}; worker errors: ${this.workerErrors.slice(-3).join(' / ')}`,
        );
      }
      await sleep(15);
    }
  }

  async close(): Promise<void> {
    await this.worker.close({ graceMs: 0 });
  }
}

/** A copy of an emitted job as it was at the event (later events mutate the same object). */
function structuredCopy(job: Job): Job {
  return { ...job, errors: job.errors.map((e) => ({ ...e })) };
}

/**
 * The suite's store and Driver for one store case: opened before the suite (then `ready` runs with
 * them), and closed, with the case's data, after it. A case whose server is missing does nothing.
 */
export function driveStore(
  c: StoreCase,
  name: string,
  options: ConstructorParameters<typeof Driver>[2],
  ready: (store: Store, driver: Driver) => void | Promise<void>,
): void {
  let store: Store | undefined;
  let driver: Driver | undefined;
  beforeAll(async () => {
    if (!c.available) return;
    store = c.create();
    await store.init();
    driver = new Driver(store, name, options);
    await ready(store, driver);
  });
  afterAll(async () => {
    if (!c.available) return;
    await driver?.close();
    await store?.close();
    await c.cleanup();
  });
}
