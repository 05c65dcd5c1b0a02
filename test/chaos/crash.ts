/**
 * The crash scenario, shared by every store: two worker processes share one store and process 5,000
 * jobs while one of them is SIGKILLed twice and restarted. Every job must end completed or dead, none
 * lost, none completed by a stale token. A store's test file calls `describeCrash` with a factory
 * module (see stores/sqlite.ts) and the argument that module turns into a store.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { Queue, type Store } from '../../src/index.js';
import { waitFor } from '../helpers/wait.js';

const here = dirname(fileURLToPath(import.meta.url));
const JOBS = 5000;

export interface CrashTarget {
  name: string;
  /** Absolute path of a module whose default export turns `arg` into a store. */
  factory: string;
  /** The argument (a file path, a connection URL with a schema, a key prefix…); may use `dir`. */
  arg: (dir: string) => string;
  /** Checked before the test runs; false skips it (the gate prints its own notice). */
  available?: () => Promise<boolean>;
  /** Drops what the store made (schema, keys) after the test. */
  cleanup?: (arg: string) => Promise<void>;
}

export function describeCrash(target: CrashTarget): void {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-crash-'));
  const storeArg = target.arg(dir);
  const logPath = join(dir, 'attempts.log');
  const children = new Set<ChildProcess>();
  /** Set once the store's server answered: only then is there anything to clean up. */
  let ran = false;

  function spawnWorker(name: string): Promise<ChildProcess> {
    const child = fork(join(here, 'crash-worker.ts'), [target.factory, storeArg, logPath, name], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return new Promise((resolve, reject) => {
      child.once('message', () => resolve(child));
      child.once('error', reject);
    });
  }

  function kill(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    if (ran) await target.cleanup?.(storeArg);
    rmSync(dir, { recursive: true, force: true });
  });

  describe(`crash test (real processes, SIGKILL): ${target.name}`, () => {
    it('loses no job and accepts no stale completion when a worker is killed twice', async (ctx) => {
      if (target.available && !(await target.available())) return ctx.skip();
      ran = true;
      const factory = (await import(pathToFileURL(target.factory).href)) as {
        default: (arg: string) => Store;
      };
      const store = factory.default(storeArg);
      const queue = new Queue<number>('crash', { store });
      const steady = await spawnWorker('steady');
      let victim = await spawnWorker('victim-1');
      for (let i = 0; i < JOBS; i += 1000) {
        await queue.addBulk(
          Array.from({ length: 1000 }, (_, k) => ({
            payload: i + k,
            options: { id: `job-${i + k}`, maxAttempts: 5 },
          })),
        );
      }
      const completed = async () => (await queue.counts()).completed;

      await waitFor(async () => (await completed()) >= 1000, '1000 completed', 60_000);
      await kill(victim);
      victim = await spawnWorker('victim-2');
      await waitFor(async () => (await completed()) >= 2500, '2500 completed', 60_000);
      await kill(victim);
      victim = await spawnWorker('victim-3');

      await waitFor(
        async () => {
          const c = await queue.counts();
          return c.completed + c.dead === JOBS && c.active === 0;
        },
        'every job settled',
        90_000,
      );

      const counts = await queue.counts();
      expect(counts.completed + counts.dead).toBe(JOBS);
      expect(counts.waiting + counts.delayed + counts.active + counts.cancelled).toBe(0);

      const jobs = await queue.list({ limit: 10_000, order: 'asc' });
      expect(new Set(jobs.map((j) => j.id)).size).toBe(JOBS);

      const ok = new Map<string, number[]>();
      let staleLines = 0;
      for (const line of readFileSync(logPath, 'utf8').split('\n')) {
        const [id, fence, verdict] = line.split(' ');
        if (!id || id === '#') continue;
        if (verdict === 'stale') staleLines++;
        else if (verdict === 'ok') ok.set(id, [...(ok.get(id) ?? []), Number(fence)]);
      }
      let recovered = 0;
      for (const job of jobs) {
        if (job.state !== 'completed') continue;
        // The completing attempt wrote its own fence into the result: it must be the job's final fence.
        const result = job.result as { fence: number };
        expect(result.fence, `job ${job.id} completed by a stale attempt`).toBe(job.fence);
        const lines = ok.get(job.id) ?? [];
        expect(lines.length, `job ${job.id} completed more than once`).toBeLessThanOrEqual(1);
        if (lines.length === 1) expect(lines[0]).toBe(job.fence);
        if (job.fence > 1) recovered++;
      }
      // The kills left jobs mid-flight: some must have been recovered from expired leases.
      expect(recovered).toBeGreaterThan(0);
      console.log(
        `crash test (${target.name}): ${counts.completed} completed, ${counts.dead} dead, ${recovered} recovered after a kill, ${staleLines} stale outcomes refused`,
      );

      for (const c of [steady, victim]) c.kill('SIGTERM');
      await Promise.all(
        [steady, victim].map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
      );
      await store.close();
    }, 180_000);
  });
}
