/** Key streams for the cache benchmark: the real traces of ../shared/traces and a Zipf stream. */
import { createReadStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { zipf } from './generators.js';
import { createGunzip } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Where the traces live: BULWARK_TRACES, else the nearest `shared/traces` above the repository (a
 * checkout's sibling, or one level further up for a git worktree).
 */
export function tracesDir(): string {
  const fromEnv = process.env.BULWARK_TRACES;
  if (fromEnv) return fromEnv;
  const repo = join(here, '..', '..');
  for (const up of ['..', join('..', '..')]) {
    const dir = join(repo, up, 'shared', 'traces');
    if (existsSync(dir)) return dir;
  }
  return join(repo, '..', 'shared', 'traces');
}

/**
 * Reads `<name>.keys.gz` (one integer key per line) into dense ids 0..unique-1. Scarab's keys are
 * 64-bit and would lose precision as JS numbers, so keys are matched as text and renumbered; every
 * system then sees the same small integers.
 */
export async function loadTrace(name: string): Promise<Int32Array | undefined> {
  const file = join(tracesDir(), `${name}.keys.gz`);
  if (!existsSync(file)) return undefined;
  const ids = new Map<string, number>();
  let out = new Int32Array(1 << 16);
  let n = 0;
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length === 0) continue;
    let id = ids.get(line);
    if (id === undefined) {
      id = ids.size;
      ids.set(line, id);
    }
    if (n === out.length) {
      const bigger = new Int32Array(out.length * 2);
      bigger.set(out);
      out = bigger;
    }
    out[n++] = id;
  }
  return out.subarray(0, n);
}

/** A seeded xorshift32 in [0, 1), so every run and every system gets the same stream. */
function random(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** `length` keys drawn from Zipf(`s`) over 0..`keys`-1 (key 0 the most popular). */
export function zipfStream(keys: number, s: number, length: number, seed = 42): Int32Array {
  const rank = zipf(keys, s, random(seed));
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) out[i] = rank();
  return out;
}
