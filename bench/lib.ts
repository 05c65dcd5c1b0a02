/** Shared helpers for benchmark suites: timing, result files and markdown tables. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GCProfiler, getHeapStatistics } from 'node:v8';

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Writes bench/results/<suite>.json (stamped with the runtime's version) and <suite>.md; prints the table. */
export function writeResults(suite: string, json: object, markdown: string): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, `${suite}.json`),
    JSON.stringify({ suite, node: process.version, ...json }, null, 2) + '\n',
  );
  writeFileSync(join(resultsDir, `${suite}.md`), markdown + '\n');
  // The repo's formatter, so the committed results pass a format check as they are written.
  spawnSync(
    process.execPath,
    [
      join(resultsDir, '..', '..', 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
      '--write',
      '--log-level=warn',
      join(resultsDir, `${suite}.json`),
      join(resultsDir, `${suite}.md`),
    ],
    { stdio: 'inherit' },
  );
  console.log(markdown);
  console.log(`\nwrote bench/results/${suite}.json and bench/results/${suite}.md`);
}

/** A number as the tables show it: integers with separators, others to 3 or 1 decimals. */
export const fmtNum = (v: number): string =>
  Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(v < 10 ? 3 : 1);

/** A markdown table from rows of plain values; columns in the order of the first row's keys. */
export function markdownTable(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols = columns ?? Object.keys(rows[0]!);
  const fmt = (v: unknown): string => (typeof v === 'number' ? fmtNum(v) : String(v ?? ''));
  const lines = [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${cols.map((c) => fmt(r[c])).join(' | ')} |`);
  return lines.join('\n');
}

/** Runs `fn` `n` times per sample, returns the median ns per call over `samples` samples. */
export async function nsPerCall(fn: () => unknown, n: number, samples = 7): Promise<number> {
  const results: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const r = fn();
      if (r instanceof Promise) await r;
    }
    results.push(Number(process.hrtime.bigint() - t0) / n);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)]!;
}

/**
 * Bytes allocated on the JS heap per call of `fn` (awaited when it returns a promise), as Polly and
 * BenchmarkDotNet report "Allocated": the heap's growth over `n` calls plus what every GC during them
 * freed (from v8's GC profiler), divided by `n`. It includes the loop's own cost of awaiting, which
 * the bare `await fn()` case measures on its own. Start from a collected heap (`--expose-gc`).
 */
export async function bytesPerCall(fn: () => unknown, n: number): Promise<number> {
  global.gc?.();
  const profiler = new GCProfiler();
  profiler.start();
  const before = getHeapStatistics().used_heap_size;
  for (let i = 0; i < n; i++) {
    const r = fn();
    if (r instanceof Promise) await r;
  }
  const after = getHeapStatistics().used_heap_size;
  const freed = profiler
    .stop()
    .statistics.reduce(
      (sum, gc) => sum + gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize,
      0,
    );
  return Math.max(0, after - before + freed) / n;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** One goal of an issue, judged from one run's figures. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * A ratio goal: `ours / theirs` at least `min` (or at most `max`). A figure that was not measured
 * fails the check and says why, so a skipped peer never passes a goal.
 */
export function ratioCheck(
  name: string,
  ours: { label: string; value: number | undefined },
  theirs: { label: string; value: number | undefined },
  goal: { min: number } | { max: number },
  missing = 'not measured in this run',
): Check {
  const target = 'min' in goal ? `≥ ${goal.min}×` : `≤ ${goal.max}×`;
  if (ours.value === undefined || theirs.value === undefined || theirs.value === 0) {
    return { name, ok: false, detail: `${missing} (goal ${target})` };
  }
  const ratio = ours.value / theirs.value;
  const ok = 'min' in goal ? ratio >= goal.min : ratio <= goal.max;
  return {
    name,
    ok,
    detail: `${ours.label} ${fmtNum(ours.value)} / ${theirs.label} ${fmtNum(theirs.value)} = ${ratio.toFixed(3)}× (goal ${target})`,
  };
}

/** A bound on one figure: `value` at most `max` (or at least `min`). */
export function boundCheck(
  name: string,
  label: string,
  value: number | undefined,
  goal: { min: number } | { max: number },
  unit: string,
): Check {
  const target = 'min' in goal ? `≥ ${goal.min} ${unit}` : `≤ ${goal.max} ${unit}`;
  if (value === undefined || Number.isNaN(value)) {
    return { name, ok: false, detail: `not measured in this run (goal ${target})` };
  }
  const ok = 'min' in goal ? value >= goal.min : value <= goal.max;
  return { name, ok, detail: `${label} ${fmtNum(value)} ${unit} (goal ${target})` };
}

/** The checks as markdown lines. */
export const checkLines = (checks: readonly Check[]): string[] =>
  checks.map((c) => `- ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);

/** Median of the values (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
