/**
 * `npm run bench -- cache [--rounds N] [--no-throughput] [--holdout-seed N]`  (default 5 rounds)
 *
 * bulwark's cache against lru-cache and against the simple policies, in one run:
 * - throughput (CPU ns per operation): `get_hit`, a get of a present key (10,000 entries), and
 *   `zipf_mixed`, get-else-set over a Zipf(0.99) stream of 1,000,000 keys with 10,000 entries. Each
 *   measurement runs in a fresh process (bench/cache/throughput.ts) so one system's JIT state cannot
 *   help or hurt another; systems are interleaved over `--rounds` rounds and the fastest round of each
 *   is kept, which is the figure least disturbed by other load on the machine.
 * - hit ratios on the corpus (bench/cache/corpus.ts: seeded synthetic workloads and the real traces of
 *   ../shared/traces, each at three cache sizes) of LRU, ARC, S3-FIFO, SIEVE, W-TinyLFU with a 1%
 *   window (bench/cache/reference), OPT as the ceiling, and bulwark's default cache; the same on a
 *   held-out set drawn from other families and parameters (bench/cache/holdout.ts), which the policy
 *   was not developed on; lru-cache on the traces.
 * Writes bench/results/cache.json (with `checks`, one per goal) and cache.md, then prints PASS/FAIL
 * per check (exit code 1 when one fails).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { markdownTable, writeResults } from './lib.js';
import { CORPUS } from './cache/corpus.js';
import {
  hitRatioChecks,
  hitRatios,
  pct,
  referenceChecks,
  type Check,
  type HitRatioRow,
} from './cache/hitratio.js';
import { DEFAULT_HOLDOUT_SEED, holdoutWorkloads } from './cache/holdout.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const rounds = Math.max(1, Number(flag('--rounds') ?? 5) || 1);
const measureThroughput = !args.includes('--no-throughput');
const holdoutSeed = Number(flag('--holdout-seed') ?? DEFAULT_HOLDOUT_SEED);

const SYSTEMS: { system: 'bulwark' | 'lru-cache'; policy: string }[] = [
  { system: 'lru-cache', policy: 'lru' },
  { system: 'bulwark', policy: 'lru' },
  { system: 'bulwark', policy: 'default' },
];
const CASES = ['get_hit', 'zipf_mixed'] as const;

interface ThroughputRow {
  system: 'bulwark' | 'lru-cache';
  policy: string;
  case: string;
  ns_per_op: number;
}

// ---- throughput -------------------------------------------------------------------------------
const throughput: ThroughputRow[] = [];
if (measureThroughput) {
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
  for (const c of CASES) {
    for (const { system, policy } of SYSTEMS) {
      throughput.push({ system, policy, case: c, ns_per_op: best.get(`${system}/${policy}/${c}`)! });
    }
  }
}

// ---- hit ratios -------------------------------------------------------------------------------
const started = Date.now();
const log = (row: HitRatioRow): void =>
  console.log(
    `hit ratio ${row.workload}@${row.entries}: default ${row.default}, best ${row.best_policy} ${row.best}, lru ${row.lru} (${Math.round((Date.now() - started) / 1000)} s)`,
  );
const corpus = await hitRatios(CORPUS, log);
const holdout = await hitRatios(holdoutWorkloads(holdoutSeed), log);

// lru-cache itself on the traces and the Zipf stream, next to the default (the figures users compare).
const peers: { workload: string; entries: number; lru_cache: number; default: number }[] = [];
for (const w of CORPUS.filter((w) => w.kind === 'trace' || w.name === 'zipf0.99')) {
  for (const entries of w.sizes) {
    const stream = await w.stream(entries);
    if (stream === undefined) continue;
    const cache = new LRUCache<number, number>({ max: entries });
    let hits = 0;
    for (let i = 0; i < stream.keys.length; i++) {
      const k = stream.keys[i]!;
      if (cache.get(k) === undefined) cache.set(k, k);
      else hits++;
    }
    const row = corpus.find((r) => r.workload === w.name && r.entries === entries)!;
    peers.push({ workload: w.name, entries, lru_cache: pct(hits, stream.keys.length), default: row.default });
  }
}

// ---- checks -----------------------------------------------------------------------------------
const checks: Check[] = [...referenceChecks(corpus), ...hitRatioChecks(corpus, 'corpus')];
checks.push(...hitRatioChecks(holdout, `held-out (seed ${holdoutSeed})`));
if (measureThroughput) {
  const ns = (system: string, policy: string, c: string): number =>
    throughput.find((r) => r.system === system && r.policy === policy && r.case === c)!.ns_per_op;
  const ratio = (policy: string, c: string): number => ns('bulwark', policy, c) / ns('lru-cache', 'lru', c);
  for (const [policy, c] of [
    ['default', 'zipf_mixed'],
    ['default', 'get_hit'],
    ['lru', 'get_hit'],
  ] as const) {
    checks.push({
      name: `${policy} ${c} cost vs lru-cache <= 1.0x`,
      ok: ratio(policy, c) <= 1,
      detail: `${ratio(policy, c).toFixed(2)}x (${ns('bulwark', policy, c)} vs ${ns('lru-cache', 'lru', c)} ns/op, best of ${rounds} rounds; CPU-noisy on a shared machine)`,
    });
  }
}

// ---- report -----------------------------------------------------------------------------------
const table = (rows: readonly HitRatioRow[]): string =>
  markdownTable(
    rows.map((r) => ({
      workload: r.workload,
      entries: r.entries,
      OPT: r.opt.toFixed(2),
      LRU: r.lru.toFixed(2),
      ARC: r.arc.toFixed(2),
      'S3-FIFO': r.s3fifo.toFixed(2),
      SIEVE: r.sieve.toFixed(2),
      'W-TinyLFU 1%': r.wtinylfu.toFixed(2),
      default: r.default.toFixed(2),
      'gap to best': r.gap.toFixed(2),
      'vs LRU': r.vs_lru.toFixed(2),
    })),
  );
const lruNs = (c: string): number =>
  throughput.find((r) => r.system === 'lru-cache' && r.case === c)!.ns_per_op;
const markdown = [
  ...(measureThroughput
    ? [
        `## Cache throughput (CPU ns per operation, lower is better; best of ${rounds} interleaved rounds)`,
        '',
        markdownTable(
          throughput.map((r) => ({
            system: r.system,
            policy: r.policy,
            case: r.case,
            'ns/op': r.ns_per_op,
            'x lru-cache': Math.round((r.ns_per_op / lruNs(r.case)) * 100) / 100,
          })),
        ),
        '',
      ]
    : []),
  '## Checks',
  '',
  ...checks.map((c) => `- ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`),
  '',
  "## Hit ratio on the corpus (% of requests; `default` is bulwark's cache with default options; gap = best of LRU/ARC/S3-FIFO/SIEVE/W-TinyLFU minus default)",
  '',
  table(corpus),
  '',
  `## Hit ratio on the held-out set (seed ${holdoutSeed}; not used to develop the policy)`,
  '',
  table(holdout),
  '',
  '## Against lru-cache on the traces and the Zipf stream (%)',
  '',
  markdownTable(
    peers.map((p) => ({
      workload: p.workload,
      entries: p.entries,
      'lru-cache': p.lru_cache.toFixed(2),
      default: p.default.toFixed(2),
    })),
  ),
].join('\n');
writeResults(
  'cache',
  {
    throughput,
    hit_ratio: { corpus, holdout: { seed: holdoutSeed, rows: holdout }, lru_cache: peers },
    checks,
  },
  markdown,
);

console.log('');
for (const c of checks) console.log(`${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
if (checks.some((c) => !c.ok)) process.exitCode = 1;
