/**
 * `npm run bench -- load [--quick]`
 * Adaptive concurrency against a simulated dependency (bench/load/dependency.ts: an HTTP server on
 * 127.0.0.1 that serves 20 requests at once for 5 ms each and queues the rest):
 *
 * 1. unloaded latency (one caller);
 * 2. a sweep of fixed concurrencies, to find the best fixed one (fixed 200 is the overload contrast);
 * 3. the adaptive limiter driven by 200 callers: throughput vs the best fixed, p99 vs unloaded;
 * 4. the dependency's capacity drops from 20 to 5 mid-run: how long the limit takes to settle.
 *
 * 5. the same head to head with real Workers on a SQLite queue (bench/load/worker-driver.ts): a
 *    worker with the best fixed concurrency vs `concurrency: { adaptive }`;
 * 6. what tracing costs: SQLite process throughput at concurrency 50 with tracing off and on
 *    (bench/load/tracing.ts).
 *
 * Writes bench/results/load.json and .md.
 */
import { availableParallelism, loadavg } from 'node:os';
import { betaOf } from '../src/resilience/adaptive-vegas.js';
import { markdownTable, writeResults } from './lib.js';
import { httpCaller } from './load/client.js';
import { startDependency } from './load/dependency.js';
import { tracingCost } from './load/tracing.js';
import { workerDriver } from './load/worker-driver.js';
import { adaptiveLoop, fixed, type LimitSample, type LoadDriver, type RunResult } from './load/drivers.js';

const quick = process.argv.includes('--quick');
const CAPACITY = 20;
const DROPPED_CAPACITY = 5;
const SERVICE_MS = 5;
const CALLERS = 200;
const SWEEP = [5, 10, 15, 20, 25, 30, 40, 60, 100, 200];
const T = quick
  ? {
      warmupMs: 300,
      measureMs: 1000,
      adaptiveWarmupMs: 1000,
      adaptiveMeasureMs: 2000,
      dropAtMs: 2000,
      afterDropMs: 6000,
    }
  : {
      warmupMs: 500,
      measureMs: 2500,
      adaptiveWarmupMs: 2000,
      adaptiveMeasureMs: 5000,
      dropAtMs: 3000,
      afterDropMs: 8000,
    };
const ADAPTIVE = { min: 1, max: CALLERS };
/** Rounds of the head-to-head (unloaded, best fixed, adaptive). */
const ROUNDS = quick ? 2 : 3;
/** Tracing off/on: rounds (each runs both, in alternating order) and jobs per run. */
const TRACE_ROUNDS = quick ? 2 : 5;
const TRACE_JOBS = quick ? 5_000 : 20_000;
/** The settled band starts this fraction below the new capacity. */
const SETTLE_BELOW = 0.25;
/** Where the limit ends up: its median over this last part of the run, in ms. */
const FINAL_SPAN_MS = 2000;

interface Row {
  run: string;
  callers: number;
  calls_per_s: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  errors: number;
  settings: string;
}

const rows: Row[] = [];
const row = (run: string, callers: number, d: LoadDriver, r: RunResult): Row => {
  const out: Row = {
    run,
    callers,
    calls_per_s: Math.round(r.perSecond),
    p50_ms: r.p50Ms,
    p99_ms: r.p99Ms,
    mean_ms: r.meanMs,
    errors: r.errors,
    settings: d.settings,
  };
  rows.push(out);
  console.error(
    `${run}: ${out.calls_per_s} calls/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`,
  );
  return out;
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The limit at each moment from `from` to `to` (ms), sampled every `stepMs`, from its changes. */
function limitAt(limits: LimitSample[], atMs: number): number {
  let l = limits[0]!.limit;
  for (const s of limits) {
    if (s.atMs > atMs) break;
    l = s.limit;
  }
  return l;
}

/**
 * How long after `dropAtMs` the limit took to enter, for good, the band where the dependency's new
 * capacity puts it: from a quarter below the capacity (a decrease may overshoot a little) up to the
 * capacity plus twice the queue the limiter allows itself (its oscillation around its target). A
 * probe's deliberate halvings (until its restore) are not departures from the band.
 */
function settleTime(limits: LimitSample[], dropAtMs: number, endMs: number, capacity: number) {
  const samples: number[] = [];
  for (let t = endMs - FINAL_SPAN_MS; t < endMs; t += 10) samples.push(limitAt(limits, t));
  const final = median(samples);
  const lo = capacity * (1 - SETTLE_BELOW);
  const hi = capacity + 2 * betaOf(capacity);
  const inBand = (l: number): boolean => l >= lo && l <= hi;
  const before = limitAt(limits, dropAtMs);
  let settledAt = inBand(before) ? dropAtMs : Infinity;
  for (const s of limits) {
    if (s.atMs <= dropAtMs || s.reason === 'probe') continue;
    if (!inBand(s.limit)) settledAt = Infinity;
    else if (settledAt === Infinity) settledAt = s.atMs;
  }
  return { settleMs: settledAt - dropAtMs, finalLimit: final, band: [lo, hi] as const, limitBefore: before };
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const dep = await startDependency({ capacity: CAPACITY, serviceMs: SERVICE_MS });
  const client = httpCaller(dep.url);
  const plan = { call: client.call, warmupMs: T.warmupMs, measureMs: T.measureMs };
  try {
    const one = fixed(1);
    row('unloaded (fixed 1)', 1, one, await one.run(plan));

    const sweep: Row[] = [];
    for (const c of SWEEP) {
      const d = fixed(c);
      sweep.push(row(d.name, c, d, await d.run(plan)));
    }
    const sweepBest = sweep.reduce((a, b) => (b.calls_per_s > a.calls_per_s ? b : a));
    const overload = sweep.find((r) => r.callers === 200)!;

    // Head to head: unloaded, the best fixed concurrency and the adaptive limiter, interleaved
    // ROUNDS times so that the machine's noise falls on all three alike; the checks use medians.
    // (The sweep's best alone is the luckiest of ten noisy runs: a biased yardstick.)
    const bestFixed = fixed(sweepBest.callers);
    const adaptivePlan = { ...plan, warmupMs: T.adaptiveWarmupMs, measureMs: T.adaptiveMeasureMs };
    const heads: { unloaded: Row; fixed: Row; adaptive: Row; steadyLimit: number }[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const u = row(`round ${r}: unloaded (fixed 1)`, 1, one, await one.run(plan));
      const f = row(
        `round ${r}: best fixed (${sweepBest.callers})`,
        sweepBest.callers,
        bestFixed,
        await bestFixed.run(plan),
      );
      const a = adaptiveLoop(CALLERS, ADAPTIVE);
      const ar = await a.run(adaptivePlan);
      const ad = row(`round ${r}: adaptive`, CALLERS, a, ar);
      const steadyLimit = median(
        Array.from({ length: 100 }, (_, i) =>
          limitAt(ar.limits!, T.adaptiveWarmupMs + (i / 100) * T.adaptiveMeasureMs),
        ),
      );
      heads.push({ unloaded: u, fixed: f, adaptive: ad, steadyLimit });
    }
    const med = (pick: (h: (typeof heads)[number]) => number): number => median(heads.map(pick));
    const unloaded = { p50_ms: med((h) => h.unloaded.p50_ms), p99_ms: med((h) => h.unloaded.p99_ms) };
    const best = { callers: sweepBest.callers, calls_per_s: med((h) => h.fixed.calls_per_s) };
    const adaptiveRow = {
      calls_per_s: med((h) => h.adaptive.calls_per_s),
      p99_ms: med((h) => h.adaptive.p99_ms),
    };
    const steadyLimit = med((h) => h.steadyLimit);

    // Capacity drop: a fresh dependency, the adaptive driver, capacity 20 → 5 at dropAtMs.
    const dropDep = await startDependency({ capacity: CAPACITY, serviceMs: SERVICE_MS });
    const dropClient = httpCaller(dropDep.url);
    const dropRun = adaptiveLoop(CALLERS, ADAPTIVE);
    const totalMs = T.dropAtMs + T.afterDropMs;
    const dr = await dropRun.run({
      call: dropClient.call,
      warmupMs: T.dropAtMs,
      measureMs: T.afterDropMs,
      schedule: [{ atMs: T.dropAtMs, run: () => dropDep.setCapacity(DROPPED_CAPACITY) }],
    });
    dropClient.close();
    await dropDep.close();
    row(`adaptive, capacity ${CAPACITY} → ${DROPPED_CAPACITY} (after the drop)`, CALLERS, dropRun, dr);
    const settle = settleTime(dr.limits!, T.dropAtMs, totalMs, DROPPED_CAPACITY);

    // Real Workers on a SQLite queue, the handler making the call: best fixed vs adaptive, interleaved.
    const workerFixed = workerDriver(sweepBest.callers);
    const workerAdaptive = workerDriver(ADAPTIVE);
    const workerHeads: { fixed: Row; adaptive: Row }[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const f = row(
        `round ${r}: worker, fixed ${sweepBest.callers}`,
        sweepBest.callers,
        workerFixed,
        await workerFixed.run(plan),
      );
      const a = row(
        `round ${r}: worker, adaptive`,
        CALLERS,
        workerAdaptive,
        await workerAdaptive.run(adaptivePlan),
      );
      workerHeads.push({ fixed: f, adaptive: a });
    }
    const wmed = (pick: (h: (typeof workerHeads)[number]) => number): number => median(workerHeads.map(pick));
    const worker = {
      fixed_calls_per_s: wmed((h) => h.fixed.calls_per_s),
      adaptive_calls_per_s: wmed((h) => h.adaptive.calls_per_s),
      adaptive_p99_ms: wmed((h) => h.adaptive.p99_ms),
    };
    const workerRatio = worker.adaptive_calls_per_s / worker.fixed_calls_per_s;

    const traced = await tracingCost(TRACE_ROUNDS, TRACE_JOBS);
    const tracing = {
      off_jobs_per_s: Math.round(median(traced.off)),
      on_jobs_per_s: Math.round(median(traced.on)),
      off: traced.off.map(Math.round),
      on: traced.on.map(Math.round),
      spans: traced.spans,
    };
    const tracingRatio = tracing.on_jobs_per_s / tracing.off_jobs_per_s;
    console.error(
      `tracing: off ${tracing.off_jobs_per_s} jobs/s, on ${tracing.on_jobs_per_s} jobs/s (${tracingRatio.toFixed(3)}×)`,
    );

    const throughputRatio = adaptiveRow.calls_per_s / best.calls_per_s;
    const p99Ratio = adaptiveRow.p99_ms / unloaded.p99_ms;
    const checks = [
      {
        name: 'adaptive throughput ≥ 0.85× the best fixed concurrency',
        ok: throughputRatio >= 0.85,
        detail: `adaptive ${adaptiveRow.calls_per_s} calls/s vs best fixed (${best.callers}) ${best.calls_per_s} calls/s = ${throughputRatio.toFixed(3)}× (medians of ${ROUNDS} interleaved rounds; vs the sweep's best run, ${sweepBest.calls_per_s} calls/s: ${(adaptiveRow.calls_per_s / sweepBest.calls_per_s).toFixed(3)}×)`,
      },
      {
        name: "adaptive p99 latency ≤ 2× the dependency's unloaded latency",
        ok: p99Ratio <= 2,
        detail: `adaptive p99 ${adaptiveRow.p99_ms.toFixed(2)} ms vs unloaded p99 ${unloaded.p99_ms.toFixed(2)} ms = ${p99Ratio.toFixed(3)}× (vs unloaded p50 ${unloaded.p50_ms.toFixed(2)} ms: ${(adaptiveRow.p99_ms / unloaded.p50_ms).toFixed(3)}×; medians of ${ROUNDS} rounds)`,
      },
      {
        name: 'fixed concurrency 200 (overload) p99 latency, recorded',
        ok: Number.isFinite(overload.p99_ms),
        detail: `fixed 200 p99 ${overload.p99_ms.toFixed(2)} ms = ${(overload.p99_ms / unloaded.p99_ms).toFixed(1)}× unloaded p99, at ${overload.calls_per_s} calls/s`,
      },
      {
        name: `after the capacity drops ${CAPACITY} → ${DROPPED_CAPACITY}, the limit settles within 5 s`,
        ok: settle.settleMs <= 5000,
        detail: `settled in ${Number.isFinite(settle.settleMs) ? `${Math.round(settle.settleMs)} ms` : 'never'}: limit ${settle.limitBefore} before the drop → ${settle.finalLimit} (median of the last ${FINAL_SPAN_MS} ms; band ${settle.band[0].toFixed(1)}–${settle.band[1].toFixed(1)})`,
      },
    ];
    checks.push(
      {
        name: 'adaptive worker throughput ≥ 0.85× a worker at the best fixed concurrency',
        ok: workerRatio >= 0.85,
        detail: `Worker { adaptive } ${worker.adaptive_calls_per_s} jobs/s vs Worker concurrency ${sweepBest.callers} ${worker.fixed_calls_per_s} jobs/s = ${workerRatio.toFixed(3)}× (SQLite :memory: queue; medians of ${ROUNDS} interleaved rounds)`,
      },
      {
        name: "adaptive worker p99 call latency ≤ 2× the dependency's unloaded latency",
        ok: worker.adaptive_p99_ms / unloaded.p99_ms <= 2,
        detail: `p99 ${worker.adaptive_p99_ms.toFixed(2)} ms vs unloaded p99 ${unloaded.p99_ms.toFixed(2)} ms = ${(worker.adaptive_p99_ms / unloaded.p99_ms).toFixed(3)}×`,
      },
      {
        name: 'tracing on vs off, SQLite c=50: throughput ≥ 0.95×',
        ok: tracingRatio >= 0.95,
        detail: `on ${tracing.on_jobs_per_s} jobs/s vs off ${tracing.off_jobs_per_s} jobs/s = ${tracingRatio.toFixed(3)}× (medians of ${TRACE_ROUNDS} alternating rounds of ${TRACE_JOBS} no-op jobs; OpenTelemetry SDK, AlwaysOnSampler, BatchSpanProcessor, ${tracing.spans} spans exported)`,
      },
    );

    // Other work on the machine shows as caller stalls: say how busy it was.
    const machineLoad = { before: loadBefore, after: loadavg()[0]!, cores: availableParallelism() };
    const settings = {
      node: process.version,
      machineLoad,
      dependency: {
        capacity: CAPACITY,
        serviceMs: SERVICE_MS,
        droppedCapacity: DROPPED_CAPACITY,
        host: '127.0.0.1',
      },
      adaptive: ADAPTIVE,
      callers: CALLERS,
      rounds: ROUNDS,
      timing: T,
      quick,
    };
    const md = [
      `# load: adaptive concurrency against a simulated dependency${quick ? ' (quick)' : ''}`,
      '',
      `${process.version}, load average ${machineLoad.before.toFixed(1)} → ${machineLoad.after.toFixed(1)} on ${machineLoad.cores} cores; the dependency (its own process, 127.0.0.1) serves ${CAPACITY} requests at once for ${SERVICE_MS} ms each and queues the rest; keep-alive HTTP; latency is the call alone (time waiting for a permit is not the dependency's).`,
      '',
      markdownTable(rows as unknown as Record<string, unknown>[]),
      '',
      `Adaptive limit in steady state: ${steadyLimit} (median). Capacity drop: limit ${settle.limitBefore} → ${settle.finalLimit}.`,
      '',
      ...checks.map((c) => `- ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`),
    ].join('\n');
    writeResults(
      'load',
      {
        settings,
        rows,
        bestFixed: {
          callers: best.callers,
          calls_per_s: best.calls_per_s,
          sweep_calls_per_s: sweepBest.calls_per_s,
        },
        unloaded,
        adaptive: { ...adaptiveRow, steadyLimit },
        capacityDrop: { ...settle, limits: dr.limits },
        worker,
        tracing,
        checks,
      },
      md,
    );
  } finally {
    client.close();
    await dep.close();
  }
}

await main();
