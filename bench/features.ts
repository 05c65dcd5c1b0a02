/**
 * `npm run bench -- features [--only sqlite,postgres,redis] [--skip schedule]`
 * The goals of issue 15 (schedules, uniqueness, progress, flows, fair groups), measured on every store
 * that is reachable:
 * - fairness: one group adds 50,000 jobs, nine groups add 100 each (the big one first), concurrency 10:
 *   how many of the big group's jobs completed when the last small-group job did (goal < 5%);
 * - group concurrency under 4 worker processes: the most jobs of one group in flight at once (goal ≤ limit);
 * - a per-second schedule with 4 worker processes for 60 ticks: jobs added (goal exactly 60);
 * - throughput with 10,000 groups against the same queue without groups (goal ≥ 0.7×);
 * - fan-out 1 → 1,000 children → join: the join runs once, after the last child; the time it takes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker, type Store } from '../src/index.js';
import { boundCheck, checkLines, markdownTable, ratioCheck, writeResults, type Check } from './lib.js';
import {
  dropSpec,
  freshSpec,
  openStore,
  reachable,
  type StoreKind,
  type StoreSpec,
} from './features/stores.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = (opt('only')?.split(',') ?? ['sqlite', 'postgres', 'redis']) as StoreKind[];
const skip = new Set(opt('skip')?.split(',') ?? []);
const here = dirname(fileURLToPath(import.meta.url));
const kinds: StoreKind[] = [];
for (const k of only) {
  if (await reachable(k)) kinds.push(k);
  else console.warn(`[bench features] ${k} is not reachable: skipped`);
}

async function withStore<T>(kind: StoreKind, fn: (store: Store, spec: StoreSpec) => Promise<T>): Promise<T> {
  const spec = freshSpec(kind);
  const store = openStore(spec);
  await store.init();
  try {
    return await fn(store, spec);
  } finally {
    await store.close();
    await dropSpec(spec);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- fairness -------------------------------------------------------------------------------------
const BIG = 50_000;
const SMALL_GROUPS = 9;
const SMALL = 100;

async function fairness(kind: StoreKind): Promise<{ bigDone: number; smallMs: number }> {
  return withStore(kind, async (store) => {
    const q = new Queue<number>('fair', { store, groups: {} });
    for (let i = 0; i < BIG; i += 5000) {
      await q.addBulk(
        Array.from({ length: Math.min(5000, BIG - i) }, (_, k) => ({
          payload: i + k,
          options: { group: 'big' },
        })),
      );
    }
    for (let g = 0; g < SMALL_GROUPS; g++) {
      await q.addBulk(
        Array.from({ length: SMALL }, (_, k) => ({ payload: k, options: { group: `small-${g}` } })),
      );
    }
    let big = 0;
    let small = 0;
    const t0 = performance.now();
    const w = new Worker(q, () => undefined, { concurrency: 10, retention: false, schedules: false });
    const result = await new Promise<{ bigDone: number; smallMs: number }>((resolve) => {
      w.on('job:completed', ({ job }) => {
        if (job.group === 'big') big++;
        else if (++small === SMALL_GROUPS * SMALL) resolve({ bigDone: big, smallMs: performance.now() - t0 });
      });
    });
    await w.close({ graceMs: 0 });
    return result;
  });
}

// --- processes ------------------------------------------------------------------------------------
interface Child {
  proc: ChildProcess;
  out: string;
  ready: Promise<void>;
  done: Promise<void>;
}

function startChild(spec: StoreSpec, queue: string, mode: string, limit = 0): Child {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(here, 'features', 'child.ts'),
      spec.kind,
      spec.where,
      queue,
      mode,
      String(limit),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const child: Child = { proc, out: '', ready: Promise.resolve(), done: Promise.resolve() };
  child.ready = new Promise((resolve) => {
    proc.stdout!.on('data', (d: Buffer) => {
      child.out += d.toString();
      if (child.out.includes('ready\n')) resolve();
    });
  });
  child.done = new Promise((resolve) => proc.on('close', () => resolve()));
  return child;
}

async function stopChildren(children: Child[]): Promise<string[]> {
  for (const c of children) c.proc.stdin!.end();
  await Promise.all(children.map((c) => c.done));
  return children.flatMap((c) => c.out.split('\n'));
}

// --- group concurrency under 4 processes ----------------------------------------------------------
const LIMIT = 3;
const LIMIT_GROUPS = 20;
const LIMIT_JOBS = 40;

async function groupLimit(kind: StoreKind): Promise<{ maxInFlight: number; jobs: number }> {
  return withStore(kind, async (store, spec) => {
    const q = new Queue<number>('limits', { store, groups: { concurrency: LIMIT } });
    const children = Array.from({ length: 4 }, () => startChild(spec, 'limits', 'groups', LIMIT));
    await Promise.all(children.map((c) => c.ready));
    const items = [];
    for (let j = 0; j < LIMIT_JOBS; j++)
      for (let g = 0; g < LIMIT_GROUPS; g++) items.push({ payload: j, options: { group: `g${g}` } });
    await q.addBulk(items);
    const total = LIMIT_GROUPS * LIMIT_JOBS;
    while ((await q.counts()).completed < total) await sleep(50);
    const lines = await stopChildren(children);
    const events = new Map<string, { t: number; d: number }[]>();
    let jobs = 0;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const r = JSON.parse(line) as { g: string; s: number; e: number };
      jobs++;
      const list = events.get(r.g) ?? [];
      list.push({ t: r.s, d: 1 }, { t: r.e, d: -1 });
      events.set(r.g, list);
    }
    let maxInFlight = 0;
    for (const list of events.values()) {
      // Ends before starts at the same instant: a slot freed and taken at once is not an overlap.
      list.sort((a, b) => a.t - b.t || a.d - b.d);
      let now = 0;
      for (const e of list) maxInFlight = Math.max(maxInFlight, (now += e.d));
    }
    return { maxInFlight, jobs };
  });
}

// --- a schedule with 4 processes ------------------------------------------------------------------
const TICKS = 60;

async function schedule(kind: StoreKind): Promise<{ jobs: number; distinct: number; expected: number }> {
  return withStore(kind, async (store, spec) => {
    const q = new Queue('cron', { store });
    const children = Array.from({ length: 4 }, () => startChild(spec, 'cron', 'schedule'));
    await Promise.all(children.map((c) => c.ready));
    const created = Date.now();
    await q.schedule('every-second', { cron: '* * * * * *' });
    const first = Math.floor(created / 1000) * 1000 + 1000;
    const last = first + (TICKS - 1) * 1000;
    while (Date.now() < last + 2000) await sleep(200);
    await stopChildren(children);
    const jobs = (await q.list({ limit: 10_000 })).filter((j) => {
      const t = j.metadata.tickAt as number;
      return t >= first && t <= last;
    });
    const distinct = new Set(jobs.map((j) => j.metadata.tickAt as number)).size;
    return { jobs: jobs.length, distinct, expected: TICKS };
  });
}

// --- throughput with 10,000 groups ----------------------------------------------------------------
const THROUGHPUT_JOBS = 10_000;
const GROUPS = 10_000;

async function processRate(kind: StoreKind, grouped: boolean): Promise<number> {
  return withStore(kind, async (store) => {
    const q = new Queue<number>('rate', { store, ...(grouped ? { groups: {} } : {}) });
    for (let i = 0; i < THROUGHPUT_JOBS; i += 5000) {
      await q.addBulk(
        Array.from({ length: Math.min(5000, THROUGHPUT_JOBS - i) }, (_, k) => ({
          payload: i + k,
          options: grouped ? { group: `g${(i + k) % GROUPS}` } : undefined,
        })),
      );
    }
    let done = 0;
    const t0 = performance.now();
    const w = new Worker(q, () => undefined, { concurrency: 50, retention: false, schedules: false });
    await new Promise<void>((resolve) =>
      w.on('job:completed', () => {
        if (++done === THROUGHPUT_JOBS) resolve();
      }),
    );
    const s = (performance.now() - t0) / 1000;
    await w.close();
    return THROUGHPUT_JOBS / s;
  });
}

// --- fan-out 1 -> 1,000 -> join -------------------------------------------------------------------
const CHILDREN = 1000;

async function fanOut(kind: StoreKind): Promise<{ ms: number; joins: number; afterLast: boolean }> {
  return withStore(kind, async (store) => {
    const q = new Queue<{ kind: string }>('fan', { store });
    let joins = 0;
    let lastChildEnd = 0;
    let joinStart = 0;
    let finished!: () => void;
    const joined = new Promise<void>((r) => (finished = r));
    const w = new Worker(
      q,
      async (ctx) => {
        if (ctx.payload.kind === 'parent') {
          await ctx.spawn(
            Array.from({ length: CHILDREN }, () => ({ payload: { kind: 'child' } })),
            { join: { payload: { kind: 'join' } } },
          );
        } else if (ctx.payload.kind === 'child') {
          lastChildEnd = Math.max(lastChildEnd, performance.now());
        } else {
          joins++;
          joinStart = performance.now();
          const deps = await ctx.dependencies();
          if (deps.length !== CHILDREN || deps.some((d) => d.state !== 'completed'))
            throw new Error('join too early');
          setTimeout(finished, 300).unref(); // a second run of the join would show up meanwhile
        }
      },
      { concurrency: 50, retention: false, schedules: false },
    );
    const t0 = performance.now();
    await q.add({ kind: 'parent' });
    await joined;
    const ms = joinStart - t0;
    await sleep(300);
    await w.close();
    return { ms, joins, afterLast: joinStart >= lastChildEnd };
  });
}

// --- run ------------------------------------------------------------------------------------------
const rows: Record<string, unknown>[] = [];
const checks: Check[] = [];
const figures: Record<string, Record<string, unknown>> = {};

for (const kind of kinds) {
  const f: Record<string, unknown> = (figures[kind] = {});
  console.log(`[bench features] ${kind}: fairness`);
  const fair = await fairness(kind);
  f.fairness = { ...fair, bigPercent: (fair.bigDone / BIG) * 100 };
  checks.push(
    boundCheck(
      `fairness on ${kind}: big group's share done when the nine small groups finished`,
      `${fair.bigDone} of ${BIG} =`,
      (fair.bigDone / BIG) * 100,
      { max: 5 },
      '%',
    ),
  );
  console.log(`[bench features] ${kind}: group limit under 4 processes`);
  const lim = await groupLimit(kind);
  f.groupLimit = { limit: LIMIT, ...lim };
  checks.push(
    boundCheck(
      `group concurrency ${LIMIT} under 4 worker processes on ${kind}`,
      'max in flight in one group',
      lim.maxInFlight,
      { max: LIMIT },
      'jobs',
    ),
  );
  console.log(`[bench features] ${kind}: throughput with ${GROUPS} groups`);
  const plain = [await processRate(kind, false)];
  const grouped = [await processRate(kind, true)];
  plain.push(await processRate(kind, false));
  grouped.push(await processRate(kind, true));
  const best = (xs: number[]): number => Math.max(...xs);
  f.throughput = { plainPerS: plain, groupedPerS: grouped };
  checks.push(
    ratioCheck(
      `throughput with ${GROUPS} groups on ${kind}`,
      { label: 'grouped jobs/s', value: best(grouped) },
      { label: 'plain jobs/s', value: best(plain) },
      { min: 0.7 },
    ),
  );
  console.log(`[bench features] ${kind}: fan-out 1 -> ${CHILDREN} -> join`);
  const fan = await fanOut(kind);
  f.fanOut = fan;
  checks.push({
    name: `fan-out 1 → ${CHILDREN} → join on ${kind}`,
    ok: fan.joins === 1 && fan.afterLast,
    detail: `join ran ${fan.joins} time(s), ${fan.afterLast ? 'after' : 'BEFORE'} the last child; ${fan.ms.toFixed(0)} ms from adding the parent to the join starting`,
  });
  rows.push({
    store: kind,
    'big group done at small finish': `${fair.bigDone} (${((fair.bigDone / BIG) * 100).toFixed(2)}%)`,
    'max in flight / limit': `${lim.maxInFlight} / ${LIMIT}`,
    'plain jobs/s': Math.round(best(plain)),
    [`${GROUPS} groups jobs/s`]: Math.round(best(grouped)),
    'fan-out ms': Math.round(fan.ms),
  });
}

if (!skip.has('schedule')) {
  console.log(
    `[bench features] a per-second schedule with 4 processes for ${TICKS} ticks on ${kinds.join(', ')}`,
  );
  const results = await Promise.all(kinds.map((k) => schedule(k)));
  kinds.forEach((k, i) => {
    const r = results[i]!;
    figures[k]!.schedule = r;
    rows[i]!['schedule jobs / ticks'] = `${r.jobs} / ${r.expected}`;
    checks.push({
      name: `schedule with 4 processes for ${TICKS} ticks on ${k}`,
      ok: r.jobs === TICKS && r.distinct === TICKS,
      detail: `${r.jobs} jobs for ${r.distinct} distinct ticks (goal exactly ${TICKS})`,
    });
  });
}

const md = ['# features bench (issue 15)', '', markdownTable(rows), '', ...checkLines(checks)].join('\n');
writeResults('features', { node: process.version, when: new Date().toISOString(), figures, checks }, md);
