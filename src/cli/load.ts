/**
 * Loads the module `bulwark start` runs. TypeScript (`.ts`, `.mts`, `.cts`, `.tsx`) goes through
 * tsx's loader, so `bulwark start ./workers.ts` works from the published package as well as here.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { CliError, EXIT } from './exit.js';

const TS = /\.(c|m)?tsx?$/i;

export async function loadModule(path: string): Promise<Record<string, unknown>> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new CliError(`no module at ${abs}`, EXIT.usage);
  const url = pathToFileURL(abs).href;
  if (TS.test(abs)) {
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(url)) as Record<string, unknown>;
}
