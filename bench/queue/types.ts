/**
 * A system measured by `npm run bench -- queue`. Each file in bench/queue/ (other than this one and
 * the runner's helpers) exports `systems: QueueBenchSystem[]`; the runner measures every available
 * system in one run and writes one table.
 */
export interface QueueBenchSystem {
  /** 'bulwark', 'plainjob', 'bullmq', 'pg-boss', 'graphile-worker', … */
  system: string;
  /** The npm package measured ('bulwark' for this repo): its version and `engines.node` are read from it. */
  package: string;
  /** 'sqlite', 'postgres', 'redis' */
  store: string;
  /** The settings used, shown in the table and stored in every row (e.g. "WAL, batch 50"). */
  settings: string;
  /** False when a server it needs is missing (the row is skipped with a notice). */
  available?(): Promise<boolean>;
  /** A fresh, empty environment (new file, schema or key prefix). */
  setup(options: { instrumented: boolean }): Promise<BenchTarget>;
}

export interface BenchTarget {
  /** Adds `n` no-op jobs the fastest way the system documents (bulk where it has one). */
  enqueue(n: number): Promise<void>;
  /** Starts worker(s) with this concurrency, resolves when `n` jobs (already enqueued) are processed, then stops them. */
  process(n: number, concurrency: number): Promise<void>;
  /**
   * With an idle worker of this concurrency running, adds one job at a time and measures add → handler start,
   * in ms, `samples` times (waiting for each to start before the next).
   */
  pickup(samples: number, concurrency: number): Promise<number[]>;
  teardown(): Promise<void>;
}
