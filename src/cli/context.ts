/** What every command gets: the named store (opened on demand, closed at the end) and the output. */
import type { Store } from '../store/types.js';
import { InvalidArgumentError } from 'commander';
import { ValidationError } from '../kernel/errors.js';
import { DEFAULT_STORE, openStore, parseStoreUrl, type StoreSpec } from './store-url.js';

export interface Ctx {
  readonly spec: StoreSpec;
  /** Opens the store once; `create` lets a missing SQLite file be created. */
  store(o?: { create?: boolean }): Promise<Store>;
  /** Writes `json` with --json, else `text()`. */
  out(json: unknown, text: () => string): void;
  readonly json: boolean;
  close(): Promise<void>;
}

export function makeContext(o: { store?: string; json?: boolean }): Ctx {
  const spec = parseStoreUrl(o.store ?? process.env.BULWARK_STORE ?? DEFAULT_STORE);
  let opened: Promise<Store> | undefined;
  const json = o.json === true;
  return {
    spec,
    json,
    store: (s = {}) => (opened ??= openStore(spec, { create: s.create === true })),
    out(value, text) {
      process.stdout.write(`${json ? JSON.stringify(value) : text()}\n`);
    },
    async close() {
      const s = await opened?.catch(() => undefined);
      await s?.close();
    },
  };
}

/** A commander option parser for integers within bounds. */
export const int =
  (flag: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
  (text: string): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be an integer from ${min} to ${max}`);
    }
    return n;
  };

/** Parses a JSON argument; bad JSON is a ValidationError (exit 2), like every other bad input. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ValidationError(`${what} is not valid JSON: ${(e as Error).message}`, { path: what });
  }
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
