/** The long-running CLI commands as real processes: health, dashboard, start. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue, sqliteStore } from '../../src/index.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli2-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const cliArgs = ['--import', 'tsx', resolve('src/cli/main.ts')];

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [...cliArgs, ...args], { encoding: 'utf8' }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Starts a long-running command; resolves with the process and its output so far once `ready` matches. */
function serve(args: string[], ready: RegExp): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [...cliArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return waitFor(() => ready.test(out), `output ${ready}`, 20_000).then(() => ({ child, output: () => out }));
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c))));
}

describe('CLI commands', () => {
  it('health reports every queue and fails while one is paused', async () => {
    const db = join(dir, 'health.db');
    const store = sqliteStore({ path: db });
    const q = new Queue('mail', { store });
    await q.add({ to: 'a' });
    let r = await run(['health', '--db', db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok +mail +waiting 1/);
    await q.pause('auth: 401');
    r = await run(['health', '--db', db, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'fail', queues: [{ name: 'mail', paused: true }] });
    await store.close();
  }, 30_000);

  it('dashboard serves the API until SIGTERM', async () => {
    const db = join(dir, 'dash.db');
    const { child, output } = await serve(
      ['dashboard', '--db', db, '--port', '0'],
      /listening on (http:\S+)/,
    );
    const url = /listening on (http:\S+)/.exec(output())![1]!;
    const overview = (await (await fetch(`${url}/api/overview`)).json()) as { queues: unknown[] };
    expect(overview.queues).toEqual([]);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  }, 30_000);

  it('start runs the module’s handlers and drains on SIGTERM', async () => {
    const db = join(dir, 'start.db');
    const mod = join(dir, 'workers.mjs');
    writeFileSync(
      mod,
      `export default {
        double: (ctx) => ctx.payload * 2,
        shout: { handler: (ctx) => String(ctx.payload).toUpperCase(), options: { concurrency: 2 } },
      };\n`,
    );
    const store = sqliteStore({ path: db });
    const double = new Queue<number>('double', { store });
    const shout = new Queue<string>('shout', { store });
    await double.add(21, { id: 'd' });
    await shout.add('hey', { id: 's' });
    const { child, output } = await serve(['start', mod, '--db', db], /started 2 worker\(s\)/);
    await waitFor(async () => (await double.getJob('d'))?.state === 'completed', 'double done');
    await waitFor(async () => (await shout.getJob('s'))?.state === 'completed', 'shout done');
    expect((await double.getJob('d'))!.result).toBe(42);
    expect((await shout.getJob('s'))!.result).toBe('HEY');
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(output()).toMatch(/SIGTERM: draining…\nstopped/);
    await store.close();
    const bad = await run(['start', join(dir, 'missing.mjs'), '--db', db]);
    expect(bad.code).not.toBe(0);
  }, 40_000);
});
