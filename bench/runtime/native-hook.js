// Loaded with `--import` (through NODE_OPTIONS) into every Node process started under a runtime from
// bench/runtime/node.ts. The repo's node_modules holds native addons built for the machine's Node;
// this sends each `.node` file a process loads to the build for this process's ABI, when
// BULWARK_NATIVE_DIR holds one. Plain JavaScript: it runs before any TypeScript loader.
import { existsSync, readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { join, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = process.env.BULWARK_NATIVE_DIR;
const abiFile = dir ? join(dir, 'ABI') : undefined;
// Another Node (a process started by absolute path, say) keeps its own builds: redirect only on a
// matching ABI. registerHooks (Node >= 22.15) covers require() as well as import.
if (
  abiFile &&
  existsSync(abiFile) &&
  readFileSync(abiFile, 'utf8').trim() === process.versions.modules &&
  typeof nodeModule.registerHooks === 'function'
) {
  const marker = `${sep}node_modules${sep}`;
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      if (!resolved.url.startsWith('file:') || !resolved.url.endsWith('.node')) return resolved;
      const path = fileURLToPath(resolved.url);
      const at = path.lastIndexOf(marker);
      if (at < 0) return resolved;
      const alternative = join(dir, path.slice(at + 1));
      return existsSync(alternative) ? { ...resolved, url: pathToFileURL(alternative).href } : resolved;
    },
  });
}
