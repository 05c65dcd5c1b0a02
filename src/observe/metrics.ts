/**
 * Prometheus metrics on a registry bulwark owns. Job events add to per-queue cells resolved once
 * (no label lookups on the hot path); the registry reads them at scrape time. Everything read from
 * elsewhere (store counts, workers, breakers, caches, health) is read at scrape time by collect
 * callbacks, never by a timer.
 */
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Registry, collectDefaultMetrics, type RegistryContentType } from 'prom-client';
import { z } from 'zod';
import { ERROR_CATEGORIES, ValidationError } from '../kernel/errors.js';
import type { Disposer } from '../kernel/events.js';
import type { Queue } from '../core/queue.js';
import { parseOptions, zPositiveInt } from '../kernel/validate.js';
import type { Worker } from '../core/worker/worker.js';
import { JOB_STATES } from '../store/types.js';
import { CounterFamily, HistogramFamily, type CounterCell, type HistogramCell } from './families.js';
import {
  HEALTH_STATUSES,
  normalizeBreakerState,
  type BreakerProvider,
  type HealthMonitor,
} from './health.js';

export interface CacheCounters {
  hits: number;
  misses: number;
  /**
   * Entries pushed out to make room: a count, or removals by reason (bulwark's cache), of which the
   * `evict` reason is taken.
   */
  evictions: number | Readonly<Record<string, number>>;
}
/** Anything with a name and running hit / miss / eviction counts, e.g. `{ name: 'users', stats: () => cache.stats() }`. */
export interface CacheSource {
  readonly name: string;
  stats(): CacheCounters;
}
export type CacheProvider = () => Iterable<CacheSource>;

export interface MetricsOptions {
  /** Where the metrics live. A registry that already holds bulwark's metrics has them replaced. @default a new Registry */
  registry?: Registry<RegistryContentType>;
  /** Processor and system health, as gauges. */
  monitor?: Pick<HealthMonitor, 'snapshot'>;
  /** Breaker state per dependency. */
  breakers?: BreakerProvider;
  /** Cache hit, miss and eviction counts. */
  caches?: CacheProvider;
  /** Most distinct values of each label (queue, dependency, cache, processor); more become "other". @default 50 */
  maxLabelValues?: number;
  /** Also collect prom-client's Node.js process metrics. @default false */
  defaultMetrics?: boolean;
  /** Buckets of bulwark_job_duration_seconds, in seconds. */
  durationBuckets?: number[];
  /** Buckets of bulwark_job_wait_seconds, in seconds. */
  waitBuckets?: number[];
  /** The version in bulwark_build_info. @default bulwark's package version */
  version?: string;
}

/** Every metric bulwark defines. */
export const METRIC_NAMES = [
  'bulwark_jobs_enqueued_total',
  'bulwark_jobs_completed_total',
  'bulwark_jobs_failed_total',
  'bulwark_jobs_retried_total',
  'bulwark_jobs_snoozed_total',
  'bulwark_jobs_dead_lettered_total',
  'bulwark_jobs_stalled_total',
  'bulwark_job_duration_seconds',
  'bulwark_job_wait_seconds',
  'bulwark_jobs',
  'bulwark_workers',
  'bulwark_workers_busy',
  'bulwark_jobs_in_flight',
  'bulwark_breaker_state',
  'bulwark_cache_hits_total',
  'bulwark_cache_misses_total',
  'bulwark_cache_evictions_total',
  'bulwark_processor_health',
  'bulwark_processor_success_ratio',
  'bulwark_health_status',
  'bulwark_metrics_collect_errors_total',
  'bulwark_build_info',
] as const;

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const WAIT_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600];
const BREAKER_STATES = ['closed', 'open', 'half_open'];
export const OVERFLOW_LABEL = 'other';

const zBuckets = z.array(z.number().positive().finite()).min(1).max(100);
const zOptions = z
  .object({
    registry: z
      .custom<Registry<RegistryContentType>>((r) => r instanceof Registry, 'expected a prom-client Registry')
      .optional(),
    monitor: z
      .custom<Pick<HealthMonitor, 'snapshot'>>(
        (m) => typeof (m as HealthMonitor)?.snapshot === 'function',
        'expected a HealthMonitor',
      )
      .optional(),
    breakers: z.custom<BreakerProvider>((f) => typeof f === 'function', 'expected a function').optional(),
    caches: z.custom<CacheProvider>((f) => typeof f === 'function', 'expected a function').optional(),
    maxLabelValues: zPositiveInt.max(10_000).optional(),
    defaultMetrics: z.boolean().optional(),
    durationBuckets: zBuckets.optional(),
    waitBuckets: zBuckets.optional(),
    version: z.string().min(1).max(100).optional(),
  })
  .strict();

/** Keeps a label's distinct values bounded: the first `limit` pass, later ones become "other". */
export class LabelLimiter {
  private readonly seen = new Set<string>();
  constructor(private readonly limit: number) {}
  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.limit) return OVERFLOW_LABEL;
    this.seen.add(v);
    return v;
  }
}

/** The cells of one queue, resolved once so that an event costs no label lookups. */
interface QueueSeries {
  enqueued: CounterCell;
  completed: CounterCell;
  retried: CounterCell;
  snoozed: CounterCell;
  dead: CounterCell;
  stalled: CounterCell;
  duration: HistogramCell;
  wait: HistogramCell;
  failed: Map<string, CounterCell>;
}

type WatchedWorker = Pick<Worker, 'on' | 'queue' | 'busy' | 'isRunning'>;
type WatchedQueue = Pick<Queue, 'on' | 'name' | 'counts'>;

let cachedVersion: string | undefined;
function packageVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version?: unknown;
      };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}

const CATEGORIES = new Set<string>(ERROR_CATEGORIES);

/** bulwark's Prometheus metrics. Create one per process (or per registry) and watch workers and queues. */
export class BulwarkMetrics {
  readonly registry: Registry<RegistryContentType>;
  private readonly queueLabels: LabelLimiter;
  private readonly series = new Map<string, QueueSeries>();
  private readonly queues = new Map<WatchedQueue, { refs: number; off: Disposer }>();
  private readonly workers = new Map<WatchedWorker, number>();
  private readonly disposers = new Set<Disposer>();
  /** Hot-path families: events add to their cells, the registry reads them at scrape time. */
  private readonly c: {
    enqueued: CounterFamily;
    completed: CounterFamily;
    failed: CounterFamily;
    retried: CounterFamily;
    snoozed: CounterFamily;
    dead: CounterFamily;
    stalled: CounterFamily;
    duration: HistogramFamily;
    wait: HistogramFamily;
  };

  constructor(options: MetricsOptions = {}) {
    const o = parseOptions(zOptions, options, 'metrics options');
    const registry = (this.registry = o.registry ?? new Registry());
    // A reload (or a second instance) on the same registry replaces bulwark's metrics rather than
    // failing with "already registered".
    for (const name of METRIC_NAMES) if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
    const limit = o.maxLabelValues ?? 50;
    const queueLabels = (this.queueLabels = new LabelLimiter(limit));
    const registers = [registry];

    // Async collects put their work here so the error counter, registered last, can wait for it.
    const pending = new Set<Promise<void>>();
    const collectErrors = new Counter({
      name: 'bulwark_metrics_collect_errors_total',
      help: 'Sources that failed to answer during a scrape (their series are left out of that scrape)',
      labelNames: ['source'],
      registers: [],
      async collect() {
        await Promise.allSettled([...pending]);
      },
    });
    const failedSource = (source: string): void => collectErrors.inc({ source });

    const counterFamily = (name: string, help: string): CounterFamily => {
      const f = new CounterFamily(name, help);
      f.register(registry);
      return f;
    };
    const histogramFamily = (name: string, help: string, buckets: readonly number[]): HistogramFamily => {
      const f = new HistogramFamily(
        name,
        help,
        [...new Set(buckets)].sort((a, b) => a - b),
      );
      f.register(registry);
      return f;
    };
    this.c = {
      enqueued: counterFamily('bulwark_jobs_enqueued_total', 'Jobs added through watched queues'),
      completed: counterFamily('bulwark_jobs_completed_total', 'Jobs completed'),
      failed: counterFamily(
        'bulwark_jobs_failed_total',
        'Failed attempts by error category (whatever the outcome: retry, snooze or dead-letter)',
      ),
      retried: counterFamily('bulwark_jobs_retried_total', 'Failed attempts scheduled for a retry'),
      snoozed: counterFamily(
        'bulwark_jobs_snoozed_total',
        'Jobs put back without using an attempt (rate limit, open breaker, auth pause)',
      ),
      dead: counterFamily('bulwark_jobs_dead_lettered_total', 'Jobs moved to the dead-letter queue'),
      stalled: counterFamily(
        'bulwark_jobs_stalled_total',
        'Jobs recovered from expired leases (their worker died or hung)',
      ),
      duration: histogramFamily(
        'bulwark_job_duration_seconds',
        'Time an attempt ran, from claim to outcome',
        o.durationBuckets ?? DURATION_BUCKETS,
      ),
      wait: histogramFamily(
        'bulwark_job_wait_seconds',
        'Time a job waited from being due (run-at, or creation) to being claimed',
        o.waitBuckets ?? WAIT_BUCKETS,
      ),
    };

    const queues = this.queues;
    new Gauge({
      name: 'bulwark_jobs',
      help: 'Jobs by state per queue, read from the store at scrape time',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        // One read per queue name, even when several Queue objects of that name are watched.
        const byName = new Map<string, WatchedQueue>();
        for (const q of queues.keys()) if (!byName.has(q.name)) byName.set(q.name, q);
        const work = Promise.all(
          [...byName.values()].map(async (q) => {
            try {
              const counts = await q.counts();
              const queue = queueLabels.value(q.name);
              for (const state of JOB_STATES) this.inc({ queue, state }, counts[state]);
            } catch {
              failedSource('queue_counts');
            }
          }),
        ).then(() => {});
        pending.add(work);
        await work;
        pending.delete(work);
      },
    });

    const workers = this.workers;
    const workerGauge = (name: string, help: string, value: (w: WatchedWorker) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['queue'],
        registers,
        collect() {
          this.reset();
          for (const w of workers.keys()) this.inc({ queue: queueLabels.value(w.queue.name) }, value(w));
        },
      });
    };
    workerGauge('bulwark_workers', 'Watched workers that are running (not stopping)', (w) =>
      w.isRunning ? 1 : 0,
    );
    workerGauge('bulwark_workers_busy', 'Watched workers with at least one job in flight', (w) =>
      w.busy > 0 ? 1 : 0,
    );
    workerGauge(
      'bulwark_jobs_in_flight',
      'Jobs claimed by watched workers and not yet settled',
      (w) => w.busy,
    );

    const breakerLabels = new LabelLimiter(limit);
    const breakers = o.breakers;
    new Gauge({
      name: 'bulwark_breaker_state',
      help: 'Circuit breaker state per dependency: 1 for the current state, 0 for the others',
      labelNames: ['dependency', 'state'],
      registers,
      collect() {
        this.reset();
        if (!breakers) return;
        try {
          for (const b of breakers()) {
            const dependency = breakerLabels.value(String(b.name));
            const current = normalizeBreakerState(b.state);
            for (const state of BREAKER_STATES) this.set({ dependency, state }, state === current ? 1 : 0);
            if (!BREAKER_STATES.includes(current)) this.set({ dependency, state: current }, 1);
          }
        } catch {
          failedSource('breakers');
        }
      },
    });

    const caches = o.caches;
    const cacheLabels = new LabelLimiter(limit);
    const cacheCounter = (name: string, help: string, field: keyof CacheCounters): void => {
      new Counter({
        name,
        help,
        labelNames: ['cache'],
        registers,
        collect() {
          // The cache keeps the running count; the counter mirrors it at each scrape.
          this.reset();
          if (!caches) return;
          try {
            for (const c of caches()) {
              const raw = c.stats()[field];
              const v = typeof raw === 'object' && raw !== null ? Number(raw.evict ?? 0) : Number(raw);
              if (Number.isFinite(v) && v >= 0) this.inc({ cache: cacheLabels.value(String(c.name)) }, v);
            }
          } catch {
            failedSource(`cache_${field}`);
          }
        },
      });
    };
    cacheCounter('bulwark_cache_hits_total', 'Cache hits', 'hits');
    cacheCounter('bulwark_cache_misses_total', 'Cache misses', 'misses');
    cacheCounter('bulwark_cache_evictions_total', 'Cache entries evicted to make room', 'evictions');

    const monitor = o.monitor;
    const processorLabels = new LabelLimiter(limit);
    new Gauge({
      name: 'bulwark_processor_health',
      help: 'Processor health: 1 for the current status, 0 for the others',
      labelNames: ['processor', 'status'],
      registers,
      collect() {
        this.reset();
        if (!monitor) return;
        for (const p of monitor.snapshot().processors) {
          const processor = processorLabels.value(p.name);
          for (const status of HEALTH_STATUSES) this.set({ processor, status }, status === p.status ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'bulwark_processor_success_ratio',
      help: "Success ratio over the processor's sliding window (absent without calls)",
      labelNames: ['processor'],
      registers,
      collect() {
        this.reset();
        if (!monitor) return;
        for (const p of monitor.snapshot().processors) {
          if (p.window.successRate !== null)
            this.set({ processor: processorLabels.value(p.name) }, p.window.successRate);
        }
      },
    });
    new Gauge({
      name: 'bulwark_health_status',
      help: 'System health: 1 for the current status, 0 for the others',
      labelNames: ['status'],
      registers,
      collect() {
        this.reset();
        if (!monitor) return;
        const current = monitor.snapshot().status;
        for (const status of HEALTH_STATUSES) this.set({ status }, status === current ? 1 : 0);
      },
    });

    new Gauge({
      name: 'bulwark_build_info',
      help: 'bulwark version and Node.js version; always 1',
      labelNames: ['version', 'node_version'],
      registers,
    }).set({ version: o.version ?? packageVersion(), node_version: process.version }, 1);

    registry.registerMetric(collectErrors);

    if (o.defaultMetrics && !registry.getSingleMetric('process_cpu_user_seconds_total')) {
      collectDefaultMetrics({ register: registry });
    }
  }

  /** The content type of `metrics()`, for the HTTP response. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  private queueSeries(name: string): QueueSeries {
    const queue = this.queueLabels.value(name);
    let s = this.series.get(queue);
    if (s) return s;
    const c = this.c;
    const labels = { queue };
    s = {
      enqueued: c.enqueued.labels(labels),
      completed: c.completed.labels(labels),
      retried: c.retried.labels(labels),
      snoozed: c.snoozed.labels(labels),
      dead: c.dead.labels(labels),
      stalled: c.stalled.labels(labels),
      duration: c.duration.labels(labels),
      wait: c.wait.labels(labels),
      failed: new Map(),
    };
    this.series.set(queue, s);
    return s;
  }

  private failedSeries(s: QueueSeries, queue: string, category: string): CounterCell {
    let f = s.failed.get(category);
    if (!f) {
      f = this.c.failed.labels({
        queue: this.queueLabels.value(queue),
        category: CATEGORIES.has(category) ? category : 'unknown',
      });
      s.failed.set(category, f);
    }
    return f;
  }

  /**
   * Counts a worker's job outcomes, attempt durations and wait times, and shows it in the worker
   * gauges; also watches its queue (enqueues and counts by state). Returns a disposer.
   */
  watch(worker: WatchedWorker): Disposer {
    if (typeof worker !== 'object' || worker === null || typeof worker.on !== 'function' || !worker.queue) {
      throw new ValidationError('[bulwark] [metrics] watch expects a Worker', { path: 'worker' });
    }
    const name = worker.queue.name;
    const s = this.queueSeries(name);
    const clock = worker.queue.clock;
    const seconds = (startedAt: number | null): number =>
      startedAt === null ? 0 : Math.max(0, clock.now() - startedAt) / 1000;
    const failed = (category: string): void => this.failedSeries(s, name, category).inc();
    const offs = [
      worker.on('job:active', ({ job }) => {
        if (job.startedAt !== null)
          s.wait.observe(Math.max(0, job.startedAt - Math.max(job.runAt, job.createdAt)) / 1000);
      }),
      worker.on('job:completed', (e) => {
        s.completed.inc();
        s.duration.observe(e.durationMs / 1000);
      }),
      worker.on('job:retrying', (e) => {
        failed(e.category);
        s.retried.inc();
        s.duration.observe(seconds(e.job.startedAt));
      }),
      worker.on('job:snoozed', (e) => {
        failed(e.category);
        s.snoozed.inc();
        s.duration.observe(seconds(e.job.startedAt));
      }),
      worker.on('job:dead', (e) => {
        failed(e.category);
        s.dead.inc();
        s.duration.observe(seconds(e.job.startedAt));
      }),
      worker.on('job:stalled', (e) => {
        const n = e.requeued.length + e.dead.length;
        if (n > 0) s.stalled.inc(n);
      }),
      this.watchQueue(worker.queue),
    ];
    this.workers.set(worker, (this.workers.get(worker) ?? 0) + 1);
    let done = false;
    const dispose = (): void => {
      if (done) return;
      done = true;
      this.disposers.delete(dispose);
      for (const off of offs) off();
      const refs = (this.workers.get(worker) ?? 1) - 1;
      if (refs <= 0) this.workers.delete(worker);
      else this.workers.set(worker, refs);
    };
    this.disposers.add(dispose);
    return dispose;
  }

  /** Counts jobs added through this queue object and reports its jobs by state at each scrape. */
  watchQueue(queue: WatchedQueue): Disposer {
    if (typeof queue !== 'object' || queue === null || typeof queue.on !== 'function') {
      throw new ValidationError('[bulwark] [metrics] watchQueue expects a Queue', { path: 'queue' });
    }
    const entry = this.queues.get(queue);
    if (entry) {
      entry.refs++;
    } else {
      const s = this.queueSeries(queue.name);
      const off = queue.on('job:added', (e) => s.enqueued.inc(e.ids.length));
      this.queues.set(queue, { refs: 1, off });
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const e = this.queues.get(queue);
      if (!e) return;
      if (--e.refs === 0) {
        e.off();
        this.queues.delete(queue);
      }
    };
  }

  /** Stops watching every worker and queue and removes bulwark's metrics from the registry. */
  close(): void {
    for (const d of [...this.disposers]) d();
    for (const [, e] of this.queues) e.off();
    this.queues.clear();
    this.workers.clear();
    for (const name of METRIC_NAMES) {
      if (this.registry.getSingleMetric(name)) this.registry.removeSingleMetric(name);
    }
  }
}
