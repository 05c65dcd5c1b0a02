/**
 * The health verdict the dashboard and `bulwark health` show: one status with its reasons, per
 * queue and per dependency. It is built from what the store says (pauses, throttles, how many jobs
 * finished dead lately, whether the store answers at all) and, when the process runs workers, from
 * the HealthMonitor's processors and the dependency breakers.
 */
import type { HealthStatus, SystemHealth } from '../observe/health.js';
import { isAuthPause } from '../observe/health.js';
import { shownReason } from './reason.js';

export interface QueueVerdict {
  name: string;
  status: HealthStatus;
  reasons: string[];
}

export interface DependencyVerdict {
  name: string;
  kind: 'store' | 'breaker' | 'processor';
  status: HealthStatus;
  detail: string;
}

export interface Verdict {
  status: HealthStatus;
  checkedAt: number;
  /** One line per cause of the status, worst first. */
  reasons: string[];
  queues: QueueVerdict[];
  dependencies: DependencyVerdict[];
}

/** What the verdict is computed from, for one queue. */
export interface QueueFacts {
  name: string;
  paused: boolean;
  pauseReason: string | null;
  throttledUntil: number;
  blockedBy: string | null;
  /** Paused groups (tenants): one paused by an auth failure makes the queue DEGRADED (the others go on). */
  pausedGroups?: readonly { name: string; reason: string | null }[];
  /** Jobs finished over the recent window. */
  recent: { completed: number; dead: number };
}

export interface VerdictInput {
  now: number;
  store: { label: string; error: string | null; latencyMs: number | null };
  queues: readonly QueueFacts[];
  breakers: readonly { name: string; state: string }[];
  monitor?: SystemHealth;
  thresholds?: { healthy: number; degraded: number };
  /** Fewer finished jobs than this in the window say nothing about a queue's success rate. @default 20 */
  minOutcomes?: number;
}

const RANK: Record<HealthStatus, number> = { UNKNOWN: 0, HEALTHY: 1, DEGRADED: 2, UNHEALTHY: 3 };
const worst = (a: HealthStatus, b: HealthStatus): HealthStatus => (RANK[b] > RANK[a] ? b : a);
const OPEN = new Set(['open', 'isolated', 'forced_open']);

/** "paused by <who>: <reason>", for a queue or a group. */
export function pausedText(reason: string | null): string {
  const shown = shownReason(reason);
  return `paused by ${pausedBy(reason)}${shown ? `: ${shown}` : ''}`;
}

/** Who paused a queue, from the reason's prefix (`auth:` by a worker, `dashboard:` or `cli:` by an operator). */
export function pausedBy(reason: string | null): string {
  if (isAuthPause(reason)) return 'a worker, after an auth failure';
  if (reason?.startsWith('dashboard')) return 'an operator, from the dashboard';
  if (reason?.startsWith('cli')) return 'an operator, from the CLI';
  return 'the application';
}

export function evaluate(input: VerdictInput): Verdict {
  const healthy = input.thresholds?.healthy ?? 0.95;
  const degraded = input.thresholds?.degraded ?? 0.8;
  const minOutcomes = input.minOutcomes ?? 20;
  const reasons: { status: HealthStatus; text: string }[] = [];
  const dependencies: DependencyVerdict[] = [];

  const storeStatus: HealthStatus = input.store.error === null ? 'HEALTHY' : 'UNHEALTHY';
  dependencies.push({
    name: input.store.label,
    kind: 'store',
    status: storeStatus,
    detail:
      input.store.error === null
        ? `answers${input.store.latencyMs === null ? '' : ` in ${input.store.latencyMs} ms`}`
        : `unreachable: ${input.store.error}`,
  });
  if (input.store.error !== null) {
    reasons.push({
      status: 'UNHEALTHY',
      text: `store ${input.store.label} is unreachable: ${input.store.error}`,
    });
  }

  const breakerStates = new Map<string, string>();
  for (const b of input.breakers) breakerStates.set(b.name, b.state);
  for (const b of input.monitor?.breakers ?? []) breakerStates.set(b.name, b.state);
  for (const [name, state] of breakerStates) {
    const open = OPEN.has(state);
    dependencies.push({
      name,
      kind: 'breaker',
      status: open ? 'DEGRADED' : 'HEALTHY',
      detail: `breaker ${state.replace('_', '-')}`,
    });
    if (open) reasons.push({ status: 'DEGRADED', text: `dependency ${name}: breaker ${state}` });
  }

  const processors = new Map((input.monitor?.processors ?? []).map((p) => [p.name, p]));
  const queues: QueueVerdict[] = input.queues.map((q) => {
    const own: { status: HealthStatus; text: string }[] = [];
    if (q.paused) {
      const status: HealthStatus = isAuthPause(q.pauseReason) ? 'UNHEALTHY' : 'DEGRADED';
      own.push({
        status,
        text: pausedText(q.pauseReason),
      });
    }
    for (const g of q.pausedGroups ?? []) {
      if (!isAuthPause(g.reason)) continue;
      own.push({
        status: 'DEGRADED',
        text: `group ${g.name} ${pausedText(g.reason)}`,
      });
    }
    if (q.blockedBy !== null)
      own.push({ status: 'DEGRADED', text: `blocked: breaker ${q.blockedBy} is open` });
    if (q.throttledUntil > input.now) {
      own.push({
        status: 'HEALTHY',
        text: `throttled until ${new Date(q.throttledUntil).toISOString()} (a rate limit)`,
      });
    }
    const p = processors.get(q.name);
    const n = q.recent.completed + q.recent.dead;
    if (p && p.status !== 'UNKNOWN') {
      if (p.status !== 'HEALTHY') {
        own.push({
          status: p.status,
          text: `${pct(p.window.successRate)} of the last ${p.window.calls} attempts succeeded${p.lastError ? ` (last error: ${p.lastError})` : ''}`,
        });
      }
    } else if (n >= minOutcomes) {
      const rate = q.recent.completed / n;
      const status: HealthStatus =
        rate + 1e-9 >= healthy ? 'HEALTHY' : rate + 1e-9 >= degraded ? 'DEGRADED' : 'UNHEALTHY';
      if (status !== 'HEALTHY') {
        own.push({ status, text: `${q.recent.dead} of the last ${n} finished jobs were dead-lettered` });
      }
    }
    let status: HealthStatus =
      p && p.status !== 'UNKNOWN' ? 'HEALTHY' : n >= minOutcomes ? 'HEALTHY' : 'UNKNOWN';
    for (const r of own) status = worst(status, r.status);
    for (const r of own)
      if (r.status !== 'HEALTHY') reasons.push({ status: r.status, text: `queue ${q.name}: ${r.text}` });
    return { name: q.name, status, reasons: own.map((r) => r.text) };
  });

  for (const p of processors.values()) {
    if (input.queues.some((q) => q.name === p.name)) continue;
    dependencies.push({
      name: p.name,
      kind: 'processor',
      status: p.status,
      detail: `${pct(p.window.successRate)} of ${p.window.calls} calls succeeded`,
    });
    if (p.status === 'UNHEALTHY' || p.status === 'DEGRADED') {
      reasons.push({ status: p.status, text: `processor ${p.name} is ${p.status}` });
    }
  }

  let status: HealthStatus = storeStatus;
  for (const q of queues) status = worst(status, q.status);
  for (const d of dependencies) status = worst(status, d.status);
  reasons.sort((a, b) => RANK[b.status] - RANK[a.status]);
  return { status, checkedAt: input.now, reasons: reasons.map((r) => r.text), queues, dependencies };
}

function pct(rate: number | null): string {
  return rate === null ? 'n/a' : `${(rate * 100).toFixed(1)}%`;
}
