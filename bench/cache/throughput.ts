/**
 * One throughput measurement, run in its own process by bench/cache.ts so that no system's code
 * warms (or pollutes) the JIT state of another: `throughput.ts <system> <policy> <case>`; prints
 * `{"ns_per_op": n}` on its last line.
 */
import { LRUCache } from 'lru-cache';
import { Cache } from '../../src/cache/cache.js';
import type { PolicyName } from '../../src/cache/policies/index.js';
import { nsPerCall } from '../lib.js';
import { zipfStream } from './workloads.js';

export const ENTRIES = 10_000;
export const ZIPF_KEYS = 1_000_000;
export const ZIPF_S = 0.99;
const OPS = 1_000_000;

/** The two operations every system offers; both systems are driven through the same call shape. */
interface Target<K> {
  get(key: K): number | undefined;
  set(key: K, value: number): unknown;
}

function create<K extends string | number>(system: string, policy: string): Target<K> {
  if (system === 'lru-cache') return new LRUCache<K, number>({ max: ENTRIES });
  return new Cache<K, number>(
    policy === 'default' ? { maxEntries: ENTRIES } : { maxEntries: ENTRIES, policy: policy as PolicyName },
  );
}

async function getHit(system: string, policy: string): Promise<number> {
  const cache = create<string>(system, policy);
  const keys = Array.from({ length: ENTRIES }, (_, i) => `key:${i}`);
  for (let i = 0; i < ENTRIES; i++) cache.set(keys[i]!, i);
  // A shuffled order, so the access pattern is not a sequential scan of the recency list.
  const order = Array.from({ length: ENTRIES }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = (i * 7919 + 13) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const probe = order.map((i) => keys[i]!);
  let i = 0;
  let sink = 0;
  const op = (): void => {
    sink += cache.get(probe[i++ % ENTRIES]!)!;
  };
  await nsPerCall(op, OPS, 2); // warm-up
  const ns = await nsPerCall(op, OPS, 7);
  if (sink < 0) console.log(sink);
  return ns;
}

async function zipfMixed(system: string, policy: string): Promise<number> {
  const cache = create<number>(system, policy);
  const stream = zipfStream(ZIPF_KEYS, ZIPF_S, 2 * OPS);
  let i = 0;
  const op = (): void => {
    const key = stream[i++ % stream.length]!;
    if (cache.get(key) === undefined) cache.set(key, key);
  };
  await nsPerCall(op, 2 * OPS, 1); // warm-up, and the cache fills
  return nsPerCall(op, OPS, 7);
}

const [system = 'bulwark', policy = 'default', benchCase = 'get_hit'] = process.argv.slice(2);
const ns = benchCase === 'get_hit' ? await getHit(system, policy) : await zipfMixed(system, policy);
console.log(JSON.stringify({ ns_per_op: Math.round(ns * 10) / 10 }));
