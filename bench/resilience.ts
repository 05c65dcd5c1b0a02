/**
 * `npm run bench -- resilience [--node 24|current] [--quick] [--only case,...]`
 * Per-call cost of the resilience policies against cockatiel 4 and opossum 10, in one run on one Node,
 * on a resolved async no-op awaited sequentially: ns per call (median of samples) and bytes allocated
 * per call (as Polly reports them). Every row records `node`, the package's `version` and the case's
 * `settings`; `checks` are the goals of issue 12 (retry+breaker ≤ 0.25× cockatiel's; timeout ≤ 0.05×
 * cockatiel's cooperative timeout). cockatiel 4 and opossum 10 need Node ≥ 22: on an older Node,
 * `npm run bench` runs this suite on Node 24 (see bench/run.ts); `--node current` measures bulwark
 * alone there and says so.
 */
import { bulkhead, circuitBreaker, createRegistry, retry, timeout, wrap } from '../src/resilience/index.js';
import type { ExecuteContext } from '../src/resilience/index.js';
import {
  bytesPerCall,
  checkLines,
  markdownTable,
  nsPerCall,
  ratioCheck,
  writeResults,
  type Check,
} from './lib.js';
import { cockatielPolicies, opossumPolicies } from './resilience/peers.js';
import { packageInfo, unsupportedBy } from './runtime/peers.js';

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? process.argv[onlyArg + 1]?.split(',') : undefined;
const SCALE = quick ? 0.2 : 1;

type System = 'bulwark' | 'cockatiel' | 'opossum' | 'bare';
interface Row {
  system: System;
  /** The package's version (bare: none). */
  version: string;
  /** The runtime that measured the row. */
  node: string;
  case: string;
  ns_per_call: number;
  /** JS heap bytes allocated per call, the awaiting loop included (see the bare case). */
  bytes_per_call: number;
  settings: string;
}
const versionOf = (system: System): string => (system === 'bare' ? '' : packageInfo(system).version);

interface Case {
  case: string;
  /** What the systems are configured with, so the comparison can be judged. */
  settings: string;
  /** Calls per sample: fewer for the slow ones. */
  n: number;
  /** A system left undefined was not loaded (its package does not support this runtime). */
  systems: Partial<Record<System, (() => unknown) | undefined>>;
  teardown?: () => void;
}

const noop = async (): Promise<void> => {};
const readsSignal = async (ctx: ExecuteContext | { signal: AbortSignal }): Promise<boolean> =>
  ctx.signal.aborted;
const failing = async (): Promise<never> => {
  throw new Error('down');
};
const swallow = (): void => {};

// A peer that does not support this Node is not loaded (`--node current` on an old Node): its cells
// stay empty and the checks that need it fail as not measured.
const load = async <T>(name: 'cockatiel' | 'opossum', make: () => Promise<T>): Promise<T | undefined> => {
  const unsupported = unsupportedBy(name);
  if (unsupported) console.warn(`NOTICE: skipping ${name}: ${unsupported} (run with --node 24)`);
  return unsupported ? undefined : make();
};
const ck = await load('cockatiel', () => cockatielPolicies(failing));
// opossum holds a rolling-window interval per breaker: shut them down at the end.
const op = await load('opossum', () => opossumPolicies(noop, failing));

// Open breaker for the rejection case: opened by real failures, breaking far longer than the run.
const bOpen = circuitBreaker({ consecutiveFailures: 5, breakDurationMs: 600_000 });
for (let i = 0; i < 5; i++) await bOpen.execute(failing).catch(swallow);
if (bOpen.state !== 'open') throw new Error('open_rejection setup failed');

const bRetry = retry({ maxAttempts: 3 });
const bBreaker = circuitBreaker({ consecutiveFailures: 5, breakDurationMs: 10_000 });
const bRB = wrap(
  retry({ maxAttempts: 3 }),
  circuitBreaker({ consecutiveFailures: 5, breakDurationMs: 10_000 }),
);
const bTimeout = timeout({ timeoutMs: 1000 });
const bAggressive = timeout({ timeoutMs: 1000, strategy: 'aggressive' });
const bDependency = createRegistry().define('api', {
  retry: { maxAttempts: 3 },
  breaker: { consecutiveFailures: 5, breakDurationMs: 10_000 },
  timeout: 1000,
});
const bBulkhead = bulkhead({ maxConcurrent: 10, maxQueue: 10 });

const N = (n: number): number => Math.max(1000, Math.round(n * SCALE));

const cases: Case[] = [
  {
    case: 'bare',
    settings: '`await fn()`',
    n: N(300_000),
    systems: { bare: () => noop() },
  },
  {
    case: 'retry',
    settings: 'max 3 attempts, exponential backoff, retry every error',
    n: N(200_000),
    systems: { bulwark: () => bRetry.execute(noop), cockatiel: ck && (() => ck.retry.execute(noop)) },
  },
  {
    case: 'breaker',
    settings:
      'bulwark/cockatiel: 5 consecutive failures, 10 s break; opossum: defaults (50% over 10 s rolling window), timeout off',
    n: N(200_000),
    systems: {
      bulwark: () => bBreaker.execute(noop),
      cockatiel: ck && (() => ck.breaker.execute(noop)),
      opossum: op?.breaker,
    },
  },
  {
    case: 'retry_breaker',
    settings: 'wrap(retry max 3 exponential, breaker 5 consecutive / 10 s) (opossum has no retry)',
    n: N(200_000),
    systems: { bulwark: () => bRB.execute(noop), cockatiel: ck && (() => ck.retryBreaker.execute(noop)) },
  },
  {
    case: 'retry_breaker_timeout',
    settings:
      'bulwark: a registry dependency (retry 3, breaker 5 consecutive / 10 s, timeout 1000 ms cooperative); cockatiel: wrap(retry, breaker, cooperative timeout)',
    n: N(100_000),
    systems: {
      bulwark: () => bDependency.execute(noop),
      cockatiel: ck && (() => ck.retryBreakerTimeout.execute(noop)),
    },
  },
  {
    case: 'timeout',
    settings:
      '1000 ms, cooperative (bulwark, cockatiel); opossum `timeout: 1000` (a timer per call); fn does not read the signal',
    n: N(100_000),
    systems: {
      bulwark: () => bTimeout.execute(noop),
      cockatiel: ck && (() => ck.timeout.execute(noop)),
      opossum: op?.timeout,
    },
  },
  {
    case: 'timeout_signal',
    settings: '1000 ms cooperative, fn reads `signal` (bulwark then makes its AbortController and timer)',
    n: N(50_000),
    systems: {
      bulwark: () => bTimeout.execute(readsSignal),
      cockatiel: ck && (() => ck.timeout.execute(readsSignal)),
    },
  },
  {
    case: 'timeout_aggressive',
    settings: '1000 ms, aggressive (rejects at the deadline)',
    n: N(50_000),
    systems: {
      bulwark: () => bAggressive.execute(noop),
      cockatiel: ck && (() => ck.aggressive.execute(noop)),
    },
  },
  {
    case: 'open_rejection',
    settings: 'breaker opened by 5 failures (opossum: `open()`), rejection caught',
    n: N(100_000),
    systems: {
      bulwark: () => bOpen.execute(noop).catch(swallow),
      cockatiel: ck && (() => ck.open.execute(noop).catch(swallow)),
      opossum: op && (() => op.open().catch(swallow)),
    },
  },
  {
    case: 'bulkhead',
    settings: '10 concurrent, queue 10 (sequential calls never wait)',
    n: N(200_000),
    systems: { bulwark: () => bBulkhead.execute(noop), cockatiel: ck && (() => ck.bulkhead.execute(noop)) },
  },
];

const rows: Row[] = [];
const SAMPLES = quick ? 5 : 9;
for (const c of cases) {
  if (only && !only.includes(c.case)) continue;
  const systems = (Object.entries(c.systems) as [System, (() => unknown) | undefined][]).filter(
    (e): e is [System, () => unknown] => e[1] !== undefined,
  );
  // Warm every system of the case, then measure them in turn.
  for (const [, fn] of systems) await nsPerCall(fn, Math.min(c.n, 20_000), 2);
  for (const [system, fn] of systems) {
    global.gc?.();
    const ns = await nsPerCall(fn, c.n, SAMPLES);
    const bytes = await bytesPerCall(fn, Math.min(c.n, 50_000));
    rows.push({
      system,
      version: versionOf(system),
      node: process.version,
      case: c.case,
      ns_per_call: Math.round(ns),
      bytes_per_call: Math.round(bytes),
      settings: c.settings,
    });
    console.log(
      `${c.case.padEnd(18)} ${system.padEnd(10)} ${Math.round(ns).toLocaleString('en-US')} ns/call, ${Math.round(bytes)} B/call`,
    );
  }
}
op?.shutdown();

const get = (system: System, name: string, key: 'ns_per_call' | 'bytes_per_call' = 'ns_per_call') =>
  rows.find((r) => r.system === system && r.case === name)?.[key];

// The goals of issue 12.
const vsCockatiel = (name: string, caseName: string, max: number): Check =>
  ratioCheck(
    name,
    { label: `bulwark ${caseName} ns`, value: get('bulwark', caseName) },
    { label: `cockatiel ${caseName} ns`, value: get('cockatiel', caseName) },
    { max },
    ck
      ? only
        ? `not measured: --only ${only.join(',')}`
        : 'not measured in this run'
      : `not measured: ${unsupportedBy('cockatiel')}`,
  );
const checks: Check[] = [
  vsCockatiel('retry+breaker ≤ 0.25× cockatiel 4', 'retry_breaker', 0.25),
  vsCockatiel('timeout ≤ 0.05× cockatiel 4 (cooperative)', 'timeout', 0.05),
];

const cell = (v: number | undefined): number | string => v ?? '';
const table = cases.map((c) => {
  const cockatiel = get('cockatiel', c.case);
  const bulwark = get('bulwark', c.case);
  const bytes = (system: System) => cell(get(system, c.case, 'bytes_per_call'));
  return {
    case: c.case,
    bare: cell(get('bare', c.case)),
    bulwark: cell(bulwark),
    cockatiel: cell(cockatiel),
    opossum: cell(get('opossum', c.case)),
    'bulwark / cockatiel':
      bulwark !== undefined && cockatiel !== undefined ? Number((bulwark / cockatiel).toFixed(3)) : '',
    'B/call bare': bytes('bare'),
    'B/call bulwark': bytes('bulwark'),
    'B/call cockatiel': bytes('cockatiel'),
    'B/call opossum': bytes('opossum'),
    settings: c.settings,
  };
});

const markdown = [
  `# resilience: ns per call (median of ${SAMPLES} samples) and bytes allocated per call, sequential awaits of a resolved async no-op`,
  '',
  `node ${process.version}, bulwark ${versionOf('bulwark')}, cockatiel ${versionOf('cockatiel')}, opossum ${versionOf('opossum')}${quick ? ', --quick' : ''}. Shared 2-core machine: ns figures are noisy; bytes are steady. B/call includes the awaiting loop itself (the bare row).`,
  '',
  markdownTable(table),
  '',
  '## Goals (issue 12)',
  '',
  ...checkLines(checks),
].join('\n');

writeResults('resilience', { rows, checks, quick }, markdown);
for (const line of checkLines(checks)) console.log(line);
