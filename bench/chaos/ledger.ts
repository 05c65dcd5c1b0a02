/**
 * Reads the attempts logs of a run's worker processes (see worker.ts for the format) and, with the
 * producer's ledger of acknowledged adds, the faults the harness injected and the jobs as the store has
 * them at the end, computes the run's figures.
 */
import { existsSync, readFileSync } from 'node:fs';
import { percentile } from '../lib.js';

export interface LogLine {
  kind: 'S' | 'E' | 'A' | 'X' | 'D' | 'W';
  proc: string;
  id: string;
  fence: number;
  t: number;
  /** E: ok | late | err. */
  outcome?: string;
}

/** An injected fault: who it hit (undefined: every process, e.g. the server) and when. */
export interface Fault {
  kind: 'kill' | 'stop' | 'block' | 'partition' | 'server' | 'backend' | 'hog' | 'disk';
  start: number;
  end: number;
  victims?: string[];
}

export interface FinalJob {
  state: string;
  fence: number;
  resultFence: number | null;
}

export interface RunInput {
  logs: Map<string, string>;
  /** Configured concurrency of each process. */
  concurrency: Map<string, number>;
  accepted: ReadonlySet<string>;
  final: ReadonlyMap<string, FinalJob>;
  faults: readonly Fault[];
  leaseMs: number;
  reapIntervalMs: number;
  /** Times the server was back after a restart (or the connections after a backend kill). */
  backAt: readonly number[];
}

export interface Figures {
  accepted: number;
  completed: number;
  dead: number;
  /** Accepted jobs not in a final state at the end (missing ones included). */
  lost: number;
  /** Accepted (the add resolved) but absent from the store at the end. */
  ackLost: number;
  /** Jobs whose handler started more than once. */
  runsOver1: number;
  /** Jobs whose handler returned successfully (signal not aborted) more than once. */
  successOver1: number;
  /** …of which an extra success lies outside every fault window. */
  successOver1Outside: number;
  /** Jobs with an accepted completion from an attempt that was not the job's last (or two accepted). */
  staleAccepted: number;
  /** Outcomes the store refused (stale attempts, reported as job:stale). */
  staleRefused: number;
  /** Handlers that returned after their signal aborted (zombies that finished). */
  lateReturns: number;
  /** Handlers that threw what the payload did not plan (a store call failing under them). */
  unplannedErrors: number;
  /** The first few of those, with their counts. */
  unplannedSamples: Record<string, number>;
  /** From each worker kill to the re-run of each job the victim held: p95, max and how many. */
  recoveryP95Ms: number | null;
  recoveryMaxMs: number | null;
  recoveries: number;
  /** The same from the other worker faults (SIGSTOP, a blocked event loop, a partition). */
  otherRecoveryP95Ms: number | null;
  otherRecoveries: number;
  /** From the server back (or connections killed) to the first accepted completion: the worst. */
  firstCompletionMs: number | null;
  /** The most handlers running at once in one process, and that process's configured concurrency. */
  maxConcurrency: number;
  configuredConcurrency: number;
  /** The most any process ran above its configured concurrency (0: never above). */
  concurrencyOver: number;
  workerErrors: number;
}

export function parseLog(proc: string, text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const raw of text.split('\n')) {
    const f = raw.split(' ');
    switch (f[0]) {
      case 'S':
        out.push({ kind: 'S', proc, id: f[1]!, fence: Number(f[2]), t: Number(f[4]) });
        break;
      case 'E':
        out.push({ kind: 'E', proc, id: f[1]!, fence: Number(f[2]), t: Number(f[3]), outcome: f[4] });
        break;
      case 'A':
      case 'X':
      case 'D':
        out.push({ kind: f[0], proc, id: f[1]!, fence: Number(f[2]), t: Number(f[3]) });
        break;
      case 'W':
        out.push({ kind: 'W', proc, id: '', fence: 0, t: Number(f[1]) });
        break;
      default:
      // a line cut short by a SIGKILL mid-write, or the empty last line
    }
  }
  return out;
}

export function readLogs(files: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [proc, path] of files) out.set(proc, existsSync(path) ? readFileSync(path, 'utf8') : '');
  return out;
}

export function analyze(input: RunInput): Figures {
  const lines: LogLine[] = [];
  for (const [proc, text] of input.logs) lines.push(...parseLog(proc, text));
  lines.sort((a, b) => a.t - b.t);
  const byJob = new Map<string, LogLine[]>();
  for (const l of lines) {
    if (l.kind === 'W') continue;
    let list = byJob.get(l.id);
    if (!list) byJob.set(l.id, (list = []));
    list.push(l);
  }
  const { leaseMs, reapIntervalMs } = input;
  const slack = leaseMs + reapIntervalMs + 1000;
  const inWindow = (proc: string, t: number): boolean =>
    input.faults.some(
      (f) =>
        (f.victims === undefined || f.victims.includes(proc)) && t >= f.start - leaseMs && t <= f.end + slack,
    );

  let runsOver1 = 0;
  let successOver1 = 0;
  let successOver1Outside = 0;
  let staleAccepted = 0;
  let staleRefused = 0;
  let lateReturns = 0;
  let unplannedErrors = 0;
  const unplannedSamples: Record<string, number> = {};
  for (const text of input.logs.values()) {
    for (const raw of text.split('\n')) {
      if (!raw.startsWith('U ')) continue;
      unplannedErrors++;
      const message = raw.split(' ').slice(4).join(' ').replace(/\d+/g, 'N').slice(0, 160);
      if (message in unplannedSamples || Object.keys(unplannedSamples).length < 10)
        unplannedSamples[message] = (unplannedSamples[message] ?? 0) + 1;
    }
  }
  for (const [id, list] of byJob) {
    const starts = list.filter((l) => l.kind === 'S');
    const oks = list.filter((l) => l.kind === 'E' && l.outcome === 'ok');
    const accepts = list.filter((l) => l.kind === 'A');
    staleRefused += list.filter((l) => l.kind === 'X').length;
    lateReturns += list.filter((l) => l.kind === 'E' && l.outcome === 'late').length;
    if (starts.length > 1) runsOver1++;
    const final = input.final.get(id);
    const stale =
      accepts.length > 1 ||
      (final !== undefined && accepts.some((a) => a.fence !== final.fence)) ||
      (final?.state === 'completed' && final.resultFence !== null && final.resultFence !== final.fence);
    if (stale) staleAccepted++;
    if (oks.length > 1) {
      successOver1++;
      const firstAccept = accepts[0]?.t ?? Infinity;
      const outside =
        // Run again after a completion was accepted: never excused.
        starts.some((s) => s.t > firstAccept) ||
        // A success whose completion never landed, with no fault around it.
        oks.some((o) => !accepts.some((a) => a.fence === o.fence) && !inWindow(o.proc, o.t));
      if (outside) successOver1Outside++;
    }
  }

  // Recovery: from each worker fault to the next start, in another process, of every job the victim held.
  const recoveries: number[] = [];
  const otherRecoveries: number[] = [];
  for (const f of input.faults) {
    if (!f.victims || !['kill', 'stop', 'block', 'partition'].includes(f.kind)) continue;
    for (const [id, list] of byJob) {
      const final = input.final.get(id);
      for (const victim of f.victims) {
        const held = list.filter((l) => l.proc === victim && l.kind === 'S' && l.t <= f.start);
        const last = held[held.length - 1];
        if (!last) continue;
        const settledBefore = list.some(
          (l) =>
            l.proc === victim &&
            l.fence === last.fence &&
            l.t <= f.start &&
            (l.kind === 'A' ||
              l.kind === 'D' ||
              (l.kind === 'E' && (l.outcome === 'err' || l.outcome === 'fail' || l.outcome === 'lost'))),
        );
        if (settledBefore) continue;
        // The victim's attempt stood (its lease outlived the fault): nothing to recover.
        if (final && final.fence === last.fence) continue;
        const again = list.find((l) => l.kind === 'S' && l.proc !== victim && l.t > f.start);
        if (again) (f.kind === 'kill' ? recoveries : otherRecoveries).push(again.t - f.start);
      }
    }
  }
  recoveries.sort((a, b) => a - b);
  otherRecoveries.sort((a, b) => a - b);

  let firstCompletionMs: number | null = null;
  for (const back of input.backAt) {
    const first = lines.find((l) => l.kind === 'A' && l.t >= back);
    const ms = first ? first.t - back : Infinity;
    firstCompletionMs = Math.max(firstCompletionMs ?? 0, ms);
  }

  let maxConcurrency = 0;
  let configuredConcurrency = 0;
  let concurrencyOver = 0;
  for (const [proc, text] of input.logs) {
    const events = parseLog(proc, text)
      .filter((l) => l.kind === 'S' || l.kind === 'E')
      .map((l) => ({ t: l.t, d: l.kind === 'S' ? 1 : -1 }));
    // An end and a start at the same instant: the slot was freed, then taken.
    events.sort((a, b) => a.t - b.t || a.d - b.d);
    let n = 0;
    let most = 0;
    for (const e of events) most = Math.max(most, (n += e.d));
    const configured = input.concurrency.get(proc) ?? 0;
    if (most > maxConcurrency || (most === maxConcurrency && configured > configuredConcurrency)) {
      maxConcurrency = most;
      configuredConcurrency = configured;
    }
    concurrencyOver = Math.max(concurrencyOver, most - configured);
  }

  let completed = 0;
  let dead = 0;
  let lost = 0;
  let ackLost = 0;
  for (const id of input.accepted) {
    const j = input.final.get(id);
    if (!j) {
      ackLost++;
      lost++;
    } else if (j.state === 'completed') completed++;
    else if (j.state === 'dead') dead++;
    else if (j.state !== 'cancelled') lost++;
  }
  return {
    accepted: input.accepted.size,
    completed,
    dead,
    lost,
    ackLost,
    runsOver1,
    successOver1,
    successOver1Outside,
    staleAccepted,
    staleRefused,
    lateReturns,
    unplannedErrors,
    unplannedSamples,
    recoveryP95Ms: recoveries.length ? percentile(recoveries, 95) : null,
    recoveryMaxMs: recoveries.length ? recoveries[recoveries.length - 1]! : null,
    recoveries: recoveries.length,
    otherRecoveryP95Ms: otherRecoveries.length ? percentile(otherRecoveries, 95) : null,
    otherRecoveries: otherRecoveries.length,
    firstCompletionMs,
    maxConcurrency,
    configuredConcurrency,
    concurrencyOver,
    workerErrors: lines.filter((l) => l.kind === 'W').length,
  };
}
