/**
 * Per-queue history for the charts: throughput from the change of the finished counts between two
 * samples, and p50 / p95 duration from the jobs that finished in between (reported by in-process
 * workers, or sampled from the store's latest completed jobs when no worker runs here).
 */
import type { StateCounts } from '../store/types.js';

export interface SeriesPoint {
  /** Epoch ms at the end of the step. */
  t: number;
  /** Jobs finished (completed + dead) per second over the step. */
  perSec: number;
  /** Jobs dead-lettered during the step. */
  dead: number;
  /** Jobs completed during the step. */
  completed: number;
  /** Duration percentiles of the jobs that finished in the step, in ms; null without data. */
  p50Ms: number | null;
  p95Ms: number | null;
}

interface QueueSeries {
  points: SeriesPoint[];
  last: { t: number; completed: number; dead: number } | null;
  durations: number[];
}

const MAX_DURATIONS = 2000;

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export class Series {
  private readonly byQueue = new Map<string, QueueSeries>();

  constructor(
    /** Length of one step, in ms. */
    readonly stepMs: number,
    /** Steps kept per queue. */
    readonly maxPoints: number,
  ) {}

  private entry(queue: string): QueueSeries {
    let s = this.byQueue.get(queue);
    if (!s) this.byQueue.set(queue, (s = { points: [], last: null, durations: [] }));
    return s;
  }

  /** A finished job's duration (from an in-process worker, or a sample of the store). */
  duration(queue: string, ms: number): void {
    const s = this.byQueue.get(queue);
    if (!s || !Number.isFinite(ms) || ms < 0) return;
    if (s.durations.length < MAX_DURATIONS) s.durations.push(ms);
    else s.durations[Math.floor(Math.random() * MAX_DURATIONS)] = ms;
  }

  /** True when a step has passed since the queue's last point: time to sample. */
  due(queue: string, now: number): boolean {
    const last = this.byQueue.get(queue)?.last;
    return !last || now - last.t >= this.stepMs;
  }

  /** True when no duration was reported since the last point (the caller may sample the store). */
  needsDurations(queue: string): boolean {
    return (this.byQueue.get(queue)?.durations.length ?? 0) === 0;
  }

  /** Closes a step with the queue's counts now. */
  sample(queue: string, counts: StateCounts, now: number): void {
    const s = this.entry(queue);
    const prev = s.last;
    s.last = { t: now, completed: counts.completed, dead: counts.dead };
    if (!prev) return;
    // Retention deletes finished jobs: a count that went down restarts from here.
    const completed = Math.max(0, counts.completed - prev.completed);
    const dead = Math.max(0, counts.dead - prev.dead);
    const seconds = Math.max(0.001, (now - prev.t) / 1000);
    const sorted = s.durations.sort((a, b) => a - b);
    s.points.push({
      t: now,
      perSec: Math.round(((completed + dead) / seconds) * 100) / 100,
      completed,
      dead,
      p50Ms: percentile(sorted, 0.5),
      p95Ms: percentile(sorted, 0.95),
    });
    s.durations = [];
    if (s.points.length > this.maxPoints) s.points.splice(0, s.points.length - this.maxPoints);
  }

  points(queue: string): SeriesPoint[] {
    return this.byQueue.get(queue)?.points.slice() ?? [];
  }

  /** Completed and dead jobs over the last `ms`, from the recorded steps. */
  outcomes(queue: string, ms: number, now: number): { completed: number; dead: number } {
    let completed = 0;
    let dead = 0;
    for (const p of this.byQueue.get(queue)?.points ?? []) {
      if (now - p.t > ms) continue;
      completed += p.completed;
      dead += p.dead;
    }
    return { completed, dead };
  }

  /** Forgets queues that no longer exist. */
  retain(queues: ReadonlySet<string>): void {
    for (const name of this.byQueue.keys()) if (!queues.has(name)) this.byQueue.delete(name);
  }
}
