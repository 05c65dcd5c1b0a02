/**
 * The cache workload corpus: every workload the default policy is measured on, each at three cache
 * sizes. Synthetic workloads are built by the seeded generators of ./generators.ts; the real traces
 * come from ../shared/traces (skipped with a notice when absent).
 */
import { loop, phaseMix, shiftingZipf, slidingWorkingSet, zipfWithScans, type Stream } from './generators.js';
import { loadTrace } from './workloads.js';

export interface Workload {
  name: string;
  /** What it stands for, for the report. */
  kind: 'loop' | 'scan' | 'shift' | 'mixed' | 'recency' | 'frequency' | 'trace';
  sizes: readonly number[];
  /**
   * The stream for one cache size. Loops are defined relative to the cache, so their stream depends
   * on the size; every other workload returns the same stream for every size.
   */
  stream(size: number): Stream | undefined | Promise<Stream | undefined>;
}

const LENGTH = 1_000_000;
const SIZES = [1_000, 10_000, 50_000] as const;

/** A stream built once and shared by every size of its workload. */
function once(make: () => Stream | undefined | Promise<Stream | undefined>): Workload['stream'] {
  let made: Promise<Stream | undefined> | undefined;
  return () => (made ??= Promise.resolve(make()));
}

function loopWorkload(factor: number): Workload {
  return {
    name: `loop_${factor}x`,
    kind: 'loop',
    sizes: [500, 5_000, 50_000],
    stream: (size) => loop(Math.round(size * factor), LENGTH),
  };
}

function scanWorkload(skew: number, scans: 'short' | 'long', seed: number): Workload {
  return {
    name: `zipf${skew}_scans_${scans}`,
    kind: 'scan',
    sizes: SIZES,
    stream: once(() =>
      zipfWithScans({
        hotKeys: 100_000,
        skew,
        hotRun: scans === 'short' ? 20_000 : 100_000,
        scanLengths: scans === 'short' ? [500, 2_000, 5_000] : [20_000, 60_000, 150_000],
        length: LENGTH,
        seed,
      }),
    ),
  };
}

function traceWorkload(name: string, sizes: readonly number[]): Workload {
  return {
    name,
    kind: 'trace',
    sizes,
    stream: once(async () => {
      const keys = await loadTrace(name);
      if (keys === undefined) return undefined;
      let universe = 0;
      for (let i = 0; i < keys.length; i++) if (keys[i]! >= universe) universe = keys[i]! + 1;
      return { keys, universe };
    }),
  };
}

export const CORPUS: readonly Workload[] = [
  loopWorkload(0.5),
  loopWorkload(0.95),
  loopWorkload(1.05),
  loopWorkload(2),
  scanWorkload(0.7, 'short', 11),
  scanWorkload(0.7, 'long', 12),
  scanWorkload(0.9, 'short', 13),
  scanWorkload(0.9, 'long', 14),
  scanWorkload(1.1, 'short', 15),
  scanWorkload(1.1, 'long', 16),
  {
    name: 'zipf0.9_shift',
    kind: 'shift',
    sizes: SIZES,
    stream: once(() =>
      shiftingZipf({ keys: 100_000, skew: 0.9, period: 100_000, mode: 'abrupt', length: LENGTH, seed: 21 }),
    ),
  },
  {
    name: 'zipf0.9_drift',
    kind: 'shift',
    sizes: SIZES,
    stream: once(() =>
      shiftingZipf({ keys: 100_000, skew: 0.9, period: 20, mode: 'drift', length: LENGTH, seed: 22 }),
    ),
  },
  {
    name: 'phases',
    kind: 'mixed',
    sizes: SIZES,
    stream: once(() =>
      phaseMix({
        hotKeys: 50_000,
        skew: 1,
        phase: 100_000,
        phases: 10,
        recency: { rate: 2, reach: 2_000, tail: 1.5 },
        seed: 31,
      }),
    ),
  },
  {
    name: 'recency',
    kind: 'recency',
    sizes: SIZES,
    stream: once(() => slidingWorkingSet({ rate: 2, reach: 2_000, tail: 1.2, length: LENGTH, seed: 41 })),
  },
  {
    name: 'zipf0.99',
    kind: 'frequency',
    sizes: [1_000, 10_000, 100_000],
    stream: once(() =>
      shiftingZipf({
        keys: 1_000_000,
        skew: 0.99,
        period: Infinity,
        mode: 'abrupt',
        length: 2 * LENGTH,
        seed: 42,
      }),
    ),
  },
  traceWorkload('oltp', [1_000, 2_000, 5_000]),
  traceWorkload('scarab', [25_000, 50_000, 100_000]),
  traceWorkload('glimpse', [250, 500, 1_000]),
];
