/** Shared helpers for benchmark suites: timing, result files and markdown tables. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Writes bench/results/<suite>.json and <suite>.md; prints the table. */
export function writeResults(suite: string, json: object, markdown: string): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${suite}.json`), JSON.stringify({ suite, ...json }, null, 2) + '\n');
  writeFileSync(join(resultsDir, `${suite}.md`), markdown + '\n');
  console.log(markdown);
  console.log(`\nwrote bench/results/${suite}.json and bench/results/${suite}.md`);
}

/** A markdown table from rows of plain values; columns in the order of the first row's keys. */
export function markdownTable(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols = columns ?? Object.keys(rows[0]!);
  const fmt = (v: unknown): string =>
    typeof v === 'number'
      ? Number.isInteger(v)
        ? v.toLocaleString('en-US')
        : v.toFixed(v < 10 ? 3 : 1)
      : String(v ?? '');
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

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
