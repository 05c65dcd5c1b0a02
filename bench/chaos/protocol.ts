/** What the harness and its worker processes share: the worker's configuration, the payload, the clock. */
import type { StoreSpec } from './stores.js';

export interface WorkerConfig {
  spec: StoreSpec;
  queue: string;
  /** The process's name in the run (its log is `<name>.log`). */
  name: string;
  log: string;
  concurrency: number;
  leaseMs: number;
  heartbeatMs: number;
  reapIntervalMs: number;
  pollIntervalMs: number;
  /** SQLite: limit the file to this many pages on this process's connection (disk_full fallback). */
  maxPageCount?: number;
}

export interface ChaosPayload {
  /** How long the handler runs, ignoring its signal. */
  ms: number;
  /** Throw a TransientError on attempts 1..fail. */
  fail?: number;
  /** Report progress this many times (a store write each) while running. */
  progress?: number;
  /** On attempts 1..slowAttempts the handler runs `slowMs` instead (past a timeout, say). */
  slowMs?: number;
  slowAttempts?: number;
  /** Filler, to make jobs take room (disk_full). */
  pad?: string;
}

/** ms since the epoch with sub-ms precision, comparable across the processes of one machine. */
export const now = (): number => performance.timeOrigin + performance.now();
