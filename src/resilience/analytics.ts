/**
 * Error analytics: every failure is reduced to a normalized pattern (numbers, ids, UUIDs, URLs,
 * e-mails, IPv4 addresses and quoted values replaced by placeholders) and counted per time bucket, per queue and per
 * dependency. `top()` answers "what is failing now, is it getting worse, and how bad is it" (each
 * pattern has a severity from its category and rate); `summary()` gives the totals by category. Memory is bounded: a fixed number of buckets per pattern, and at most
 * `maxPatterns` patterns (the least recently seen is evicted first).
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../kernel/clock.js';
import { ERROR_CATEGORIES, type ErrorCategory } from '../kernel/errors.js';
import { parseOptions } from '../kernel/validate.js';
import { zClock } from './policy.js';

export type Trend = 'rising' | 'steady' | 'falling';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
/** How urgent an error pattern is, from its category and its rate (see `severityOf`). */
export type Severity = (typeof SEVERITIES)[number];

/** Occurrences per minute at which a pattern reaches medium, high and critical severity. */
export interface SeverityRates {
  /** @default 1 */
  medium?: number;
  /** @default 10 */
  high?: number;
  /** @default 100 */
  critical?: number;
}

export interface ErrorAnalyticsOptions {
  /** Width of one counting bucket. @default 60000 */
  bucketMs?: number;
  /** Buckets kept per pattern: the history is bucketMs × buckets. @default 60 */
  buckets?: number;
  /** Most (pattern, queue, dependency) combinations tracked. @default 1000 */
  maxPatterns?: number;
  /** Longest pattern and example kept, in characters. @default 300 */
  maxMessageLength?: number;
  /** Window used by `top()` and `summary()` when none is given. @default 600000 (10 min) */
  defaultWindowMs?: number;
  /** Rates (per minute) where a pattern's severity rises. @default { medium: 1, high: 10, critical: 100 } */
  severityRates?: SeverityRates;
  /** @default systemClock */
  clock?: Clock;
}

export interface ErrorRecord {
  queue?: string | undefined;
  dependency?: string | undefined;
  category: ErrorCategory;
  error: unknown;
  /** When it happened, clock time. @default clock.now() */
  at?: number | undefined;
}

export interface TopQuery {
  queue?: string;
  dependency?: string;
  /** @default 10 */
  limit?: number;
  /** The window counted (the trend compares it with the window before). @default defaultWindowMs */
  windowMs?: number;
  /** Only patterns at least this severe. @default 'low' (all) */
  minSeverity?: Severity;
}

export interface PatternStats {
  pattern: string;
  category: ErrorCategory;
  /** Occurrences in the window. */
  count: number;
  /**
   * Occurrences in the window before it: as long as the window, or as much of it as the history holds
   * (the trend then compares rates). With a window as long as the history there is none: 0, steady.
   */
  previousCount: number;
  /** Occurrences since first seen (while tracked). */
  total: number;
  trend: Trend;
  /** From the category and the rate in the window (see `severityOf`). */
  severity: Severity;
  /** The latest raw message of this pattern. */
  example: string;
  firstSeen: number;
  lastSeen: number;
  /** Queues and dependencies it was seen on (among those matching the query). */
  queues: string[];
  dependencies: string[];
}

export interface AnalyticsSummary {
  windowMs: number;
  /** Failures in the window. */
  total: number;
  byCategory: Record<ErrorCategory, number>;
  /** Since start. */
  allTime: { total: number; byCategory: Record<ErrorCategory, number> };
  /** Patterns tracked now. */
  patterns: number;
}

const zRate = z.number().positive().finite();
const zOptions = z.strictObject({
  severityRates: z
    .strictObject({ medium: zRate.optional(), high: zRate.optional(), critical: zRate.optional() })
    .refine(
      (r) => (r.medium ?? 1) <= (r.high ?? 10) && (r.high ?? 10) <= (r.critical ?? 100),
      'rates must rise: medium ≤ high ≤ critical',
    )
    .optional(),
  bucketMs: z.number().int().positive().optional(),
  buckets: z.number().int().min(2).max(10_000).optional(),
  maxPatterns: z.number().int().positive().max(1_000_000).optional(),
  maxMessageLength: z.number().int().min(20).max(100_000).optional(),
  defaultWindowMs: z.number().int().positive().optional(),
  clock: zClock.optional(),
});

const zRecord = z.strictObject({
  queue: z.string().max(200).optional(),
  dependency: z.string().max(200).optional(),
  category: z.enum(ERROR_CATEGORIES),
  error: z.unknown(),
  at: z.number().finite().optional(),
});

const zQuery = z.strictObject({
  queue: z.string().optional(),
  dependency: z.string().optional(),
  limit: z.number().int().positive().max(10_000).optional(),
  windowMs: z.number().int().positive().optional(),
  minSeverity: z.enum(SEVERITIES).optional(),
});

/**
 * Per category: the severity a pattern has at any rate (floor) and the most it can reach by rate
 * alone (ceiling). A fatal error stops a worker: critical at once. Auth pauses a queue and resource
 * exhaustion threatens the process: high at once. An unclassified error deserves a look: medium.
 * Errors bulwark handles by design (a retried transient, a snoozed rate limit, a dead-lettered
 * invalid job) start low and, however frequent, reach high, never critical: a flood of them is a
 * problem to look at, not an outage by itself.
 */
const CATEGORY_SEVERITY: Readonly<Record<ErrorCategory, { floor: Severity; ceiling: Severity }>> = {
  fatal: { floor: 'critical', ceiling: 'critical' },
  auth: { floor: 'high', ceiling: 'critical' },
  resource: { floor: 'high', ceiling: 'critical' },
  dependency: { floor: 'medium', ceiling: 'critical' },
  unknown: { floor: 'medium', ceiling: 'critical' },
  transient: { floor: 'low', ceiling: 'high' },
  rate_limit: { floor: 'low', ceiling: 'high' },
  validation: { floor: 'low', ceiling: 'high' },
  permanent: { floor: 'low', ceiling: 'high' },
};

const rank = (s: Severity): number => SEVERITIES.indexOf(s);

/**
 * A pattern's severity: the level its rate reaches (`rates` per minute: below `medium` is low),
 * raised to its category's floor and capped at its category's ceiling (see CATEGORY_SEVERITY).
 */
export function severityOf(category: ErrorCategory, perMinute: number, rates: SeverityRates = {}): Severity {
  const byRate: Severity =
    perMinute >= (rates.critical ?? 100)
      ? 'critical'
      : perMinute >= (rates.high ?? 10)
        ? 'high'
        : perMinute >= (rates.medium ?? 1)
          ? 'medium'
          : 'low';
  const { floor, ceiling } = CATEGORY_SEVERITY[category];
  return SEVERITIES[Math.min(rank(ceiling), Math.max(rank(floor), rank(byRate)))]!;
}

/** A rising or falling trend needs the count to change by this factor… */
const TREND_RATIO = 1.5;
/** …and by at least this many occurrences (so 1 → 2 is not "rising"). */
const TREND_MIN_DELTA = 2;

const URL_RE = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
const EMAIL_RE = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
const UUID_RE = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const DQUOTE_RE = /"(?:[^"\\\n]|\\.)*"|`[^`\n]*`/g;
// A single-quoted value starts after a non-word character, so "can't" is not a quote.
const SQUOTE_RE = /(^|[^\w])'(?:[^'\\\n]|\\.)*'(?!\w)/g;
const HEX_PREFIXED_RE = /\b0x[0-9a-f]+\b/gi;
// Ids like 5f1d7c9e3b2a or sha digests: 8+ hex characters mixing digits and letters.
const HEX_ID_RE = /\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi;
const IPV4_RE = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const NUMBER_RE = /\d+(?:\.\d+)?/g;
const SPACE_RE = /\s+/g;

/** Reduces an error message to its pattern: variable parts become placeholders. */
export function normalizeMessage(message: string, maxLength = 300): string {
  return message
    .slice(0, maxLength * 4)
    .replace(URL_RE, '<url>')
    .replace(EMAIL_RE, '<email>')
    .replace(UUID_RE, '<uuid>')
    .replace(DQUOTE_RE, '<str>')
    .replace(SQUOTE_RE, '$1<str>')
    .replace(HEX_PREFIXED_RE, '<hex>')
    .replace(HEX_ID_RE, '<hex>')
    .replace(IPV4_RE, '<ip>')
    .replace(NUMBER_RE, '<n>')
    .replace(SPACE_RE, ' ')
    .trim()
    .slice(0, maxLength);
}

/** `Name: message` of anything thrown. */
function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    if (typeof message === 'string') return typeof name === 'string' ? `${name}: ${message}` : message;
  }
  try {
    return `non-error: ${JSON.stringify(error)}`;
  } catch {
    return `non-error: ${String(error)}`;
  }
}

interface Entry {
  pattern: string;
  category: ErrorCategory;
  queue: string | undefined;
  dependency: string | undefined;
  /** counts[slot] holds the count of absolute bucket stamps[slot]. */
  counts: Uint32Array;
  stamps: Float64Array;
  total: number;
  example: string;
  firstSeen: number;
  lastSeen: number;
}

const CATEGORY_INDEX = new Map<ErrorCategory, number>(ERROR_CATEGORIES.map((c, i) => [c, i]));
const emptyByCategory = (): Record<ErrorCategory, number> =>
  Object.fromEntries(ERROR_CATEGORIES.map((c) => [c, 0])) as Record<ErrorCategory, number>;

export class ErrorAnalytics {
  private readonly bucketMs: number;
  private readonly buckets: number;
  private readonly maxPatterns: number;
  private readonly maxLength: number;
  private readonly defaultWindowMs: number;
  private readonly severityRates: SeverityRates;
  private readonly clock: Clock;
  /** Insertion order is recency order: a touched entry is moved to the end. */
  private readonly entries = new Map<string, Entry>();
  private readonly catCounts: Float64Array;
  private readonly catStamps: Float64Array;
  private readonly allTime = new Float64Array(ERROR_CATEGORIES.length);

  constructor(options: ErrorAnalyticsOptions = {}) {
    const o = parseOptions(zOptions, options, 'analytics');
    this.bucketMs = o.bucketMs ?? 60_000;
    this.buckets = o.buckets ?? 60;
    this.maxPatterns = o.maxPatterns ?? 1000;
    this.maxLength = o.maxMessageLength ?? 300;
    this.defaultWindowMs = o.defaultWindowMs ?? 600_000;
    this.severityRates = o.severityRates ?? {};
    this.clock = o.clock ?? systemClock;
    this.catCounts = new Float64Array(this.buckets * ERROR_CATEGORIES.length);
    this.catStamps = new Float64Array(this.buckets).fill(-1);
  }

  /** Counts one failure; returns its pattern. */
  record(record: ErrorRecord): { pattern: string } {
    const r = parseOptions(zRecord, record, 'record');
    const at = r.at ?? this.clock.now();
    const abs = Math.floor(at / this.bucketMs);
    const slot = ((abs % this.buckets) + this.buckets) % this.buckets;
    const raw = describe(r.error);
    const pattern = normalizeMessage(raw, this.maxLength);
    const key = `${r.category}\u0000${pattern}\u0000${r.queue ?? ''}\u0000${r.dependency ?? ''}`;

    let e = this.entries.get(key);
    if (e === undefined) {
      e = {
        pattern,
        category: r.category,
        queue: r.queue,
        dependency: r.dependency,
        counts: new Uint32Array(this.buckets),
        stamps: new Float64Array(this.buckets).fill(-1),
        total: 0,
        example: raw.slice(0, this.maxLength),
        firstSeen: at,
        lastSeen: at,
      };
      this.entries.set(key, e);
      if (this.entries.size > this.maxPatterns) {
        this.entries.delete(this.entries.keys().next().value!);
      }
    } else {
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    if (e.stamps[slot] !== abs) {
      // An older bucket in this slot has left the history (or a newer one is there: a late record
      // older than the history is dropped from the window counts but still totalled).
      if (e.stamps[slot]! < abs) {
        e.stamps[slot] = abs;
        e.counts[slot] = 1;
      }
    } else {
      e.counts[slot]!++;
    }
    e.total++;
    if (at >= e.lastSeen) {
      e.lastSeen = at;
      e.example = raw.slice(0, this.maxLength);
    }
    if (at < e.firstSeen) e.firstSeen = at;

    const c = CATEGORY_INDEX.get(r.category)!;
    const n = ERROR_CATEGORIES.length;
    if (this.catStamps[slot] !== abs) {
      if (this.catStamps[slot]! < abs) {
        this.catStamps[slot] = abs;
        this.catCounts.fill(0, slot * n, slot * n + n);
        this.catCounts[slot * n + c] = 1;
      }
    } else {
      this.catCounts[slot * n + c]!++;
    }
    this.allTime[c]!++;
    return { pattern };
  }

  /** The most frequent patterns in the window, with their trend against the window before. */
  top(query: TopQuery = {}): PatternStats[] {
    const q = parseOptions(zQuery, query, 'query');
    const limit = q.limit ?? 10;
    const { from, to, nb, windowMs } = this.range(q.windowMs);
    const minutes = windowMs / 60_000;
    const minRank = rank(q.minSeverity ?? 'low');
    // The window before, as far as the history reaches: a window over half the history has a shorter
    // one before it (none at all when it spans the whole history), and its count is scaled to match.
    const before = Math.min(nb, this.buckets - nb);
    const groups = new Map<string, PatternStats & { q: Set<string>; d: Set<string> }>();
    for (const e of this.entries.values()) {
      if (q.queue !== undefined && e.queue !== q.queue) continue;
      if (q.dependency !== undefined && e.dependency !== q.dependency) continue;
      const count = this.count(e, from, to);
      const previousCount = before > 0 ? this.count(e, from - before, from - 1) : 0;
      if (count === 0 && previousCount === 0) continue;
      const key = `${e.category}\u0000${e.pattern}`;
      let g = groups.get(key);
      if (g === undefined) {
        g = {
          pattern: e.pattern,
          category: e.category,
          count: 0,
          previousCount: 0,
          total: 0,
          trend: 'steady',
          severity: 'low',
          example: e.example,
          firstSeen: e.firstSeen,
          lastSeen: e.lastSeen,
          queues: [],
          dependencies: [],
          q: new Set(),
          d: new Set(),
        };
        groups.set(key, g);
      }
      g.count += count;
      g.previousCount += previousCount;
      g.total += e.total;
      if (e.lastSeen >= g.lastSeen) {
        g.lastSeen = e.lastSeen;
        g.example = e.example;
      }
      g.firstSeen = Math.min(g.firstSeen, e.firstSeen);
      if (e.queue !== undefined) g.q.add(e.queue);
      if (e.dependency !== undefined) g.d.add(e.dependency);
    }
    const out: PatternStats[] = [];
    for (const g of groups.values()) {
      if (g.count === 0) continue;
      const severity = severityOf(g.category, g.count / minutes, this.severityRates);
      if (rank(severity) < minRank) continue;
      const { q: queues, d: deps, ...stats } = g;
      out.push({
        ...stats,
        trend: before > 0 ? trendOf(g.count, (g.previousCount * nb) / before) : 'steady',
        severity,
        queues: [...queues],
        dependencies: [...deps],
      });
    }
    out.sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen);
    return out.slice(0, limit);
  }

  /** Totals by category over the window and since start. */
  summary(options: { windowMs?: number } = {}): AnalyticsSummary {
    const q = parseOptions(zQuery.pick({ windowMs: true }), options, 'summary');
    const { from, to, windowMs } = this.range(q.windowMs);
    const byCategory = emptyByCategory();
    const n = ERROR_CATEGORIES.length;
    let total = 0;
    for (let s = 0; s < this.buckets; s++) {
      const stamp = this.catStamps[s]!;
      if (stamp < from || stamp > to) continue;
      for (let c = 0; c < n; c++) {
        const v = this.catCounts[s * n + c]!;
        byCategory[ERROR_CATEGORIES[c]!] += v;
        total += v;
      }
    }
    const all = emptyByCategory();
    let allTotal = 0;
    for (let c = 0; c < n; c++) {
      all[ERROR_CATEGORIES[c]!] = this.allTime[c]!;
      allTotal += this.allTime[c]!;
    }
    return {
      windowMs,
      total,
      byCategory,
      allTime: { total: allTotal, byCategory: all },
      patterns: this.entries.size,
    };
  }

  /** Forgets everything. */
  clear(): void {
    this.entries.clear();
    this.catCounts.fill(0);
    this.catStamps.fill(-1);
    this.allTime.fill(0);
  }

  /** The absolute buckets [from, to] of a window ending now; `nb` buckets wide. */
  private range(windowMs: number | undefined): { from: number; to: number; nb: number; windowMs: number } {
    const w = windowMs ?? this.defaultWindowMs;
    const nb = Math.min(this.buckets, Math.max(1, Math.ceil(w / this.bucketMs)));
    const to = Math.floor(this.clock.now() / this.bucketMs);
    return { from: to - nb + 1, to, nb, windowMs: nb * this.bucketMs };
  }

  private count(e: Entry, from: number, to: number): number {
    let sum = 0;
    for (let s = 0; s < this.buckets; s++) {
      const stamp = e.stamps[s]!;
      if (stamp >= from && stamp <= to) sum += e.counts[s]!;
    }
    return sum;
  }
}

/** rising / falling when the count moved by TREND_RATIO and at least TREND_MIN_DELTA. */
export function trendOf(count: number, previousCount: number): Trend {
  if (count - previousCount >= TREND_MIN_DELTA && count >= previousCount * TREND_RATIO) return 'rising';
  if (previousCount - count >= TREND_MIN_DELTA && previousCount >= count * TREND_RATIO) return 'falling';
  return 'steady';
}
