/**
 * One throughput measurement, run in its own process by bench/cache.ts so that no system's code
 * warms (or pollutes) the JIT state of another: `throughput.ts <system> <policy> <case>`; prints
 * `{"ns_per_op": n}` on its last line.
 *
 * Time is the process's CPU time (user + system), not the wall clock: on a machine shared with other
 * work, the wall clock counts the time this process waited for a core, which has nothing to do with
 * the code measured (it swung 3x between rounds here), while CPU time moves by a few percent.
 */
import { LRUCache } from 'lru-cache';
import { Cache } from '../../src/cache/cache.js';
import type { PolicyName } from '../../src/cache/policies/index.js';
import { zipfStream } from './workloads.js';

export const ENTRIES = 10_000;
export const ZIPF_KEYS = 1_000_000;
export const ZIPF_S = 0.99;
const OPS = 1_000_000;

/** Runs `fn` `n` times per sample; the median CPU nanoseconds per call over `samples` samples. */
function cpuNsPerCall(fn: () => void, n: number, samples: number): number {
  const results: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const used = process.cpuUsage(start);
    results.push(((used.user + used.system) * 1000) / n);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)]!;
}

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

function getHit(system: string, policy: string): number {
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
  cpuNsPerCall(op, OPS, 2); // warm-up
  const ns = cpuNsPerCall(op, OPS, 7);
  if (sink < 0) console.log(sink);
  return ns;
}

function zipfMixed(system: string, policy: string): number {
  const cache = create<number>(system, policy);
  const stream = zipfStream(ZIPF_KEYS, ZIPF_S, 2 * OPS);
  let i = 0;
  const op = (): void => {
    const key = stream[i++ % stream.length]!;
    if (cache.get(key) === undefined) cache.set(key, key);
  };
  cpuNsPerCall(op, 2 * OPS, 1); // warm-up, and the cache fills
  return cpuNsPerCall(op, OPS, 7);
}

const [system = 'bulwark', policy = 'default', benchCase = 'get_hit'] = process.argv.slice(2);
const ns = benchCase === 'get_hit' ? getHit(system, policy) : zipfMixed(system, policy);
console.log(JSON.stringify({ ns_per_op: Math.round(ns * 10) / 10 }));
