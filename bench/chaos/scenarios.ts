/**
 * The chaos scenarios. Each takes a target (a store on one of the suite's own servers) and a size, runs
 * worker processes against it, injects its faults while jobs flow, and returns the run's figures.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { classify } from '../../src/resilience/index.js';
import { percentile } from '../lib.js';
import { ChaosRun, sleep, type Item, type Timing } from './harness.js';
import type { Figures } from './ledger.js';
import { now } from './protocol.js';
import { Proxy } from './proxy.js';
import type { ChaosPostgres } from './servers.js';
import { through, type StoreKind, type StoreSpec } from './stores.js';

export interface Target {
  /** sqlite, postgres, redis (always), redis (everysec) */
  label: string;
  kind: StoreKind;
  /** A store no other run uses (a new file, schema or prefix). */
  fresh(tag: string): StoreSpec;
  /** The server crashes (pg_ctl stop -m immediate, SIGKILL) and starts again. */
  crash?(): Promise<void>;
  /** Starts the crashed server; resolves with the time it first answered. */
  start?(): Promise<number>;
  postgres?: ChaosPostgres;
}

export interface Size {
  ci: boolean;
}

export interface Outcome extends Figures {
  scenario: string;
  store: string;
  durationS: number;
  addErrors: number;
  /** Scenario-specific figures. */
  extra: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  applies: (t: Target) => boolean;
  run: (t: Target, size: Size, timing: Timing) => Promise<Outcome>;
}

const rand = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));
const job = (min: number, max: number): Item => ({ payload: { ms: rand(min, max) } });
/**
 * The steady load of the scenarios with a producer: 100 jobs/s of 50-150 ms, each reporting progress
 * once (a store write under the lease), so that every worker holds a few jobs at any moment (a fault
 * always hits work in flight) with room to spare.
 */
const steady = (run: ChaosRun): { stop(): Promise<number> } =>
  run.produce(() => ({ payload: { ms: rand(50, 150), progress: 1 } }), 20, 200);
const durable = (t: Target): boolean => t.label !== 'redis (everysec)';
const allButEverysec = (t: Target): boolean => durable(t);

/** Waits until `n` of the accepted jobs completed (counted in the store). */
async function completedAtLeast(run: ChaosRun, n: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const c = await run.queue.counts().catch(() => null);
    if (c && c.completed >= n) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${n} completed jobs`);
}

async function finishRun(
  run: ChaosRun,
  settleMs: number,
  extra: Record<string, unknown> = {},
): Promise<Outcome> {
  const settled = await run.settle(settleMs);
  const f = await run.finish();
  const { final: _final, ...figures } = f;
  return { scenario: run.scenario, store: run.label, ...figures, extra: { settled, ...extra } };
}

/** Runs `body` with a fresh run, always disposing of it. */
async function withRun(
  scenario: string,
  t: Target,
  timing: Timing,
  body: (run: ChaosRun) => Promise<Outcome>,
): Promise<Outcome> {
  const run = new ChaosRun(scenario, t.label, t.fresh(scenario), timing);
  let ok = false;
  try {
    const out = await body(run);
    ok = true;
    return out;
  } finally {
    await run.dispose(!ok || process.env.BULWARK_CHAOS_KEEP === '1');
    if (!ok) console.error(`[chaos] ${scenario} on ${t.label}: the run's logs are in ${run.dir}`);
  }
}

// --- crash_recovery: SIGKILL a worker mid-job ------------------------------------------------------
const crashRecovery: Scenario = {
  name: 'crash_recovery',
  applies: allButEverysec,
  run: (t, size, timing) =>
    withRun('crash_recovery', t, timing, async (run) => {
      const jobs = size.ci ? 800 : 6000;
      const kills = size.ci ? 1 : 3;
      await Promise.all([run.spawn(), run.spawn(), run.spawn()]);
      for (let i = 0; i < jobs; i += 500) {
        await run.add(Array.from({ length: Math.min(500, jobs - i) }, () => job(10, 40)));
      }
      for (let k = 1; k <= kills; k++) {
        await completedAtLeast(run, Math.floor((jobs * k) / (kills + 1)));
        const alive = run.alive();
        const victim = alive[rand(0, alive.length - 1)]!;
        await run.kill(victim);
        await run.spawn();
      }
      return finishRun(run, size.ci ? 60_000 : 180_000, { kills });
    }),
};

// --- repeated_kills: a random worker every 1-3 s ---------------------------------------------------
const repeatedKills: Scenario = {
  name: 'repeated_kills',
  applies: allButEverysec,
  run: (t, size, timing) =>
    withRun('repeated_kills', t, timing, async (run) => {
      const seconds = size.ci ? 4 : 60;
      await Promise.all([run.spawn(), run.spawn(), run.spawn()]);
      const producer = steady(run);
      const end = Date.now() + seconds * 1000;
      let kills = 0;
      while (Date.now() < end) {
        await sleep(rand(1000, 3000));
        const alive = run.alive();
        if (alive.length === 0) continue;
        const victim = alive[rand(0, alive.length - 1)]!;
        await run.kill(victim);
        kills++;
        // A supervisor starts a replacement; the kills go on meanwhile.
        run.respawn();
      }
      await producer.stop();
      return finishRun(run, size.ci ? 60_000 : 180_000, { kills });
    }),
};

// --- server_restart: the server crashes and comes back mid-run, a producer adding all along -------
const serverRestart: Scenario = {
  name: 'server_restart',
  applies: (t) => t.crash !== undefined,
  run: (t, size, timing) =>
    withRun('server_restart', t, timing, async (run) => {
      // Outages shorter and longer than the lease (and than the clients' reconnect backoff caps).
      const outages = size.ci ? [1500] : [2000, 5000, 10_000];
      await Promise.all([run.spawn(), run.spawn()]);
      const producer = steady(run);
      const downFor: number[] = [];
      for (const downMs of outages) {
        await sleep(size.ci ? 1500 : 5000);
        const t0 = now();
        await t.crash!();
        await sleep(downMs);
        const back = await t.start!();
        downFor.push(Math.round(back - t0));
        run.fault('server', t0, back);
        run.backAt.push(back);
      }
      await sleep(size.ci ? 1500 : 5000);
      await producer.stop();
      return finishRun(run, size.ci ? 60_000 : 180_000, { restarts: outages.length, downMs: downFor });
    }),
};

// --- backend_kill: pg_terminate_backend on every worker connection --------------------------------
const backendKill: Scenario = {
  name: 'backend_kill',
  applies: (t) => t.kind === 'postgres',
  run: (t, size, timing) =>
    withRun('backend_kill', t, timing, async (run) => {
      const rounds = size.ci ? 2 : 10;
      await Promise.all([run.spawn(), run.spawn()]);
      const producer = steady(run);
      let terminated = 0;
      for (let r = 0; r < rounds; r++) {
        await sleep(size.ci ? 1000 : 3000);
        const t0 = now();
        const rows = await t.postgres!.query<{ ok: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name LIKE 'chaos-w%'`,
        );
        terminated += rows.filter((x) => x.ok).length;
        run.fault('backend', t0, now());
        run.backAt.push(now());
      }
      await sleep(1000);
      await producer.stop();
      return finishRun(run, size.ci ? 60_000 : 180_000, { rounds, terminated });
    }),
};

// --- pool_exhaustion: tiny pools under many handlers, then no server slot left for a reconnect ----
const poolExhaustion: Scenario = {
  name: 'pool_exhaustion',
  applies: (t) => t.kind === 'postgres',
  run: (t, size, timing) =>
    withRun('pool_exhaustion', t, timing, async (run) => {
      const hogMs = size.ci ? 2500 : 10_000;
      // Two connections for 16 handlers that each write progress twice, plus claims and heartbeats.
      const spec = { ...(run.spec as Extract<StoreSpec, { kind: 'postgres' }>), maxConnections: 2 };
      const procs = await Promise.all([
        run.spawn({ concurrency: 16, spec }),
        run.spawn({ concurrency: 16, spec }),
      ]);
      const producer = run.produce(() => ({ payload: { ms: rand(50, 150), progress: 2 } }), 20, 100);
      await sleep(size.ci ? 1500 : 5000);
      // Every free connection slot of the server taken, and one worker's connections cut: it must
      // reconnect into a full server.
      const pg0 = t.postgres!;
      const hog: pg.Client[] = [];
      const t0 = now();
      for (;;) {
        const c = new pg.Client({ connectionString: pg0.url, application_name: 'chaos-hog' });
        c.on('error', () => undefined);
        try {
          await c.connect();
          hog.push(c);
        } catch {
          break;
        }
      }
      await pg0
        .query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [
          `chaos-${procs[0]!.name}`,
        ])
        .catch(() => undefined);
      await sleep(hogMs);
      await Promise.all(hog.map((c) => c.end().catch(() => undefined)));
      const back = now();
      run.fault('hog', t0, back);
      run.backAt.push(back);
      await sleep(size.ci ? 1500 : 5000);
      await producer.stop();
      return finishRun(run, size.ci ? 60_000 : 180_000, { hogConnections: hog.length, hogMs });
    }),
};

// --- partition: a proxy between one worker and the server blackholes for longer than the lease ----
const partition: Scenario = {
  name: 'partition',
  applies: (t) => (t.kind === 'postgres' || t.kind === 'redis') && durable(t),
  run: (t, size, timing) =>
    withRun('partition', t, timing, async (run) => {
      const u = new URL((run.spec as { url: string }).url);
      const proxy = new Proxy(u.hostname, Number(u.port));
      const port = await proxy.listen();
      try {
        const victim = await run.spawn({ spec: through(run.spec, port) });
        await run.spawn();
        const producer = steady(run);
        const rounds = size.ci ? 1 : 3;
        const downMs = Math.round(timing.leaseMs * 1.5);
        for (let r = 0; r < rounds; r++) {
          await sleep(size.ci ? 1000 : 5000);
          await run.busy(victim);
          const t0 = now();
          proxy.blackhole();
          await sleep(downMs);
          proxy.heal();
          run.fault('partition', t0, now(), [victim.name]);
        }
        await sleep(size.ci ? 1500 : 5000);
        await producer.stop();
        return await finishRun(run, size.ci ? 60_000 : 180_000, { rounds, downMs });
      } finally {
        await proxy.close();
      }
    }),
};

// --- gc_pause: an event loop blocked past the lease, and SIGSTOP / SIGCONT --------------------------
const gcPause: Scenario = {
  name: 'gc_pause',
  applies: allButEverysec,
  run: (t, size, timing) =>
    withRun('gc_pause', t, timing, async (run) => {
      const [a, b] = await Promise.all([run.spawn(), run.spawn(), run.spawn()]);
      const producer = steady(run);
      const pauseMs = Math.round(timing.leaseMs * 1.5);
      const rounds = size.ci ? 1 : 3;
      for (let r = 0; r < rounds; r++) {
        await sleep(size.ci ? 1000 : 4000);
        // Both at once, on two of the three workers: the third recovers their jobs.
        await Promise.all([run.block(a!, pauseMs), run.freeze(b!, pauseMs)]);
      }
      await sleep(size.ci ? 1500 : 5000);
      await producer.stop();
      return finishRun(run, size.ci ? 60_000 : 180_000, { rounds, pauseMs });
    }),
};

// --- retry_storm: most jobs failing transiently at once, some timing out with handlers that ignore it
const retryStorm: Scenario = {
  name: 'retry_storm',
  applies: allButEverysec,
  run: (t, size, timing) =>
    withRun('retry_storm', t, timing, async (run) => {
      const jobs = size.ci ? 500 : 5000;
      await Promise.all([run.spawn(), run.spawn()]);
      const items: Item[] = [];
      for (let i = 0; i < jobs; i++) {
        const r = i % 10;
        if (r < 8) items.push({ payload: { ms: rand(5, 20), fail: 2 } });
        else if (r === 8) {
          // Times out on its first attempt; the handler ignores the abort and runs on (a zombie).
          items.push({ payload: { ms: 10, slowMs: 400, slowAttempts: 1 }, options: { timeoutMs: 150 } });
        } else items.push(job(5, 20));
      }
      for (let i = 0; i < jobs; i += 1000) await run.add(items.slice(i, i + 1000));
      return finishRun(run, size.ci ? 90_000 : 300_000);
    }),
};

// --- priority_starvation: a flood of low-priority jobs, high-priority ones added meanwhile ---------
const HIGH_BOUND_MS = 1000;
const priorityStarvation: Scenario = {
  name: 'priority_starvation',
  applies: allButEverysec,
  run: (t, size, timing) =>
    withRun('priority_starvation', t, timing, async (run) => {
      // More than the workers get through while high-priority jobs are added (about 500 a second).
      const flood = size.ci ? 2500 : 40_000;
      const seconds = size.ci ? 3 : 30;
      await Promise.all([run.spawn({ concurrency: 4 }), run.spawn({ concurrency: 4 })]);
      for (let i = 0; i < flood; i += 1000) {
        await run.add(
          Array.from({ length: Math.min(1000, flood - i) }, () => ({
            payload: { ms: rand(5, 15) },
            options: { priority: 0 },
          })),
        );
      }
      const addedAt = new Map<string, number>();
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        const t0 = now();
        for (const id of await run.add([{ payload: { ms: 5 }, options: { priority: 10 } }]))
          addedAt.set(id, t0);
        await sleep(100);
      }
      const left = (await run.queue.counts()).waiting;
      const out = await finishRun(run, size.ci ? 90_000 : 300_000);
      // High-priority waits: from the add to the handler's first start; only those added while
      // low-priority jobs still waited count (the last low-priority start marks the flood's end).
      const starts = new Map<string, number>();
      let lastLowStart = 0;
      for (const path of run.logs.values()) {
        for (const line of readFileSync(path, 'utf8').split('\n')) {
          const f = line.split(' ');
          if (f[0] !== 'S') continue;
          const at = Number(f[4]);
          if (addedAt.has(f[1]!)) starts.set(f[1]!, Math.min(starts.get(f[1]!) ?? Infinity, at));
          else lastLowStart = Math.max(lastLowStart, at);
        }
      }
      const waits = [...addedAt]
        .filter(([, t0]) => t0 < lastLowStart)
        .map(([id, t0]) => (starts.get(id) ?? Infinity) - t0)
        .sort((a, b) => a - b);
      out.extra = {
        ...out.extra,
        flood,
        lowWaitingWhenHighStopped: left,
        highAdded: addedAt.size,
        high: waits.length,
        highWaitP50Ms: Math.round(percentile(waits, 50)),
        highWaitP95Ms: Math.round(percentile(waits, 95)),
        highWaitMaxMs: Math.round(waits[waits.length - 1] ?? NaN),
        boundMs: HIGH_BOUND_MS,
      };
      return out;
    }),
};

// --- disk_full (SQLite): the file's disk fills up mid-run, then space comes back -------------------
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const diskFull: Scenario = {
  name: 'disk_full',
  applies: (t) => t.kind === 'sqlite',
  run: async (_t, size, timing) => {
    const mnt = mkdtempSync(join(tmpdir(), 'bulwark-chaos-disk-'));
    const tmpfs = process.env.BULWARK_CHAOS_NO_TMPFS !== '1' && mountTmpfs(mnt, '8m');
    const path = join(mnt, 'chaos.db');
    const ballast = join(mnt, 'ballast');
    // Without a mountable tmpfs, a page limit on each connection stands in for the disk.
    const maxPageCount = tmpfs ? undefined : 1500;
    const target: Target = { label: 'sqlite', kind: 'sqlite', fresh: () => ({ kind: 'sqlite', path }) };
    try {
      return await withRun('disk_full', target, timing, async (run) => {
        if (maxPageCount !== undefined) {
          (run.store as unknown as { db: Database.Database }).db.pragma(`max_page_count = ${maxPageCount}`);
        }
        await run.spawn({ concurrency: 4, extra: maxPageCount ? { maxPageCount } : {} });
        const pad = 'x'.repeat(2000);
        await run.add([{ payload: { ms: 1 } }]);
        if (tmpfs) {
          // Leave about 1 MB free.
          const fs = statfsSync(mnt);
          const free = Number(fs.bavail) * Number(fs.bsize);
          writeFileSync(ballast, Buffer.alloc(Math.max(0, free - 1024 * 1024)));
        }
        const errors: unknown[] = [];
        const fullAt = Date.now();
        // Fill until the store refuses, then keep trying for a while (workers write meanwhile).
        const until = fullAt + (size.ci ? 3000 : 10_000);
        let refusedAdds = 0;
        while (Date.now() < until) {
          const batch = Array.from({ length: 20 }, () => ({ payload: { ms: rand(5, 20), pad } }));
          try {
            await run.queue
              .addBulk(
                batch.map((b, i) => ({ ...b, options: { id: `fill-${Date.now()}-${i}-${Math.random()}` } })),
              )
              .then((jobs) => jobs.forEach((j) => run.accepted.add(j.id)));
          } catch (e) {
            refusedAdds++;
            if (errors.length < 5) errors.push(e);
            await sleep(50);
          }
        }
        // Nothing corrupted, and every acknowledged job is there while the disk is full.
        const check = new Database(path, { readonly: true });
        const integrity = check.pragma('integrity_check', { simple: true });
        const present = check
          .prepare(`SELECT count(*) AS n FROM jobs WHERE id IN (SELECT value FROM json_each(?))`)
          .get(JSON.stringify([...run.accepted])) as { n: number };
        check.close();
        // Space comes back.
        const freedAt = now();
        if (tmpfs) rmSync(ballast, { force: true });
        else {
          (run.store as unknown as { db: Database.Database }).db.pragma('max_page_count = 1073741823');
          // The worker's own connection has the limit: a new worker takes over.
          for (const p of run.alive()) await run.kill(p);
          await run.spawn({ concurrency: 4 });
        }
        run.fault('disk', fullAt, freedAt);
        run.backAt.push(freedAt);
        const first = errors[0] as { message?: string; code?: string; name?: string } | undefined;
        const out = await finishRun(run, size.ci ? 60_000 : 180_000);
        const recheck = new Database(path, { readonly: true });
        const integrityAfter = recheck.pragma('integrity_check', { simple: true });
        recheck.close();
        out.extra = {
          ...out.extra,
          via: tmpfs ? 'tmpfs 8 MB' : `max_page_count ${maxPageCount}`,
          refusedAdds,
          error: first ? `${first.name}: ${first.message} (${first.code ?? 'no code'})` : null,
          errorCategory: first ? classify(first).category : null,
          integrity,
          integrityAfter,
          presentWhileFull: present.n,
          acceptedWhileFull: run.accepted.size,
        };
        return out;
      });
    } finally {
      if (tmpfs) {
        try {
          execFileSync('umount', [mnt], { stdio: 'ignore' });
        } catch {
          // still busy: leave it mounted rather than fail the suite
        }
      }
      try {
        rmSync(mnt, { recursive: true, force: true });
      } catch {
        // a mount point that would not unmount
      }
    }
  },
};

export const SCENARIOS: readonly Scenario[] = [
  crashRecovery,
  repeatedKills,
  serverRestart,
  backendKill,
  poolExhaustion,
  partition,
  gcPause,
  retryStorm,
  priorityStarvation,
  diskFull,
];
