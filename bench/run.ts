/**
 * `npm run bench -- <suite> [args]`: runs bench/<suite>.ts in a child process (so each suite gets a
 * fresh heap and its peers load only when asked for).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [suite, ...rest] = process.argv.slice(2);
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(f))
  .map((f) => f.slice(0, -3));

if (!suite || !existsSync(join(here, `${suite}.ts`))) {
  console.error(`usage: npm run bench -- <suite>   (suites: ${suites.join(', ')})`);
  process.exit(2);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--expose-gc', join(here, `${suite}.ts`), ...rest],
  {
    stdio: 'inherit',
  },
);
process.exit(r.status ?? 1);
