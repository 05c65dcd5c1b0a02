/**
 * Top errors with their trend. With an error analytics source (the workers' `analytics`) its
 * `top()` is used as is; without one (a dashboard over a store whose workers run elsewhere), the
 * last errors of recently dead-lettered jobs are grouped by pattern, and the trend compares the
 * last window with the one before it.
 */
import type { StoredJob } from '../store/types.js';

export interface TopError {
  pattern: string;
  category: string;
  /** Occurrences in the window. */
  count: number;
  /** Occurrences in the window before it. */
  previousCount: number;
  trend: 'rising' | 'steady' | 'falling';
  example: string;
  lastSeen: number;
  queues: string[];
}

/** Digits, hex ids and quoted values vary between occurrences of one error: fold them. */
export function errorPattern(message: string): string {
  return message
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/"[^"]*"|'[^']*'/g, '<str>')
    .replace(/\b0x[0-9a-f]+\b|\b[0-9a-f]{16,}\b/gi, '<hex>')
    .replace(/\d+(\.\d+)?/g, '<n>')
    .slice(0, 300);
}

export function trendOf(count: number, previous: number): TopError['trend'] {
  if (count > previous * 1.2 + 1) return 'rising';
  if (previous > count * 1.2 + 1) return 'falling';
  return 'steady';
}

/** Groups dead jobs' last errors by pattern over two windows of `windowMs` ending at `now`. */
export function topErrorsOf(
  dead: readonly StoredJob[],
  now: number,
  windowMs: number,
  limit = 10,
): TopError[] {
  const groups = new Map<string, TopError>();
  for (const job of dead) {
    const last = job.errors[job.errors.length - 1];
    const at = job.finishedAt ?? job.updatedAt;
    const age = now - at;
    if (age > 2 * windowMs || age < 0) continue;
    const message = last?.message ?? job.reason ?? 'no error recorded';
    const category = last?.category ?? 'unknown';
    const key = `${category}\n${errorPattern(message)}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        pattern: errorPattern(message),
        category,
        count: 0,
        previousCount: 0,
        trend: 'steady',
        example: message.slice(0, 500),
        lastSeen: at,
        queues: [],
      };
      groups.set(key, g);
    }
    if (age <= windowMs) g.count++;
    else g.previousCount++;
    if (at >= g.lastSeen) {
      g.lastSeen = at;
      g.example = message.slice(0, 500);
    }
    if (!g.queues.includes(job.queue)) g.queues.push(job.queue);
  }
  const out = [...groups.values()];
  for (const g of out) g.trend = trendOf(g.count, g.previousCount);
  return out
    .filter((g) => g.count > 0 || g.previousCount > 0)
    .sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen)
    .slice(0, limit);
}
