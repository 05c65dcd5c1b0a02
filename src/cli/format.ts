/** Text output for people: times absolute and relative, aligned columns, a job with its attempts. */
import type { Job } from '../core/job.js';
import type { JobErrorRecord, StateCounts } from '../store/types.js';
import type { Verdict } from '../dashboard/verdict.js';

/** "3m ago", "in 12s". */
export function relative(at: number, now = Date.now()): string {
  const d = at - now;
  const s = Math.abs(d) / 1000;
  const text =
    s < 1
      ? 'now'
      : s < 90
        ? `${Math.round(s)}s`
        : s < 5400
          ? `${Math.round(s / 60)}m`
          : s < 36 * 3600
            ? `${Math.round(s / 3600)}h`
            : `${Math.round(s / 86400)}d`;
  if (text === 'now') return text;
  return d < 0 ? `${text} ago` : `in ${text}`;
}

/** "2026-11-24 10:31:02 (3m ago)" in local time. */
export function when(at: number | null, now = Date.now()): string {
  if (at === null) return '-';
  const d = new Date(at);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${text} (${relative(at, now)})`;
}

export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Every state's count; `blocked` (flows waiting for their dependencies) only when there are any. */
export const countsLine = (c: StateCounts): string =>
  `waiting ${c.waiting}  delayed ${c.delayed}${c.blocked ? `  blocked ${c.blocked}` : ''}  active ${c.active}  completed ${c.completed}  dead ${c.dead}  cancelled ${c.cancelled}`;

const oneLine = (s: string, max = 80): string => {
  const t = s.replace(/\s+/g, ' ');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

export function jobTable(jobs: readonly Job[], now = Date.now()): string {
  return table([
    ['ID', 'STATE', 'ATTEMPTS', 'CREATED', 'LAST ERROR'],
    ...jobs.map((j) => {
      const last = j.errors[j.errors.length - 1];
      return [
        j.id,
        j.state,
        `${j.attempts}/${j.maxAttempts}`,
        relative(j.createdAt, now),
        last ? oneLine(`${last.category}: ${last.message}`) : (j.reason ?? ''),
      ];
    }),
  ]);
}

const pretty = (v: unknown, indent = '  '): string =>
  JSON.stringify(v, null, 2)
    .split('\n')
    .map((l) => indent + l)
    .join('\n');

function attempt(e: JobErrorRecord, now: number): string {
  const lines = [
    `  #${e.attempt}  ${e.category} → ${e.action}  ${when(e.at, now)}`,
    `      ${e.name}: ${e.message}`,
  ];
  const stack = (e as JobErrorRecord & { stack?: string }).stack;
  if (stack) {
    for (const l of stack.split('\n').slice(1, 12)) lines.push(`      ${l.trim()}`);
  }
  return lines.join('\n');
}

export function jobDetail(j: Job, now = Date.now()): string {
  const field = (k: string, v: string): string => `${k.padEnd(15)}${v}`;
  const out = [
    field('job', j.id),
    field('queue', j.queue),
    ...(j.name === null ? [] : [field('name', j.name)]),
    field('state', j.state + (j.reason ? ` — ${j.reason}` : '')),
    field('attempts', `${j.attempts} of ${j.maxAttempts}${j.snoozes ? ` (${j.snoozes} snoozes)` : ''}`),
    field('priority', String(j.priority)),
    field('created', when(j.createdAt, now)),
    field('runs at', when(j.runAt, now)),
    field('started', when(j.startedAt, now)),
    field('finished', when(j.finishedAt, now)),
    field('updated', when(j.updatedAt, now)),
    field('correlation', j.correlationId),
  ];
  if (j.progress !== null) out.push(field('progress', JSON.stringify(j.progress)));
  if (Object.keys(j.metadata).length > 0) out.push('metadata', pretty(j.metadata));
  out.push('payload', pretty(j.payload));
  if (j.result !== null) out.push('result', pretty(j.result));
  if (j.checkpoint !== null) out.push('checkpoint', pretty(j.checkpoint));
  out.push(j.errors.length ? `attempts that failed (${j.errors.length})` : 'no failed attempts');
  for (const e of j.errors) out.push(attempt(e, now));
  return out.join('\n');
}

export function verdictText(v: Verdict): string {
  const lines = [`health: ${v.status}`];
  for (const r of v.reasons) lines.push(`  - ${r}`);
  lines.push('dependencies:');
  for (const d of v.dependencies) lines.push(`  ${d.status.padEnd(9)} ${d.kind} ${d.name}: ${d.detail}`);
  lines.push(v.queues.length ? 'queues:' : 'queues: none yet');
  for (const q of v.queues)
    lines.push(`  ${q.status.padEnd(9)} ${q.name}${q.reasons.length ? `: ${q.reasons.join('; ')}` : ''}`);
  return lines.join('\n');
}
