/**
 * `npm run bench -- sustained [--node 24|current] [--jobs N] [--only retention,scale]
 *   [--stores postgres,redis] [--cleanup-ms MS] [--rate JOBS_PER_S]`
 *
 * bulwark alone (no peer), through its public API, for what a short benchmark cannot show:
 * (a) retention: `--jobs` jobs (default 1,000,000) through Postgres with retention on; the throughput
 *     of the last tenth (100,000 at full size) against the first tenth, and the schema's table and
 *     index bytes at the end;
 * (b) scale: four worker processes against one, on one Postgres and on one Redis: throughput draining
 *     a backlog of jobs/5 (200,000 at full size), then p50/p99 pickup latency of timed single adds
 *     while a producer keeps the workers at half the one-process throughput (the same for both).
 * `--jobs 20000` makes a smoke run of a minute or two; the goals are judged at any size.
 */
import { boundCheck, checkLines, markdownTable, ratioCheck, writeResults, type Check } from './lib.js';
import { packageInfo } from './runtime/peers.js';
import { retentionRun, type RetentionResult } from './sustained/retention.js';
import { scaleRun, type ScaleResult } from './sustained/scale.js';
import type { StoreName } from './sustained/stores.js';
import { serviceAvailable } from '../test/helpers/services.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const JOBS = Number(opt('jobs') ?? 1_000_000);
if (!Number.isInteger(JOBS) || JOBS < 1000) throw new Error('--jobs must be an integer ≥ 1000');
const parts = opt('only')?.split(',') ?? ['retention', 'scale'];
const stores = (opt('stores')?.split(',') ?? ['postgres', 'redis']) as StoreName[];
const CONCURRENCY = 50;
const PROCESSES = [1, 4];
const CLEANUP_MS = Number(opt('cleanup-ms') ?? 10_000);
const BACKLOG = Math.max(1000, Math.floor(JOBS / 5));
/** The pickup phase: 10 s at full size, at least 2 s. */
const PICKUP_MS = Math.min(10_000, Math.max(2_000, JOBS / 100));
/** Timed single adds per second during the pickup phase. */
const PROBES_PER_S = 50;
const log = (msg: string): void => console.log(`[sustained] ${msg}`);
const version = packageInfo('bulwark').version;

const settings = {
  concurrency_per_process: CONCURRENCY,
  retention: `Worker default rules (completed/cancelled: 1 day, newest 10,000; dead: 14 days, 100,000), cleanupIntervalMs ${CLEANUP_MS}; backlog kept ≤ 20,000 by an in-process producer (addBulk ×1000)`,
  scale: `backlog ${BACKLOG} (addBulk ×1000) drained by N processes; then for ${PICKUP_MS} ms a load of half the 1-process drain rate (addBulk every ~5 ms) with ${PROBES_PER_S} timed single add()s per second among it; pickup = probe's add() called → its handler starts (wall clock, sub-ms)`,
  stores: 'postgres: pool 10 per process, LISTEN/NOTIFY; redis: ioredis',
};

let retention: RetentionResult | undefined;
if (parts.includes('retention') && (await serviceAvailable('postgres'))) {
  log(`(a) ${JOBS.toLocaleString('en-US')} jobs through Postgres, retention on, concurrency ${CONCURRENCY}`);
  retention = await retentionRun(
    { jobs: JOBS, concurrency: CONCURRENCY, backlog: 20_000, cleanupIntervalMs: CLEANUP_MS },
    log,
  );
  log(`first tenth ${retention.first_window_per_s}/s, last tenth ${retention.last_window_per_s}/s`);
}

const scale: (ScaleResult & { system: string; version: string; node: string; settings: string })[] = [];
if (parts.includes('scale')) {
  for (const store of stores) {
    if (!(await serviceAvailable(store))) continue;
    // The load is half the one-process throughput (or --rate), the same for every process count.
    let ratePerS = opt('rate') === undefined ? undefined : Number(opt('rate'));
    for (const processes of PROCESSES) {
      log(`(b) ${store}: ${processes} process(es) × concurrency ${CONCURRENCY}, backlog ${BACKLOG}`);
      const r = await scaleRun({
        store,
        processes,
        concurrency: CONCURRENCY,
        backlog: BACKLOG,
        pickupMs: PICKUP_MS,
        probesPerS: PROBES_PER_S,
        ...(ratePerS === undefined ? {} : { ratePerS }),
      });
      ratePerS ??= r.target_per_s;
      scale.push({
        system: 'bulwark',
        version,
        node: process.version,
        ...r,
        settings: `${settings.scale}; ${settings.stores}`,
      });
      log(
        `${store} ×${processes}: drain ${r.drain_per_s}/s; pickup at ${r.offered_per_s}/s p50 ${r.pickup_p50_ms} ms, p99 ${r.pickup_p99_ms} ms`,
      );
    }
  }
}

// The goals of issue 12.
const drain = (store: StoreName, processes: number) =>
  scale.find((r) => r.store === store && r.processes === processes)?.drain_per_s;
const fourVsOne = (store: StoreName, label: string): Check =>
  ratioCheck(
    `four processes vs one ≥ 1× (${label})`,
    { label: '4 processes jobs/s', value: drain(store, 4) },
    { label: '1 process jobs/s', value: drain(store, 1) },
    { min: 1 },
  );
const pgPickups = scale.filter((r) => r.store === 'postgres').map((r) => r.pickup_p50_ms);
const checks: Check[] = [
  ratioCheck(
    `Postgres sustained: last ${retention?.window.toLocaleString('en-US') ?? '100,000'} vs first ≥ 0.8×`,
    { label: 'last tenth jobs/s', value: retention?.last_window_per_s },
    { label: 'first tenth jobs/s', value: retention?.first_window_per_s },
    { min: 0.8 },
  ),
  fourVsOne('postgres', 'Postgres'),
  fourVsOne('redis', 'Redis'),
  // The worse of the one- and four-process runs.
  boundCheck(
    'pickup p50 on Postgres under load ≤ 5 ms',
    'worst p50 of 1 and 4 processes',
    pgPickups.length > 0 ? Math.max(...pgPickups) : undefined,
    { max: 5 },
    'ms',
  ),
];

const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;
const markdown = [
  `# sustained: bulwark ${version} on node ${process.version}, --jobs ${JOBS.toLocaleString('en-US')}`,
  '',
  'Shared 2-core machine: throughput figures are noisy.',
  '',
  ...(retention
    ? [
        `## (a) ${retention.jobs.toLocaleString('en-US')} jobs through Postgres, retention on`,
        '',
        `jobs/s per tenth of the run: ${retention.deciles_per_s.map((d) => d.toLocaleString('en-US')).join(', ')} (whole run ${retention.total_per_s.toLocaleString('en-US')})`,
        '',
        `At the end: tables ${mb(retention.table_bytes)}, indexes ${mb(retention.index_bytes)}`,
        '',
        markdownTable(retention.sizes.map((s) => ({ ...s }))),
        '',
        `Settings: ${settings.retention}`,
        '',
      ]
    : []),
  ...(scale.length > 0
    ? [
        '## (b) worker processes on one store',
        '',
        markdownTable(scale.map(({ settings: _, ...s }) => s)),
        '',
        `Settings: ${settings.scale}; ${settings.stores}`,
        '',
      ]
    : []),
  '## Goals (issue 12)',
  '',
  ...checkLines(checks),
].join('\n');
writeResults('sustained', { jobs: JOBS, settings, retention, scale, checks }, markdown);
for (const line of checkLines(checks)) console.log(line);
process.exit(0);
