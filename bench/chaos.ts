/**
 * `npm run chaos [-- --ci] [--only scenario,…] [--stores sqlite,postgres,redis]` (also
 * `npm run bench -- chaos`): the chaos suite of issue 11. Real worker processes (forked), and servers
 * of its own: a PostgreSQL cluster made with initdb on a free port, redis-server with AOF
 * (`appendfsync always`, and `everysec` for the restart), SQLite on a temp file (and a small tmpfs).
 *
 * Every scenario runs on every store it applies to, while jobs flow:
 * - crash_recovery: SIGKILL a worker mid-job (a supervisor starts another);
 * - repeated_kills: SIGKILL a random worker every 1-3 s, a producer adding all along;
 * - server_restart: Postgres `pg_ctl stop -m immediate` then start, Redis SIGKILL then restart on
 *   its AOF, mid-run, a producer adding all along;
 * - backend_kill: pg_terminate_backend on every worker connection, several times;
 * - pool_exhaustion: two pool connections for 16 handlers writing progress, then every server slot
 *   taken while one worker's connections are cut;
 * - partition: a TCP proxy between one worker and the server blackholes for 1.5 leases, then heals;
 * - gc_pause: a worker's event loop busy for 1.5 leases while another is SIGSTOPped as long;
 * - retry_storm: 80% of the jobs fail transiently twice, 10% time out with a handler ignoring it;
 * - priority_starvation: a flood of low-priority jobs, a high-priority job every 100 ms;
 * - disk_full (SQLite): the disk under the file fills up, then space comes back.
 *
 * Each run records jobs accepted (adds acknowledged), completed, dead, lost, acknowledged-then-lost,
 * handler runs > 1, successful runs > 1 (and those outside a fault window), stale completions accepted,
 * recovery after a worker fault (p95), first completion after the server is back, and the most
 * handlers running at once in one process against its concurrency; from the handlers' attempts logs
 * and the store's final state. `--ci` is the small size for CI (a few seconds per scenario).
 * Exits 1 when a check fails.
 */
import { markdownTable, writeResults, type Check } from './lib.js';
import { SCENARIOS, type Outcome, type Target } from './chaos/scenarios.js';
import { ChaosPostgres, PrivateRedis, hasRedisServer, postgresBin } from './chaos/servers.js';
import type { Timing } from './chaos/harness.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const ci = args.includes('--ci');
const only = opt('only')?.split(',');
const stores = opt('stores')?.split(',') ?? ['sqlite', 'postgres', 'redis'];
for (const s of only ?? []) {
  if (!SCENARIOS.some((x) => x.name === s)) {
    console.error(`unknown scenario ${s} (scenarios: ${SCENARIOS.map((x) => x.name).join(', ')})`);
    process.exit(2);
  }
}

/** The same leases in both sizes: the recovery bound is lease + reap interval + 1 s = 3.5 s. */
const timing: Timing = { leaseMs: 2000, heartbeatMs: 500, reapIntervalMs: 500, pollIntervalMs: 250 };
const RECOVERY_BOUND_MS = timing.leaseMs + timing.reapIntervalMs + 1000;
const BACK_BOUND_MS = 2000;

const selected = SCENARIOS.filter((s) => !only || only.includes(s.name));
/** Whether a selected scenario runs on a store like this one (its server is started only then). */
const wanted = (label: string, kind: Target['kind']): boolean => {
  const stub: Target = {
    label,
    kind,
    fresh: () => ({ kind: 'sqlite', path: '' }),
    ...(kind === 'sqlite' ? {} : { crash: async () => undefined, start: async () => 0 }),
  };
  return selected.some((s) => s.applies(stub));
};
/** Stores asked for that this machine cannot run (a failed check: the goals were not measured there). */
const missing: string[] = [];

const cleanups: (() => Promise<void>)[] = [];
const targets: Target[] = [];
const sqliteDir = mkdtempSync(join(tmpdir(), 'bulwark-chaos-sqlite-'));
cleanups.push(async () => rmSync(sqliteDir, { recursive: true, force: true }));
let n = 0;
if (stores.includes('sqlite')) {
  targets.push({
    label: 'sqlite',
    kind: 'sqlite',
    fresh: (tag) => ({ kind: 'sqlite', path: join(sqliteDir, `${tag}-${n++}.db`) }),
  });
}
if (stores.includes('postgres') && wanted('postgres', 'postgres')) {
  if (!postgresBin()) {
    console.warn('[chaos] no PostgreSQL server binaries (initdb): postgres skipped');
    missing.push('postgres (no initdb; set BULWARK_PG_BIN)');
  } else {
    const server = new ChaosPostgres(60);
    cleanups.push(() => server.destroy());
    console.log('[chaos] starting a private PostgreSQL (initdb)…');
    await server.init();
    targets.push({
      label: 'postgres',
      kind: 'postgres',
      postgres: server,
      fresh: (tag) => ({ kind: 'postgres', url: server.url, schema: `chaos_${tag}_${n++}` }),
      crash: () => server.stopImmediate(),
      start: () => server.startTimed(),
    });
  }
}
if (stores.includes('redis')) {
  // Redis with appendfsync everysec is not held to the goals: it runs in the full size only.
  const variants = (ci ? (['always'] as const) : (['always', 'everysec'] as const)).filter((f) =>
    wanted(`redis (${f})`, 'redis'),
  );
  if (variants.length > 0 && !hasRedisServer()) {
    console.warn('[chaos] no redis-server on PATH: redis skipped');
    missing.push('redis (no redis-server on PATH)');
  } else {
    for (const fsync of variants) {
      const server = new PrivateRedis(fsync);
      cleanups.push(() => server.destroy());
      await server.init();
      targets.push({
        label: `redis (${fsync})`,
        kind: 'redis',
        fresh: (tag) => ({ kind: 'redis', url: server.url, prefix: `chaos-${tag}-${n++}` }),
        crash: () => server.kill(),
        start: () => server.start(),
      });
    }
  }
}

let interrupted = false;
const cleanup = async (): Promise<void> => {
  for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('[chaos] cleanup', e));
};
process.once('SIGINT', () => {
  interrupted = true;
  void cleanup().finally(() => process.exit(130));
});

const outcomes: Outcome[] = [];
const failures: { scenario: string; store: string; error: string }[] = [];
const t0 = Date.now();
try {
  for (const scenario of SCENARIOS) {
    if (only && !only.includes(scenario.name)) continue;
    for (const target of targets) {
      if (!scenario.applies(target) || interrupted) continue;
      const started = Date.now();
      process.stdout.write(`[chaos] ${scenario.name} on ${target.label}… `);
      try {
        const o = await scenario.run(target, { ci }, timing);
        outcomes.push(o);
        console.log(
          `${((Date.now() - started) / 1000).toFixed(1)} s: ${o.accepted} accepted, ${o.completed} completed, ${o.dead} dead, ${o.lost} lost, ${o.staleAccepted} stale accepted, ${o.successOver1Outside} double successes outside faults`,
        );
        for (const [message, count] of Object.entries(o.unplannedSamples))
          console.log(`    unplanned handler error ×${count}: ${message}`);
      } catch (e) {
        const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
        failures.push({ scenario: scenario.name, store: target.label, error });
        console.log(`FAILED: ${error}`);
      }
    }
  }
} finally {
  await cleanup();
}

// --- checks: one per goal of issue 11, plus the two scenarios with goals of their own ------------
const ms = (v: number | null): string => (v === null ? '–' : Number.isFinite(v) ? `${Math.round(v)}` : '∞');
const where = (o: Outcome): string => `${o.scenario}/${o.store}`;
const checks: Check[] = [];
const strict = outcomes.filter((o) => o.store !== 'redis (everysec)');
const lossy = strict.filter((o) => o.lost > 0 || o.ackLost > 0);
const everysec = outcomes.filter((o) => o.store === 'redis (everysec)');
checks.push({
  name: 'jobs lost and acknowledged adds lost: 0 (Redis appendfsync always, Postgres, SQLite)',
  ok: strict.length > 0 && lossy.length === 0,
  detail:
    (lossy.length === 0
      ? `0 lost in ${strict.length} runs (${strict.reduce((s, o) => s + o.accepted, 0)} jobs accepted)`
      : lossy.map((o) => `${where(o)}: ${o.lost} lost, ${o.ackLost} acknowledged adds lost`).join('; ')) +
    (everysec.length
      ? `; Redis everysec (not held to 0): ${everysec.map((o) => `${o.scenario} ${o.lost} lost, ${o.ackLost} ack lost`).join(', ')}`
      : ''),
});
const stale = outcomes.filter((o) => o.staleAccepted > 0);
checks.push({
  name: 'stale completions accepted: 0',
  ok: outcomes.length > 0 && stale.length === 0,
  detail:
    stale.length === 0
      ? `0 in ${outcomes.length} runs; ${outcomes.reduce((s, o) => s + o.staleRefused, 0)} stale outcomes refused`
      : stale.map((o) => `${where(o)}: ${o.staleAccepted}`).join('; '),
});
const doubles = outcomes.filter((o) => o.successOver1Outside > 0);
checks.push({
  name: 'successful handler runs > 1 outside a crash or partition window: 0',
  ok: outcomes.length > 0 && doubles.length === 0,
  detail:
    (doubles.length === 0
      ? `0 in ${outcomes.length} runs`
      : doubles.map((o) => `${where(o)}: ${o.successOver1Outside}`).join('; ')) +
    `; inside fault windows: ${outcomes.reduce((s, o) => s + o.successOver1, 0)} jobs`,
});
const killRuns = outcomes.filter((o) => o.scenario === 'crash_recovery' || o.scenario === 'repeated_kills');
const slow = killRuns.filter((o) => o.recoveryP95Ms === null || o.recoveryP95Ms > RECOVERY_BOUND_MS);
checks.push({
  name: `recovery after a worker kill, until the job runs again: p95 ≤ lease + reap interval + 1 s (${RECOVERY_BOUND_MS} ms)`,
  ok: killRuns.length > 0 && slow.length === 0,
  detail: killRuns.length
    ? killRuns
        .map(
          (o) => `${where(o)} p95 ${ms(o.recoveryP95Ms)} ms (max ${ms(o.recoveryMaxMs)}, n ${o.recoveries})`,
        )
        .join('; ')
    : 'not measured in this run',
});
const restartRuns = outcomes.filter((o) => o.scenario === 'server_restart');
const late = restartRuns.filter((o) => o.firstCompletionMs === null || o.firstCompletionMs > BACK_BOUND_MS);
checks.push({
  name: `first completion after a server is back ≤ ${BACK_BOUND_MS / 1000} s`,
  ok: restartRuns.length > 0 && late.length === 0,
  detail: restartRuns.length
    ? restartRuns.map((o) => `${o.store} ${ms(o.firstCompletionMs)} ms (worst restart)`).join('; ')
    : 'not measured in this run',
});
const over = outcomes.filter((o) => o.concurrencyOver > 0);
checks.push({
  name: 'concurrency observed never above configured, with handlers that ignore abort',
  ok: outcomes.length > 0 && over.length === 0,
  detail:
    over.length === 0
      ? `highest ${Math.max(0, ...outcomes.map((o) => o.maxConcurrency))} in a process of concurrency ≤ ${Math.max(0, ...outcomes.map((o) => o.configuredConcurrency))}, ${outcomes.reduce((s, o) => s + o.lateReturns, 0)} handlers returned after their abort`
      : over
          .map((o) => `${where(o)}: ${o.maxConcurrency} running, configured ${o.configuredConcurrency}`)
          .join('; '),
});
for (const o of outcomes.filter((x) => x.scenario === 'priority_starvation')) {
  const e = o.extra as { highWaitP95Ms: number; highWaitMaxMs: number; boundMs: number; high: number };
  checks.push({
    name: `priority_starvation on ${o.store}: high-priority wait p95 ≤ ${e.boundMs} ms under a flood`,
    ok: e.high >= 10 && e.highWaitP95Ms <= e.boundMs,
    detail: `${e.high} high-priority jobs added while the flood waited: p95 ${e.highWaitP95Ms} ms, max ${e.highWaitMaxMs} ms`,
  });
}
for (const o of outcomes.filter((x) => x.scenario === 'disk_full')) {
  const e = o.extra as {
    error: string | null;
    errorCategory: string | null;
    integrity: string;
    integrityAfter: string;
    presentWhileFull: number;
    acceptedWhileFull: number;
  };
  checks.push({
    name: 'disk_full on sqlite: a clear error, nothing corrupted, accepted jobs kept and run',
    ok:
      e.error !== null &&
      e.errorCategory === 'resource' &&
      e.integrity === 'ok' &&
      e.integrityAfter === 'ok' &&
      e.presentWhileFull === e.acceptedWhileFull &&
      o.lost === 0,
    detail: `error "${e.error}" (category ${e.errorCategory}); integrity ${e.integrity} while full, ${e.integrityAfter} after; ${e.presentWhileFull} of ${e.acceptedWhileFull} accepted jobs present while full; ${o.completed} of ${o.accepted} completed after space came back`,
  });
}
if (missing.length > 0) {
  checks.push({ name: 'every store asked for ran', ok: false, detail: `not run: ${missing.join('; ')}` });
}
if (failures.length > 0) {
  checks.push({
    name: 'every scenario ran to the end',
    ok: false,
    detail: failures.map((f) => `${f.scenario}/${f.store}: ${f.error.split('\n')[0]}`).join('; '),
  });
}

const rows = outcomes.map((o) => ({
  scenario: o.scenario,
  store: o.store,
  accepted: o.accepted,
  completed: o.completed,
  dead: o.dead,
  lost: o.lost,
  'ack lost': o.ackLost,
  'runs > 1': o.runsOver1,
  'ok runs > 1 (outside faults)': `${o.successOver1} (${o.successOver1Outside})`,
  'stale accepted / refused': `${o.staleAccepted} / ${o.staleRefused}`,
  'kill recovery p95 ms': ms(o.recoveryP95Ms),
  'other recovery p95 ms': ms(o.otherRecoveryP95Ms),
  'first completion after back ms': ms(o.firstCompletionMs),
  'max running / concurrency': `${o.maxConcurrency} / ${o.configuredConcurrency}`,
  'unplanned handler errors': o.unplannedErrors,
  s: Math.round(o.durationS),
}));
const md = [
  `# chaos suite (issue 11)${ci ? ' — CI size' : ''}`,
  '',
  `Node ${process.version}; lease ${timing.leaseMs} ms, heartbeat ${timing.heartbeatMs} ms, reap every ${timing.reapIntervalMs} ms, poll ${timing.pollIntervalMs} ms; handlers ignore their abort signal. ${((Date.now() - t0) / 1000).toFixed(0)} s in all.`,
  '',
  markdownTable(rows),
  '',
  ...checks.map((c) => `- ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`),
].join('\n');
// The CI size has its own files, so that a CI run never rewrites the full run's figures.
writeResults(
  ci ? 'chaos-ci' : 'chaos',
  {
    when: new Date().toISOString(),
    size: ci ? 'ci' : 'full',
    timing,
    seconds: Math.round((Date.now() - t0) / 1000),
    outcomes,
    failures,
    checks,
  },
  md,
);
process.exit(checks.every((c) => c.ok) ? 0 : 1);
