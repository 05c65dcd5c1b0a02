/**
 * `npm run bench -- resilience [--quick]`
 * Per-call cost of the resilience policies against cockatiel and opossum, in one run, on a resolved
 * async no-op awaited sequentially. Writes bench/results/resilience.json and .md and prints
 * PASS/FAIL for the targets (bulwark retry_breaker ≤ 0.5× cockatiel's; bulwark timeout ≤ 0.1×
 * cockatiel's cooperative timeout).
 */
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  bulkhead as cBulkhead,
  circuitBreaker as cBreaker,
  handleAll,
  retry as cRetry,
  timeout as cTimeout,
  wrap as cWrap,
} from 'cockatiel';
import OpossumBreaker from 'opossum';
import { bulkhead, circuitBreaker, createRegistry, retry, timeout, wrap } from '../src/resilience/index.js';
import type { ExecuteContext } from '../src/resilience/index.js';
import { markdownTable, nsPerCall, writeResults } from './lib.js';

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? process.argv[onlyArg + 1]?.split(',') : undefined;
const SCALE = quick ? 0.2 : 1;

interface Row {
  system: 'bulwark' | 'cockatiel' | 'opossum' | 'bare';
  case: string;
  ns_per_call: number;
}

interface Case {
  case: string;
  /** What the systems are configured with, so the comparison can be judged. */
  settings: string;
  /** Calls per sample: fewer for the slow ones. */
  n: number;
  systems: Partial<Record<Row['system'], () => unknown>>;
  teardown?: () => void;
}

const noop = async (): Promise<void> => {};
const readsSignal = async (ctx: ExecuteContext | { signal: AbortSignal }): Promise<boolean> =>
  ctx.signal.aborted;
const failing = async (): Promise<never> => {
  throw new Error('down');
};
const swallow = (): void => {};

// Opossum breakers (opossum holds a rolling-window interval per breaker: shut them down at the end).
const opossumBreaker = new OpossumBreaker(noop, { timeout: false, resetTimeout: 10_000 });
const opossumTimeout = new OpossumBreaker(noop, { timeout: 1000, resetTimeout: 10_000 });
const opossumOpen = new OpossumBreaker(failing, { timeout: false, resetTimeout: 600_000 });
opossumOpen.open();

// Open breakers for the rejection case: opened by real failures, break far longer than the run.
const bOpen = circuitBreaker({ consecutiveFailures: 5, breakDurationMs: 600_000 });
const cOpen = cBreaker(handleAll, { halfOpenAfter: 600_000, breaker: new ConsecutiveBreaker(5) });
for (let i = 0; i < 5; i++) {
  await bOpen.execute(failing).catch(swallow);
  await cOpen.execute(failing).catch(swallow);
}
if (bOpen.state !== 'open' || !opossumOpen.opened) throw new Error('open_rejection setup failed');

const bRetry = retry({ maxAttempts: 3 });
const cRetryP = cRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() });
const bBreaker = circuitBreaker({ consecutiveFailures: 5, breakDurationMs: 10_000 });
const cBreakerP = cBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
const bRB = wrap(
  retry({ maxAttempts: 3 }),
  circuitBreaker({ consecutiveFailures: 5, breakDurationMs: 10_000 }),
);
const cRB = cWrap(
  cRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
  cBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
);
const bTimeout = timeout({ timeoutMs: 1000 });
const cTimeoutP = cTimeout(1000, TimeoutStrategy.Cooperative);
const bAggressive = timeout({ timeoutMs: 1000, strategy: 'aggressive' });
const cAggressive = cTimeout(1000, TimeoutStrategy.Aggressive);
const bDependency = createRegistry().define('api', {
  retry: { maxAttempts: 3 },
  breaker: { consecutiveFailures: 5, breakDurationMs: 10_000 },
  timeout: 1000,
});
const cRBT = cWrap(
  cRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
  cBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
  cTimeout(1000, TimeoutStrategy.Cooperative),
);
const bBulkhead = bulkhead({ maxConcurrent: 10, maxQueue: 10 });
const cBulkheadP = cBulkhead(10, 10);

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
    systems: { bulwark: () => bRetry.execute(noop), cockatiel: () => cRetryP.execute(noop) },
  },
  {
    case: 'breaker',
    settings:
      'bulwark/cockatiel: 5 consecutive failures, 10 s break; opossum: defaults (50% over 10 s rolling window), timeout off',
    n: N(200_000),
    systems: {
      bulwark: () => bBreaker.execute(noop),
      cockatiel: () => cBreakerP.execute(noop),
      opossum: () => opossumBreaker.fire(),
    },
  },
  {
    case: 'retry_breaker',
    settings: 'wrap(retry max 3 exponential, breaker 5 consecutive / 10 s) (opossum has no retry)',
    n: N(200_000),
    systems: { bulwark: () => bRB.execute(noop), cockatiel: () => cRB.execute(noop) },
  },
  {
    case: 'retry_breaker_timeout',
    settings:
      'bulwark: a registry dependency (retry 3, breaker 5 consecutive / 10 s, timeout 1000 ms cooperative); cockatiel: wrap(retry, breaker, cooperative timeout)',
    n: N(100_000),
    systems: { bulwark: () => bDependency.execute(noop), cockatiel: () => cRBT.execute(noop) },
  },
  {
    case: 'timeout',
    settings:
      '1000 ms, cooperative (bulwark, cockatiel); opossum `timeout: 1000` (a timer per call); fn does not read the signal',
    n: N(100_000),
    systems: {
      bulwark: () => bTimeout.execute(noop),
      cockatiel: () => cTimeoutP.execute(noop),
      opossum: () => opossumTimeout.fire(),
    },
  },
  {
    case: 'timeout_signal',
    settings: '1000 ms cooperative, fn reads `signal` (bulwark then makes its AbortController and timer)',
    n: N(50_000),
    systems: {
      bulwark: () => bTimeout.execute(readsSignal),
      cockatiel: () => cTimeoutP.execute(readsSignal),
    },
  },
  {
    case: 'timeout_aggressive',
    settings: '1000 ms, aggressive (rejects at the deadline)',
    n: N(50_000),
    systems: {
      bulwark: () => bAggressive.execute(noop),
      cockatiel: () => cAggressive.execute(noop),
    },
  },
  {
    case: 'open_rejection',
    settings: 'breaker opened by 5 failures (opossum: `open()`), rejection caught',
    n: N(100_000),
    systems: {
      bulwark: () => bOpen.execute(noop).catch(swallow),
      cockatiel: () => cOpen.execute(noop).catch(swallow),
      opossum: () => opossumOpen.fire().catch(swallow),
    },
  },
  {
    case: 'bulkhead',
    settings: '10 concurrent, queue 10 (sequential calls never wait)',
    n: N(200_000),
    systems: { bulwark: () => bBulkhead.execute(noop), cockatiel: () => cBulkheadP.execute(noop) },
  },
];

const rows: Row[] = [];
const SAMPLES = quick ? 5 : 9;
for (const c of cases) {
  if (only && !only.includes(c.case)) continue;
  const systems = Object.entries(c.systems) as [Row['system'], () => unknown][];
  // Warm every system of the case, then measure them in turn.
  for (const [, fn] of systems) await nsPerCall(fn, Math.min(c.n, 20_000), 2);
  for (const [system, fn] of systems) {
    global.gc?.();
    const ns = await nsPerCall(fn, c.n, SAMPLES);
    rows.push({ system, case: c.case, ns_per_call: Math.round(ns) });
    console.log(
      `${c.case.padEnd(18)} ${system.padEnd(10)} ${Math.round(ns).toLocaleString('en-US')} ns/call`,
    );
  }
}
opossumBreaker.shutdown();
opossumTimeout.shutdown();
opossumOpen.shutdown();

const get = (system: Row['system'], name: string): number | undefined =>
  rows.find((r) => r.system === system && r.case === name)?.ns_per_call;

const checks: { name: string; ok: boolean; detail: string }[] = [];
const target = (name: string, caseName: string, max: number): void => {
  const b = get('bulwark', caseName);
  const c = get('cockatiel', caseName);
  if (b === undefined || c === undefined) return;
  const ratio = b / c;
  checks.push({
    name,
    ok: ratio <= max,
    detail: `bulwark ${b} ns vs cockatiel ${c} ns = ${ratio.toFixed(3)}× (target ≤ ${max}×)`,
  });
};
target('retry_breaker ≤ 0.5× cockatiel', 'retry_breaker', 0.5);
target('timeout ≤ 0.1× cockatiel cooperative', 'timeout', 0.1);

const table = cases.map((c) => {
  const cockatiel = get('cockatiel', c.case);
  const bulwark = get('bulwark', c.case);
  return {
    case: c.case,
    bare: get('bare', c.case) ?? '',
    bulwark: bulwark ?? '',
    cockatiel: cockatiel ?? '',
    opossum: get('opossum', c.case) ?? '',
    'bulwark / cockatiel':
      bulwark !== undefined && cockatiel !== undefined ? Number((bulwark / cockatiel).toFixed(3)) : '',
    settings: c.settings,
  };
});

const markdown = [
  `# resilience: ns per call (median of ${SAMPLES} samples, sequential awaits of a resolved async no-op)`,
  '',
  `node ${process.version}, cockatiel 3.2, opossum 9${quick ? ', --quick' : ''}`,
  '',
  markdownTable(table),
  '',
  ...checks.map((c) => `- ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`),
].join('\n');

writeResults('resilience', { rows, checks, quick }, markdown);
for (const c of checks) console.log(`${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
