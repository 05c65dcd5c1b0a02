/**
 * `npm run bench -- cache [--rounds N]`  (default 5 rounds)
 *
 * bulwark's cache against lru-cache in one run:
 * - throughput (ns per operation): `get_hit`, a get of a present key (10,000 entries), and
 *   `zipf_mixed`, get-else-set over a Zipf(0.99) stream of 1,000,000 keys with 10,000 entries. Each
 *   measurement runs in a fresh process (bench/cache/throughput.ts) so one system's JIT state cannot
 *   help or hurt another; systems are interleaved over `--rounds` rounds and the fastest round of each
 *   is kept, which is the figure least disturbed by other load on the machine.
 * - hit ratio of every policy and of lru-cache on the real traces of ../shared/traces (see its README)
 *   and on the Zipf stream.
 * Writes bench/results/cache.json and cache.md, then prints PASS/FAIL for the targets of the default
 * policy (exit code 1 when one fails).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { Cache } from '../src/cache/cache.js';
import type { PolicyName } from '../src/cache/policies/index.js';
import { markdownTable, writeResults } from './lib.js';
import { loadTrace, tracesDir, zipfStream } from './cache/workloads.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Math.max(1, Number(args[roundsAt + 1]) || 1) : 5;

const ENTRIES = 10_000;
const ZIPF_KEYS = 1_000_000;
const ZIPF_LENGTH = 2_000_000;
const BULWARK_POLICIES = ['lru', 'lfu', 'fifo', 'adaptive', 'default'] as const;
const SYSTEMS: { system: 'bulwark' | 'lru-cache'; policy: string }[] = [
  { system: 'lru-cache', policy: 'lru' },
  ...BULWARK_POLICIES.map((policy) => ({ system: 'bulwark' as const, policy })),
];
const CASES = ['get_hit', 'zipf_mixed'] as const;
const TRACES: [trace: string, entries: number][] = [
  ['oltp', 1_000],
  ['oltp', 2_000],
  ['scarab', 25_000],
  ['scarab', 100_000],
  ['glimpse', 500],
  ['glimpse', 1_000],
  ['zipf', ENTRIES],
];

interface ThroughputRow {
  system: 'bulwark' | 'lru-cache';
  policy: string;
  case: string;
  ns_per_op: number;
}
interface HitRatioRow {
  system: 'bulwark' | 'lru-cache';
  policy: string;
  trace: string;
  entries: number;
  hit_ratio: number;
}

// ---- throughput -------------------------------------------------------------------------------
const best = new Map<string, number>();
for (let round = 1; round <= rounds; round++) {
  for (const c of CASES) {
    // A rotating order: no system always runs right after another, or always first or last.
    const shift = (round - 1) % SYSTEMS.length;
    for (const { system, policy } of [...SYSTEMS.slice(shift), ...SYSTEMS.slice(0, shift)]) {
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(here, 'cache', 'throughput.ts'), system, policy, c],
        { encoding: 'utf8' },
      );
      const last = r.stdout.trim().split('\n').pop() ?? '';
      if (r.status !== 0 || !last.startsWith('{')) {
        throw new Error(`throughput ${system}/${policy}/${c} failed:\n${r.stderr}`);
      }
      const ns = (JSON.parse(last) as { ns_per_op: number }).ns_per_op;
      const id = `${system}/${policy}/${c}`;
      best.set(id, Math.min(best.get(id) ?? Infinity, ns));
      console.log(`round ${round}: ${id} ${ns} ns/op`);
    }
  }
}
const throughput: ThroughputRow[] = [];
for (const c of CASES) {
  for (const { system, policy } of SYSTEMS) {
    throughput.push({ system, policy, case: c, ns_per_op: best.get(`${system}/${policy}/${c}`)! });
  }
}

// ---- hit ratio --------------------------------------------------------------------------------
function hitRatio(
  cache: { get(k: number): unknown; set(k: number, v: number): unknown },
  keys: Int32Array,
): number {
  let hits = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (cache.get(k) === undefined) cache.set(k, k);
    else hits++;
  }
  return Math.round((hits / keys.length) * 10_000) / 10_000;
}

const hit_ratio: HitRatioRow[] = [];
const streams = new Map<string, Int32Array | undefined>();
for (const [trace, entries] of TRACES) {
  if (!streams.has(trace)) {
    streams.set(trace, trace === 'zipf' ? zipfStream(ZIPF_KEYS, 0.99, ZIPF_LENGTH) : await loadTrace(trace));
  }
  const keys = streams.get(trace);
  if (keys === undefined) {
    console.warn(`skipping ${trace}: ${trace}.keys.gz not found in ${tracesDir()} (set BULWARK_TRACES)`);
    continue;
  }
  hit_ratio.push({
    system: 'lru-cache',
    policy: 'lru',
    trace,
    entries,
    hit_ratio: hitRatio(new LRUCache<number, number>({ max: entries }), keys),
  });
  for (const policy of BULWARK_POLICIES) {
    const cache = new Cache<number, number>(
      policy === 'default' ? { maxEntries: entries } : { maxEntries: entries, policy: policy as PolicyName },
    );
    hit_ratio.push({ system: 'bulwark', policy, trace, entries, hit_ratio: hitRatio(cache, keys) });
  }
  console.log(`hit ratio: ${trace} @ ${entries} done`);
}

// ---- report -----------------------------------------------------------------------------------
const lruNs = (c: string): number =>
  throughput.find((r) => r.system === 'lru-cache' && r.case === c)!.ns_per_op;
const tpTable = markdownTable(
  throughput.map((r) => ({
    system: r.system,
    policy: r.policy,
    case: r.case,
    'ns/op': r.ns_per_op,
    'x lru-cache': Math.round((r.ns_per_op / lruNs(r.case)) * 100) / 100,
  })),
);
const pct = (v: number | undefined): string => (v === undefined ? '' : (v * 100).toFixed(2));
const ratioOf = (system: string, policy: string, trace: string, entries: number): number | undefined =>
  hit_ratio.find(
    (r) => r.system === system && r.policy === policy && r.trace === trace && r.entries === entries,
  )?.hit_ratio;
const hrRows = TRACES.filter(([t, e]) => ratioOf('lru-cache', 'lru', t, e) !== undefined).map(
  ([trace, entries]) => {
    const row: Record<string, string | number> = {
      trace,
      entries,
      'lru-cache': pct(ratioOf('lru-cache', 'lru', trace, entries)),
    };
    for (const p of BULWARK_POLICIES) row[p] = pct(ratioOf('bulwark', p, trace, entries));
    return row;
  },
);
const markdown = [
  '## Cache throughput (ns per operation, lower is better; best of ' + rounds + ' interleaved rounds)',
  '',
  tpTable,
  '',
  '## Cache hit ratio (% of requests; `default` is the adaptive policy with default settings)',
  '',
  markdownTable(hrRows),
].join('\n');
writeResults('cache', { throughput, hit_ratio }, markdown);

// ---- targets ----------------------------------------------------------------------------------
const checks: [string, boolean][] = [];
for (const [trace, entries] of TRACES) {
  const lru = ratioOf('lru-cache', 'lru', trace, entries);
  const ours = ratioOf('bulwark', 'default', trace, entries);
  if (lru === undefined || ours === undefined) continue;
  const slack = trace === 'scarab' ? 0.01 : 0;
  checks.push([
    `default hit ratio on ${trace}@${entries}: ${pct(ours)}% >= lru-cache ${pct(lru)}%${slack ? ' - 1.0 point' : ''}`,
    ours >= lru - slack - 1e-9,
  ]);
}
const ratio = (policy: string, c: string): number =>
  throughput.find((r) => r.system === 'bulwark' && r.policy === policy && r.case === c)!.ns_per_op / lruNs(c);
checks.push([
  `default zipf_mixed cost ${ratio('default', 'zipf_mixed').toFixed(2)}x lru-cache <= 1.5x`,
  ratio('default', 'zipf_mixed') <= 1.5,
]);
checks.push([
  `lru get_hit cost ${ratio('lru', 'get_hit').toFixed(2)}x lru-cache <= 1.5x`,
  ratio('lru', 'get_hit') <= 1.5,
]);
console.log('');
for (const [text, ok] of checks) console.log(`${ok ? 'PASS' : 'FAIL'} ${text}`);
if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
