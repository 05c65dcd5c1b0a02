#!/usr/bin/env node
// The published CLI runs the compiled code (dist/, built by `npm run build`, which `npm install` runs
// through the `prepare` script); in the repository `npx tsx src/cli/main.ts` runs the sources.
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

try {
  await import('../dist/cli/main.js');
} catch (e) {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/cli/main.js')) {
    const root = fileURLToPath(new URL('..', import.meta.url));
    process.stderr.write(`bulwark: the CLI is not built: run \`npm run build\` in ${root}\n`);
    process.exitCode = 1;
  } else throw e;
}
