/**
 * One chaos run: a queue on one store, worker processes forked from worker.ts, a producer in this
 * process that records every add the store acknowledged, the faults injected (with their times and
 * victims), and at the end the figures computed from the attempts logs and the jobs as the store has
 * them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, type AddOptions, type Store } from '../../src/index.js';
import { analyze, readLogs, type Fault, type Figures, type FinalJob } from './ledger.js';
import { now, type ChaosPayload, type WorkerConfig } from './protocol.js';
import { openStore, type StoreSpec } from './stores.js';

const here = dirname(fileURLToPath(import.meta.url));
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Timing {
  leaseMs: number;
  heartbeatMs: number;
  reapIntervalMs: number;
  pollIntervalMs: number;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  concurrency: number;
  exited: Promise<void>;
}

export interface Item {
  payload: ChaosPayload;
  options?: AddOptions;
}

/** The defaults every job of the suite gets: enough attempts to outlive a few stalls, short backoff. */
const JOB_DEFAULTS: AddOptions = {
  maxAttempts: 10,
  backoff: { type: 'exponential', delayMs: 50, maxDelayMs: 2000, jitter: 'full' },
};

export class ChaosRun {
  readonly dir = mkdtempSync(join(tmpdir(), 'bulwark-chaos-run-'));
  readonly store: Store;
  readonly queue: Queue<ChaosPayload>;
  readonly procs = new Map<string, Proc>();
  readonly logs = new Map<string, string>();
  readonly concurrency = new Map<string, number>();
  /** Ids of every add the store acknowledged (the add resolved). */
  readonly accepted = new Set<string>();
  readonly faults: Fault[] = [];
  readonly backAt: number[] = [];
  /** Errors adds met (retried with the same ids until acknowledged). */
  addErrors: string[] = [];
  private seq = 0;
  private procSeq = 0;
  /** Every process forked, started or not, so that none outlives the run. */
  private readonly children = new Set<ChildProcess>();
  /** Spawns not awaited by the scenario (a supervisor's restarts): finish() waits for them. */
  private readonly starting = new Set<Promise<unknown>>();
  readonly startedAt = now();

  constructor(
    readonly scenario: string,
    readonly label: string,
    readonly spec: StoreSpec,
    readonly timing: Timing,
  ) {
    this.store = openStore(spec, 'producer');
    this.queue = new Queue<ChaosPayload>('chaos', { store: this.store, defaults: JOB_DEFAULTS });
  }

  /** Forks a worker process and waits until it runs. */
  async spawn(
    options: { concurrency?: number; spec?: StoreSpec; extra?: Partial<WorkerConfig> } = {},
  ): Promise<Proc> {
    const name = `w${++this.procSeq}`;
    const log = join(this.dir, `${name}.log`);
    const concurrency = options.concurrency ?? 8;
    let spec = options.spec ?? this.spec;
    if (spec.kind === 'postgres') {
      // Its connections carry its name, so a fault can pick them out of pg_stat_activity.
      const u = new URL(spec.url);
      u.searchParams.set('application_name', `chaos-${name}`);
      spec = { ...spec, url: u.toString() };
    }
    const config: WorkerConfig = {
      spec,
      queue: 'chaos',
      name,
      log,
      concurrency,
      ...this.timing,
      ...options.extra,
    };
    const out = openSync(join(this.dir, `${name}.out`), 'a');
    const child = fork(join(here, 'worker.ts'), [JSON.stringify(config)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', out, out, 'ipc'],
    });
    closeSync(out);
    this.children.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: { cmd: string }): void => {
        if (m.cmd !== 'ready') return;
        child.off('message', onMessage);
        resolve();
      };
      child.on('message', onMessage);
      child.once('error', reject);
      void exited.then(() =>
        reject(new Error(`worker ${name} exited at start: see ${this.dir}/${name}.out`)),
      );
    });
    const proc: Proc = { name, child, pid: child.pid!, concurrency, exited };
    this.procs.set(name, proc);
    this.logs.set(name, log);
    this.concurrency.set(name, concurrency);
    return proc;
  }

  /** Handlers running in the process now, from its log: starts without an end. */
  running(proc: Proc): number {
    const text = readFileSync(this.logs.get(proc.name)!, 'utf8');
    let n = 0;
    for (let i = 0; i < text.length; i = text.indexOf('\n', i) + 1 || text.length) {
      if (text.startsWith('S ', i)) n++;
      else if (text.startsWith('E ', i)) n--;
    }
    return n;
  }

  /**
   * Waits (up to `timeoutMs`) until the process runs a handler, so that a fault hits work in flight;
   * returns whether it does.
   */
  async busy(proc: Proc, timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.running(proc) > 0) return true;
      await sleep(10);
    }
    return false;
  }

  /** Starts a worker in the background, as a supervisor restarting a dead one would. */
  respawn(): void {
    const p = this.spawn().catch((e: unknown) => console.error('[chaos] a restart failed:', e));
    this.starting.add(p);
    void p.finally(() => this.starting.delete(p));
  }

  alive(): Proc[] {
    return [...this.procs.values()].filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  }

  /** SIGKILL: the process dies mid-job, with whatever it held. */
  async kill(proc: Proc): Promise<void> {
    await this.busy(proc);
    const t = now();
    proc.child.kill('SIGKILL');
    this.faults.push({ kind: 'kill', start: t, end: t, victims: [proc.name] });
    await proc.exited;
  }

  /** SIGSTOP for `ms`, then SIGCONT: the whole process frozen (a VM pause, a stop-the-world GC). */
  async freeze(proc: Proc, ms: number): Promise<void> {
    await this.busy(proc);
    const t = now();
    process.kill(proc.pid, 'SIGSTOP');
    await sleep(ms);
    process.kill(proc.pid, 'SIGCONT');
    this.faults.push({ kind: 'stop', start: t, end: now(), victims: [proc.name] });
  }

  /** Busy-loops the process's event loop for `ms` (a CPU-bound handler, a long GC pause). */
  async block(proc: Proc, ms: number): Promise<void> {
    await this.busy(proc);
    const t = now();
    const done = new Promise<void>((resolve) => {
      const onMessage = (m: { cmd: string }): void => {
        if (m.cmd !== 'blocked') return;
        proc.child.off('message', onMessage);
        resolve();
      };
      proc.child.on('message', onMessage);
    });
    proc.child.send({ cmd: 'block', ms });
    await done;
    this.faults.push({ kind: 'block', start: t, end: now(), victims: [proc.name] });
  }

  fault(kind: Fault['kind'], start: number, end: number, victims?: string[]): void {
    this.faults.push({ kind, start, end, ...(victims ? { victims } : {}) });
  }

  /**
   * Adds jobs, retrying with the same ids until the store acknowledges them (or `giveUpMs` passes);
   * returns the ids acknowledged.
   */
  async add(items: readonly Item[], giveUpMs = 60_000): Promise<string[]> {
    const batch = items.map((it) => ({
      payload: it.payload,
      options: { ...it.options, id: `j${this.seq++}` },
    }));
    const deadline = Date.now() + giveUpMs;
    for (;;) {
      try {
        await this.queue.addBulk(batch);
        for (const b of batch) this.accepted.add(b.options.id);
        return batch.map((b) => b.options.id);
      } catch (e) {
        if (this.addErrors.length < 1000) this.addErrors.push((e as Error).message);
        if (Date.now() > deadline) return [];
        await sleep(100);
      }
    }
  }

  /**
   * A producer adding `perBatch` jobs every `everyMs` until stopped; adds that fail are retried with
   * the same ids, so only what the store acknowledged counts as accepted.
   */
  produce(item: (i: number) => Item, perBatch: number, everyMs: number): { stop(): Promise<number> } {
    let stopped = false;
    let n = 0;
    const loop = (async () => {
      while (!stopped) {
        const t0 = Date.now();
        await this.add(Array.from({ length: perBatch }, () => item(n++)));
        await sleep(Math.max(0, everyMs - (Date.now() - t0)));
      }
    })();
    return {
      async stop() {
        stopped = true;
        await loop;
        return n;
      },
    };
  }

  /** Waits until every job in the queue is final (or `timeoutMs` passes); false on the timeout. */
  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const c = await this.queue.counts();
        if (c.waiting + c.delayed + c.active + c.blocked === 0 && c.completed + c.dead >= this.accepted.size)
          return true;
      } catch {
        // the store may be down or recovering
      }
      await sleep(200);
    }
    return false;
  }

  /** Every job as the store has it now. */
  async finalJobs(): Promise<Map<string, FinalJob>> {
    const out = new Map<string, FinalJob>();
    for (let offset = 0; ; offset += 10_000) {
      const page = await this.queue.list({ limit: 10_000, offset, order: 'asc' });
      for (const j of page) {
        const r = j.result as { fence?: number } | null;
        out.set(j.id, { state: j.state, fence: j.fence, resultFence: r?.fence ?? null });
      }
      if (page.length < 10_000) break;
    }
    return out;
  }

  /** Closes the workers (SIGKILL after 5 s), reads the store and the logs, computes the figures. */
  async finish(): Promise<Figures & { durationS: number; addErrors: number; final: Map<string, FinalJob> }> {
    const durationS = (now() - this.startedAt) / 1000;
    await Promise.all([...this.starting]);
    await Promise.all(
      this.alive().map(async (p) => {
        p.child.send({ cmd: 'close' });
        const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
        await p.exited;
        clearTimeout(t);
      }),
    );
    const final = await this.finalJobs();
    const figures = analyze({
      logs: readLogs(this.logs),
      concurrency: this.concurrency,
      accepted: this.accepted,
      final,
      faults: this.faults,
      leaseMs: this.timing.leaseMs,
      reapIntervalMs: this.timing.reapIntervalMs,
      backAt: this.backAt,
    });
    return { ...figures, durationS, addErrors: this.addErrors.length, final };
  }

  /** Kills what is left, closes the producer's store and removes the run's directory. */
  async dispose(keep = false): Promise<void> {
    await Promise.all([...this.starting]);
    await Promise.all(
      [...this.children].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    await this.store.close().catch(() => undefined);
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}
