/**
 * `npm run bench -- queue [--node 24|current] [--only sqlite,postgres,redis] [--jobs N] [--rounds N]`
 * Measures every available system of bench/queue/*.ts in one run, on one Node: bulk enqueue jobs/s,
 * process jobs/s at concurrency 1 and 50 (no-op jobs), and pickup latency (add on an idle queue →
 * handler starts). Every row records the runtime (`node`), the package's `version` and its `settings`;
 * `checks` are the goals of issue 12.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  checkLines,
  markdownTable,
  median,
  percentile,
  ratioCheck,
  writeResults,
  type Check,
} from './lib.js';
import { packageInfo, unsupportedBy } from './runtime/peers.js';
import type { QueueBenchSystem } from './queue/types.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt('only')?.split(',');
const jobsAt: Record<number, number> = opt('jobs')
  ? { 1: Number(opt('jobs')), 50: Number(opt('jobs')) }
  : { 1: 5_000, 50: 20_000 };
const PICKUP_SAMPLES = 200;
/** Measurements per configuration; the table reports their median. */
const ROUNDS = Number(opt('rounds') ?? 5);
const CONCURRENCY = [1, 50];

const dir = join(dirname(fileURLToPath(import.meta.url)), 'queue');
const systems: QueueBenchSystem[] = [];
for (const f of readdirSync(dir).sort()) {
  if (!f.endsWith('.ts') || f === 'types.ts') continue;
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as { systems?: QueueBenchSystem[] };
  for (const s of mod.systems ?? []) if (!only || only.includes(s.store)) systems.push(s);
}

interface Row {
  system: string;
  /** The package's version (from its package.json). */
  version: string;
  /** The runtime that measured the row (process.version). */
  node: string;
  store: string;
  concurrency: number;
  enqueue_per_s: number;
  process_per_s: number;
  pickup_p50_ms: number;
  pickup_p99_ms: number;
  instrumented?: boolean;
  settings: string;
}
const rows: Row[] = [];
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/** One measurement: a fresh environment, enqueue n, process n at concurrency c, then pickups. */
async function measure(sys: QueueBenchSystem, instrumented: boolean, c: number): Promise<Row> {
  const n = jobsAt[c]!;
  const target = await sys.setup({ instrumented });
  try {
    global.gc?.();
    let t0 = process.hrtime.bigint();
    await target.enqueue(n);
    const enqueueMs = ms(t0);
    t0 = process.hrtime.bigint();
    await target.process(n, c);
    const processMs = ms(t0);
    const pickups = (await target.pickup(PICKUP_SAMPLES, c)).sort((a, b) => a - b);
    return {
      system: sys.system,
      version: packageInfo(sys.package).version,
      node: process.version,
      store: sys.store,
      concurrency: c,
      enqueue_per_s: Math.round((n / enqueueMs) * 1000),
      process_per_s: Math.round((n / processMs) * 1000),
      pickup_p50_ms: Number(percentile(pickups, 50).toFixed(3)),
      pickup_p99_ms: Number(percentile(pickups, 99).toFixed(3)),
      settings: sys.settings,
    };
  } finally {
    await target.teardown();
  }
}

// Every configuration is measured ROUNDS times and reported by its median. Configurations on the same
// store (bulwark and its peers, instrumentation on and off) take turns round by round, in a rotating
// order, so a load swing on a shared machine (or a database's background work left by the previous
// store's run) hits them alike instead of whoever happens to run first.
interface Config {
  sys: QueueBenchSystem;
  instrumented: boolean;
  /** More than one variant of this system: the rows carry `instrumented`. */
  variants: boolean;
}
const configs: Config[] = [];
/** Why a system was not measured, for the checks that need it. */
const skipped = new Map<string, string>();
for (const sys of systems) {
  const unsupported = unsupportedBy(sys.package);
  if (unsupported) {
    console.warn(`NOTICE: skipping ${sys.system} on ${sys.store}: ${unsupported} (run with --node 24)`);
    skipped.set(sys.system, unsupported);
    continue;
  }
  if (sys.available && !(await sys.available())) {
    console.warn(`skipping ${sys.system} on ${sys.store}: its server is not available`);
    skipped.set(sys.system, `${sys.store} server not available`);
    continue;
  }
  const variants = sys.system === 'bulwark' && sys.store === 'sqlite' ? [true, false] : [false];
  for (const instrumented of variants) configs.push({ sys, instrumented, variants: variants.length > 1 });
}
const stores = [...new Set(configs.map((c) => c.sys.store))];
for (const store of stores) {
  const group = configs.filter((c) => c.sys.store === store);
  for (const c of CONCURRENCY) {
    const samples = new Map<Config, Row[]>(group.map((g) => [g, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      const shift = (round - 1) % group.length;
      for (const cfg of [...group.slice(shift), ...group.slice(0, shift)]) {
        const label = `${cfg.sys.system}/${store} c=${c}${cfg.variants ? ` instrumented=${cfg.instrumented}` : ''} round ${round}/${ROUNDS}`;
        process.stdout.write(`${label}: `);
        const row = await measure(cfg.sys, cfg.instrumented, c);
        samples.get(cfg)!.push(row);
        console.log(
          `enqueue ${row.enqueue_per_s}/s, process ${row.process_per_s}/s, pickup p50 ${row.pickup_p50_ms} ms`,
        );
      }
    }
    for (const cfg of group) {
      const rs = samples.get(cfg)!;
      const row: Row = {
        ...rs[0]!,
        enqueue_per_s: Math.round(median(rs.map((r) => r.enqueue_per_s))),
        process_per_s: Math.round(median(rs.map((r) => r.process_per_s))),
        pickup_p50_ms: Number(median(rs.map((r) => r.pickup_p50_ms)).toFixed(3)),
        pickup_p99_ms: Number(median(rs.map((r) => r.pickup_p99_ms)).toFixed(3)),
      };
      if (cfg.variants) row.instrumented = cfg.instrumented;
      rows.push(row);
    }
  }
}

const table = markdownTable(
  rows.map((r) => ({ ...r, instrumented: r.instrumented ?? '' })),
  [
    'system',
    'version',
    'store',
    'concurrency',
    'instrumented',
    'enqueue_per_s',
    'process_per_s',
    'pickup_p50_ms',
    'pickup_p99_ms',
    'settings',
  ],
);
const ratios: string[] = [];
const find = (system: string, store: string, c: number): Row | undefined =>
  rows.find(
    (r) => r.system === system && r.store === store && r.concurrency === c && r.instrumented !== false,
  );
for (const [store, peers] of [
  ['sqlite', ['plainjob']],
  ['postgres', ['pg-boss', 'graphile-worker']],
  ['redis', ['bullmq']],
] as const) {
  for (const c of CONCURRENCY) {
    const b = find('bulwark', store, c);
    for (const p of peers) {
      const r = find(p, store, c);
      if (b && r)
        ratios.push(
          `- ${store} c=${c}: bulwark/${p} process ${(b.process_per_s / r.process_per_s).toFixed(2)}×, enqueue ${(b.enqueue_per_s / r.enqueue_per_s).toFixed(2)}×`,
        );
    }
  }
}
const on = rows.find(
  (r) => r.store === 'sqlite' && r.system === 'bulwark' && r.instrumented === true && r.concurrency === 50,
);
const off = rows.find(
  (r) => r.store === 'sqlite' && r.system === 'bulwark' && r.instrumented === false && r.concurrency === 50,
);
if (on && off)
  ratios.push(
    `- instrumentation overhead (sqlite c=50): ${((1 - on.process_per_s / off.process_per_s) * 100).toFixed(1)}% of process throughput`,
  );
// The goals of issue 12. bulwark's SQLite row is the instrumented one (health, metrics, logger on), as
// in the ratios above: the goal holds with what an operator would run.
const fig = (system: string, store: string, c: number, key: 'process_per_s' | 'enqueue_per_s') => ({
  label: `${system} ${key.replace('_per_s', '')} ${key === 'enqueue_per_s' ? '' : `c=${c} `}jobs/s`.replace(
    '  ',
    ' ',
  ),
  value: find(system, store, c)?.[key],
});
const why = (peer: string): string =>
  `not measured: ${skipped.get(peer) ?? `${peer} or bulwark row missing`}`;
const goal = (
  name: string,
  store: string,
  peer: string,
  c: number,
  min: number,
  key: 'process_per_s' | 'enqueue_per_s' = 'process_per_s',
): Check => ratioCheck(name, fig('bulwark', store, c, key), fig(peer, store, c, key), { min }, why(peer));
const checks: Check[] = [
  goal(
    'Postgres process c=50 vs graphile-worker 0.18 at its best ≥ 2×',
    'postgres',
    'graphile-worker',
    50,
    2,
  ),
  goal('Postgres process c=1 vs pg-boss 12 ≥ 1.5×', 'postgres', 'pg-boss', 1, 1.5),
  goal('Redis process c=50 vs BullMQ ≥ 3.5×', 'redis', 'bullmq', 50, 3.5),
  goal('Redis process c=1 vs BullMQ ≥ 1.5×', 'redis', 'bullmq', 1, 1.5),
  goal('SQLite process c=50 vs plainjob ≥ 8×', 'sqlite', 'plainjob', 50, 8),
  goal('SQLite process c=1 vs plainjob ≥ 1.5×', 'sqlite', 'plainjob', 1, 1.5),
  // Enqueue is measured in every round; the c=50 configuration's (20,000 jobs a round) is the larger sample.
  goal('SQLite bulk enqueue vs plainjob ≥ 1×', 'sqlite', 'plainjob', 50, 1, 'enqueue_per_s'),
];
writeResults(
  'queue',
  { jobs: jobsAt, pickup_samples: PICKUP_SAMPLES, rounds: ROUNDS, statistic: 'median', rows, checks },
  [
    `# queue: jobs/s and pickup latency (median of ${ROUNDS} rounds), node ${process.version}`,
    '',
    'Shared 2-core machine: absolute figures are noisy; compare ratios taken in one run.',
    '',
    table,
    '',
    ...ratios,
    '',
    '## Goals (issue 12)',
    '',
    ...checkLines(checks),
  ].join('\n'),
);
for (const line of checkLines(checks)) console.log(line);
