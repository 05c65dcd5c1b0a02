/**
 * `npm run bench -- <suite> [--node <24|x.y.z|current>] [args]`: runs bench/<suite>.ts in a child
 * process (so each suite gets a fresh heap and its peers load only when asked for).
 *
 * Runtime: every comparison runs both sides on one Node. By default that is the Node running npm,
 * unless one of the suite's peers does not support it (its `engines.node`): then the suite runs on the
 * pinned Node 24 from the registry (see bench/runtime/node.ts), and says so. `--node 24` asks for that
 * runtime outright; `--node current` keeps the machine's Node and skips, with a notice, the peers it
 * cannot run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { provisionNode } from './runtime/node.js';
import { unmetPeers } from './runtime/peers.js';

/** The runtime a suite moves to when the machine's Node cannot run its peers. */
const PEER_NODE = '24';

const here = dirname(fileURLToPath(import.meta.url));
const [suite, ...argv] = process.argv.slice(2);
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(f))
  .map((f) => f.slice(0, -3));

if (!suite || !existsSync(join(here, `${suite}.ts`))) {
  console.error(
    `usage: npm run bench -- <suite> [--node <24|x.y.z|current>] [suite args]   (suites: ${suites.join(', ')})`,
  );
  process.exit(2);
}

const at = argv.indexOf('--node');
const asked = at >= 0 ? argv[at + 1] : undefined;
if (at >= 0 && !asked) {
  console.error('--node needs a value: 24, an exact version such as 24.18.1, or current');
  process.exit(2);
}
const rest = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : argv;

let spec = asked === 'current' ? undefined : asked;
if (asked === undefined) {
  const unmet = unmetPeers(suite);
  if (unmet.length > 0) {
    spec = PEER_NODE;
    console.error(
      `[bench] ${suite}: ${unmet.join('; ')}.\n[bench] Running the whole suite (bulwark and every peer) on Node ${PEER_NODE} from the registry instead; \`--node current\` keeps ${process.version} and skips those peers.`,
    );
  }
}

let runtime: ReturnType<typeof provisionNode> | undefined;
try {
  runtime = spec === undefined ? undefined : provisionNode(spec);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
if (runtime) console.error(`[bench] ${suite} on node ${runtime.version} (${runtime.bin})`);
const r = spawnSync(
  runtime?.bin ?? process.execPath,
  ['--import', 'tsx', '--expose-gc', join(here, `${suite}.ts`), ...rest],
  { stdio: 'inherit', env: runtime?.env() ?? process.env },
);
process.exit(r.status ?? 1);
