/**
 * The package as users get it: built into a temporary package directory, then
 * - a consumer program compiles against the built types with skipLibCheck: false;
 * - `require('bulwark')` and every subpath load (require of ESM, Node >= 20.19);
 * - each entry point loads only the heavy dependencies it needs (a policy loads no logger,
 *   metrics library or database driver);
 * - the packed files hold every export target and no source maps.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRIES } from './entries.js';

const root = resolve(import.meta.dirname, '../..');
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
const HEAVY = ['better-sqlite3', 'ioredis', 'pg', 'pino', 'prom-client', '@opentelemetry/api'];

/** Which heavy packages each entry point may load when imported. */
const ALLOWED: Record<string, string[]> = {
  bulwark: [],
  'bulwark/resilience': [],
  'bulwark/cache': [],
  'bulwark/store': [],
  'bulwark/sqlite': [],
  // prom-client itself loads @opentelemetry/api when it is installed (for exemplars).
  'bulwark/observe': ['@opentelemetry/api', 'pino', 'prom-client'],
  'bulwark/server': [],
  'bulwark/dashboard': [],
  'bulwark/postgres': ['pg'],
  'bulwark/redis': ['ioredis'],
};

let tmp: string;
let pkg: string;
let consumer: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bulwark-pkg-'));
  pkg = join(tmp, 'bulwark');
  consumer = join(tmp, 'consumer');
  mkdirSync(pkg);
  // Not execFileSync: a build that blocks the test worker for a minute makes vitest's RPC time out.
  await promisify(execFile)(
    bin('tsc'),
    ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')],
    {
      cwd: root,
    },
  );
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(root, 'bin'), join(pkg, 'bin'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
  mkdirSync(join(consumer, 'node_modules'), { recursive: true });
  symlinkSync(pkg, join(consumer, 'node_modules', 'bulwark'));
  symlinkSync(join(root, 'node_modules', '@types'), join(consumer, 'node_modules', '@types'));
  cpSync(join(import.meta.dirname, 'consumer'), consumer, { recursive: true });
  copyFileSync(join(import.meta.dirname, 'consumer', 'tsconfig.json'), join(consumer, 'tsconfig.json'));
  execFileSync('node', ['-e', 'require("fs").writeFileSync("package.json", \'{"type":"module"}\')'], {
    cwd: consumer,
  });
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const node = (args: string[]): string =>
  execFileSync(process.execPath, args, {
    cwd: consumer,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

describe('the built package', () => {
  it('compiles a consumer program against the dist types with skipLibCheck: false', () => {
    let out = '';
    try {
      execFileSync(bin('tsc'), ['-p', join(consumer, 'tsconfig.json')], { cwd: consumer, encoding: 'utf8' });
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(out).toBe('');
  }, 60_000);

  it('require() loads the root and every subpath', () => {
    const script = `for (const e of ${JSON.stringify(Object.keys(ENTRIES))}) {
      const m = require(e);
      if (Object.keys(m).length === 0) throw new Error(e + ' exported nothing');
    }
    console.log(typeof require('bulwark').Queue);`;
    expect(node(['-e', script]).trim()).toBe('function');
  });

  it('loads only the heavy dependencies an entry point needs', () => {
    const probe = `import { createRequire } from 'node:module';
      await import(process.argv[1]);
      const loaded = new Set();
      for (const k of Object.keys(createRequire(import.meta.url).cache)) {
        const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(k.slice(k.lastIndexOf('node_modules/')));
        if (m) loaded.add(m[1]);
      }
      console.log(JSON.stringify([...loaded]));`;
    const report: Record<string, string[]> = {};
    for (const entry of Object.keys(ENTRIES)) {
      const loaded = JSON.parse(node(['--input-type=module', '-e', probe, entry])) as string[];
      report[entry] = loaded.filter((p) => HEAVY.includes(p)).sort();
    }
    const expected = Object.fromEntries(Object.keys(ENTRIES).map((e) => [e, ALLOWED[e]]));
    expect(report).toEqual(expected);
  }, 60_000);

  it('packs every export target and no source maps', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: pkg,
        encoding: 'utf8',
      }),
    ) as { files: { path: string }[] }[];
    const files = new Set(packed!.files.map((f) => f.path));
    expect([...files].filter((f) => f.endsWith('.map'))).toEqual([]);
    const exportsMap = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).exports as Record<
      string,
      string | Record<string, string>
    >;
    for (const target of Object.values(exportsMap)) {
      for (const path of typeof target === 'string' ? [target] : Object.values(target)) {
        expect(files, path).toContain(path.replace(/^\.\//, ''));
      }
    }
    expect(files).toContain('bin/bulwark.js');
  });
});
