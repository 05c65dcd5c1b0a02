/**
 * The CLI as users run it: compiled JavaScript under plain `node`, with no TypeScript loader in the
 * process (esbuild bundles src/cli/main.ts into .tmp/, packages left external), so `start ./x.ts`
 * shows what the published package does.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { waitFor } from '../helpers/wait.js';

let built: Promise<string> | undefined;

/** Bundles the CLI once per test file; resolves with the script's path. */
export function buildCli(): Promise<string> {
  return (built ??= (async () => {
    // Two levels under the repository, like dist/cli/main.js: package.json is found at ../../.
    const dir = resolve('.tmp', `cli-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const out = join(dir, 'main.mjs');
    await build({
      entryPoints: [resolve('src/cli/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: out,
      logLevel: 'warning',
    });
    return out;
  })());
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(args: string[], env: Record<string, string> = {}, input?: string): Promise<Ran> {
  const cli = await buildCli();
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [cli, ...args],
      { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

export interface Serving {
  child: ChildProcess;
  output(): string;
  exited(): Promise<number | null>;
}

const children = new Set<ChildProcess>();
export function killAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}

/** Starts a long-running command; resolves once its output matches `ready`. */
export async function serve(
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<Serving> {
  const cli = await buildCli();
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  await Promise.race([
    waitFor(() => ready.test(out), `output ${ready}`, 30_000),
    exit.then((c) => {
      throw new Error(`exited with ${c} before ${ready}:\n${out}`);
    }),
  ]);
  return { child, output: () => out, exited: () => exit };
}
