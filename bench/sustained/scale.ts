/**
 * Part (b) of the sustained suite: N worker processes on one store against one. First they drain a
 * backlog (total throughput, first `go` to last completion); then, still running, they take a steady
 * stream of jobs at a fixed rate (the load) with timed single adds among them (the probes), and each
 * probe's pickup is measured from the moment its add() was called to the moment its handler started,
 * in whichever process ran it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from '../../src/index.js';
import { percentile } from '../lib.js';
import { dropStore, freshStore, openStore, QUEUE, wallMs, type StoreName } from './stores.js';
import type { WorkerMessage } from './worker.js';

const workerScript = join(dirname(fileURLToPath(import.meta.url)), 'worker.ts');

export interface ScaleOptions {
  store: StoreName;
  processes: number;
  concurrency: number;
  backlog: number;
  /** Background adds per second during the pickup phase. @default half this run's drain throughput */
  ratePerS?: number;
  /** Timed single adds per second during the pickup phase. */
  probesPerS: number;
  pickupMs: number;
}

export interface ScaleResult {
  store: StoreName;
  processes: number;
  concurrency_per_process: number;
  backlog: number;
  drain_per_s: number;
  /** The background rate the pickup phase asked for, and the rate of all adds it reached. */
  target_per_s: number;
  offered_per_s: number;
  pickup_samples: number;
  pickup_p50_ms: number;
  pickup_p99_ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A worker process and what it last reported. */
interface Child {
  proc: ChildProcess;
  completed: number;
  lastAt: number;
  ready: Promise<void>;
  done: Promise<number[]>;
}

function startChild(spec: object, concurrency: number): Child {
  const proc = fork(workerScript, [JSON.stringify(spec), String(concurrency)], { stdio: 'inherit' });
  let ready!: () => void;
  let done!: (latencies: number[]) => void;
  let failed!: (e: Error) => void;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => undefined);
  const child: Child = {
    proc,
    completed: 0,
    lastAt: 0,
    ready: Promise.race([new Promise<void>((r) => (ready = r)), failure]),
    done: Promise.race([new Promise<number[]>((r) => (done = r)), failure]),
  };
  proc.on('message', (m: WorkerMessage) => {
    if (m.type === 'ready') ready();
    else {
      child.completed = m.completed;
      child.lastAt = m.lastAt;
      if (m.type === 'done') done(m.latencies);
    }
  });
  proc.on('exit', (code, signal) => {
    failed(new Error(`[sustained] worker process ${proc.pid} exited (${signal ?? code}) before it was done`));
  });
  return child;
}

async function waitForCompleted(children: Child[], n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (children.reduce((s, c) => s + c.completed, 0) < n) {
    if (Date.now() > deadline) throw new Error(`[sustained] ${n} jobs not completed within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/**
 * The load and the probes: background jobs added in small bulks at `ratePerS` (one statement per
 * ~5 ms tick, so the producer's own commits do not become the bottleneck), and `probesPerS` single
 * add()s, each carrying the wall-clock time its add() was called. Returns how many of each were added.
 */
async function load(
  queue: Queue<number>,
  ratePerS: number,
  probesPerS: number,
  ms: number,
): Promise<{ background: number; probes: number }> {
  let background = 0;
  let probes = 0;
  let owed = 0;
  let bulk: Promise<unknown> | undefined;
  const pending = new Set<Promise<unknown>>();
  const start = wallMs();
  let last = start;
  let nextProbe = start;
  while (wallMs() - start < ms) {
    const now = wallMs();
    owed += ((now - last) / 1000) * ratePerS;
    last = now;
    const n = Math.floor(owed);
    // One bulk in flight at a time: a slow one makes the next one bigger, so the rate holds.
    if (n > 0 && !bulk) {
      owed -= n;
      background += n;
      bulk = queue
        .addBulk(Array.from({ length: n }, () => ({ payload: 0 })))
        .finally(() => (bulk = undefined));
    }
    if (now >= nextProbe) {
      nextProbe += 1000 / probesPerS;
      probes++;
      const p: Promise<unknown> = queue.add(wallMs()).finally(() => pending.delete(p));
      pending.add(p);
    }
    await sleep(5);
  }
  await Promise.all([...pending, bulk]);
  return { background, probes };
}

export async function scaleRun(o: ScaleOptions): Promise<ScaleResult> {
  const spec = freshStore(o.store, `p${o.processes}`);
  const store = await openStore(spec);
  const children: Child[] = [];
  try {
    const queue = new Queue<number>(QUEUE, { store });
    for (let i = 0; i < o.backlog; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, o.backlog - i) }, () => ({ payload: 0 })));
    }
    for (let i = 0; i < o.processes; i++) children.push(startChild(spec, o.concurrency));
    await Promise.all(children.map((c) => c.ready));
    const t0 = wallMs();
    for (const c of children) c.proc.send('go');
    await waitForCompleted(children, o.backlog, 600_000);
    const drainMs = Math.max(...children.map((c) => c.lastAt)) - t0;
    const drainPerS = (o.backlog / drainMs) * 1000;
    const target = Math.round(o.ratePerS ?? drainPerS / 2);

    const loadStart = wallMs();
    const added = await load(queue, target, o.probesPerS, o.pickupMs);
    const offered = ((added.background + added.probes) / (wallMs() - loadStart)) * 1000;
    await waitForCompleted(children, o.backlog + added.background + added.probes, 60_000);
    for (const c of children) c.proc.send('stop');
    const latencies = (await Promise.all(children.map((c) => c.done))).flat().sort((a, b) => a - b);
    return {
      store: o.store,
      processes: o.processes,
      concurrency_per_process: o.concurrency,
      backlog: o.backlog,
      drain_per_s: Math.round(drainPerS),
      target_per_s: target,
      offered_per_s: Math.round(offered),
      pickup_samples: latencies.length,
      pickup_p50_ms: Number(percentile(latencies, 50).toFixed(3)),
      pickup_p99_ms: Number(percentile(latencies, 99).toFixed(3)),
    };
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill();
    await store.close();
    await dropStore(spec);
  }
}
