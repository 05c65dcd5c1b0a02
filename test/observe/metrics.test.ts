/** Prometheus metrics: a real scrape over HTTP, parsed and checked; scrape-time gauges; bounded labels. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  DependencyError,
  PermanentError,
  Queue,
  RateLimitError,
  TransientError,
  ValidationError,
  Worker,
  sqliteStore,
} from '../../src/index.js';
import { HealthMonitor, type BreakerSource } from '../../src/observe/health.js';
import { BulwarkMetrics, METRIC_NAMES } from '../../src/observe/metrics.js';
import { startHealthServer } from '../../src/server/index.js';
import { waitFor } from '../helpers/wait.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format: the declared metric types and every sample. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

describe('metrics', () => {
  it('a real scrape of /metrics has every bulwark metric with the right values', async () => {
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue<string>('mail', { store });
    const breakers: BreakerSource[] = [
      { name: 'smtp', state: 'open' },
      { name: 'dns', state: 'half-open' },
    ];
    let hits = 7;
    const caches = [
      { name: 'templates', stats: () => ({ hits, misses: 3, evictions: 1 }) },
      // bulwark's cache reports removals by reason: capacity evictions are `evict`.
      { name: 'users', stats: () => ({ hits: 1, misses: 2, evictions: { evict: 4, expire: 9, delete: 1 } }) },
    ];
    const monitor = new HealthMonitor({ breakers: () => breakers });
    const metrics = new BulwarkMetrics({
      monitor,
      breakers: () => breakers,
      caches: () => caches,
      version: '9.9.9',
    });
    const fast = { delayMs: 1, jitter: 'none' as const };
    const w = new Worker(
      q,
      (ctx) => {
        switch (ctx.payload) {
          case 'flaky':
            if (ctx.attempt === 1) throw new TransientError('try again');
            return;
          case 'bad':
            throw new PermanentError('no such mailbox');
          case 'slow-down':
            if (ctx.job.snoozes === 0) throw new RateLimitError('429', { retryAfterMs: 1 });
            return;
          case 'dep':
            if (ctx.job.snoozes === 0) throw new DependencyError('smtp circuit open');
            return;
        }
      },
      { pollIntervalMs: 20, concurrency: 4, dependencySnoozeMs: 1 },
    );
    metrics.watch(w);
    monitor.watch(w);
    await using server = await startHealthServer({ port: 0, metrics, monitor });
    await q.addBulk([
      { payload: 'ok' },
      { payload: 'ok' },
      { payload: 'flaky', options: { backoff: fast } },
      { payload: 'bad' },
      { payload: 'slow-down' },
      { payload: 'dep' },
    ]);
    await waitFor(async () => {
      const c = await q.counts();
      return c.completed === 5 && c.dead === 1;
    }, 'all settled');
    await w.idle();
    await q.add('later', { delayMs: 60_000 });

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const { types, samples } = parseExposition(await res.text());
    for (const name of [
      'bulwark_jobs_enqueued_total',
      'bulwark_jobs_completed_total',
      'bulwark_jobs_failed_total',
      'bulwark_jobs_retried_total',
      'bulwark_jobs_snoozed_total',
      'bulwark_jobs_dead_lettered_total',
      'bulwark_job_duration_seconds',
      'bulwark_job_wait_seconds',
      'bulwark_jobs',
      'bulwark_workers_busy',
      'bulwark_breaker_state',
      'bulwark_cache_hits_total',
      'bulwark_cache_misses_total',
      'bulwark_cache_evictions_total',
      'bulwark_processor_health',
      'bulwark_build_info',
    ]) {
      expect(types.has(name), name).toBe(true);
    }
    for (const name of METRIC_NAMES) expect(types.has(name), name).toBe(true);
    expect(types.get('bulwark_jobs_completed_total')).toBe('counter');
    expect(types.get('bulwark_job_duration_seconds')).toBe('histogram');
    expect(types.get('bulwark_jobs')).toBe('gauge');

    const mail = { queue: 'mail' };
    expect(value(samples, 'bulwark_jobs_enqueued_total', mail)).toBe(7);
    expect(value(samples, 'bulwark_jobs_completed_total', mail)).toBe(5);
    expect(value(samples, 'bulwark_jobs_failed_total', { queue: 'mail', category: 'transient' })).toBe(1);
    expect(value(samples, 'bulwark_jobs_failed_total', { queue: 'mail', category: 'permanent' })).toBe(1);
    expect(value(samples, 'bulwark_jobs_failed_total', { queue: 'mail', category: 'rate_limit' })).toBe(1);
    expect(value(samples, 'bulwark_jobs_failed_total', { queue: 'mail', category: 'dependency' })).toBe(1);
    expect(value(samples, 'bulwark_jobs_retried_total', mail)).toBe(1);
    expect(value(samples, 'bulwark_jobs_snoozed_total', mail)).toBe(2);
    expect(value(samples, 'bulwark_jobs_dead_lettered_total', mail)).toBe(1);
    // 6 jobs, 1 retry and 2 snoozes: 9 attempts started, 9 ended.
    expect(value(samples, 'bulwark_job_duration_seconds_count', mail)).toBe(9);
    expect(value(samples, 'bulwark_job_wait_seconds_count', mail)).toBe(9);
    expect(value(samples, 'bulwark_job_duration_seconds_bucket', { queue: 'mail', le: '+Inf' })).toBe(9);
    expect(value(samples, 'bulwark_jobs', { queue: 'mail', state: 'completed' })).toBe(5);
    expect(value(samples, 'bulwark_jobs', { queue: 'mail', state: 'dead' })).toBe(1);
    expect(value(samples, 'bulwark_jobs', { queue: 'mail', state: 'delayed' })).toBe(1);
    expect(value(samples, 'bulwark_jobs', { queue: 'mail', state: 'active' })).toBe(0);
    expect(value(samples, 'bulwark_workers', mail)).toBe(1);
    expect(value(samples, 'bulwark_workers_busy', mail)).toBe(0);
    expect(value(samples, 'bulwark_jobs_in_flight', mail)).toBe(0);
    expect(value(samples, 'bulwark_breaker_state', { dependency: 'smtp', state: 'open' })).toBe(1);
    expect(value(samples, 'bulwark_breaker_state', { dependency: 'smtp', state: 'closed' })).toBe(0);
    expect(value(samples, 'bulwark_breaker_state', { dependency: 'dns', state: 'half_open' })).toBe(1);
    expect(value(samples, 'bulwark_cache_hits_total', { cache: 'templates' })).toBe(7);
    expect(value(samples, 'bulwark_cache_misses_total', { cache: 'templates' })).toBe(3);
    expect(value(samples, 'bulwark_cache_evictions_total', { cache: 'templates' })).toBe(1);
    expect(value(samples, 'bulwark_cache_evictions_total', { cache: 'users' })).toBe(4);
    // 5 of 7 judged attempts succeeded (snoozes are not judged): 71% → UNHEALTHY.
    expect(value(samples, 'bulwark_processor_health', { processor: 'mail', status: 'UNHEALTHY' })).toBe(1);
    expect(value(samples, 'bulwark_processor_health', { processor: 'mail', status: 'HEALTHY' })).toBe(0);
    expect(value(samples, 'bulwark_processor_success_ratio', { processor: 'mail' })).toBeCloseTo(5 / 7, 9);
    expect(value(samples, 'bulwark_health_status', { status: 'UNHEALTHY' })).toBe(1);
    expect(value(samples, 'bulwark_build_info', { version: '9.9.9' })).toBe(1);

    // Gauges are read at scrape time: the next scrape sees what changed since, without any timer.
    hits = 20;
    breakers[0] = { name: 'smtp', state: 'closed' };
    await q.add('queued', { delayMs: 60_000 });
    const again = parseExposition(await (await fetch(`${server.url}/metrics`)).text()).samples;
    expect(value(again, 'bulwark_cache_hits_total', { cache: 'templates' })).toBe(20);
    expect(value(again, 'bulwark_breaker_state', { dependency: 'smtp', state: 'closed' })).toBe(1);
    expect(value(again, 'bulwark_jobs', { queue: 'mail', state: 'delayed' })).toBe(2);

    await w.close();
    const closed = parseExposition(await metrics.metrics()).samples;
    expect(value(closed, 'bulwark_workers', mail)).toBe(0);
    await store.close();
  });

  it('never fails with "already registered": two instances, or a reload on the same registry', async () => {
    expect(() => [new BulwarkMetrics(), new BulwarkMetrics()]).not.toThrow();
    const registry = new Registry();
    const a = new BulwarkMetrics({ registry, defaultMetrics: true });
    const b = new BulwarkMetrics({ registry, defaultMetrics: true });
    expect(a.registry).toBe(registry);
    const { types } = parseExposition(await b.metrics());
    expect(types.has('bulwark_jobs_completed_total')).toBe(true);
    expect(types.has('process_cpu_user_seconds_total')).toBe(true);
    b.close();
    expect(registry.getSingleMetric('bulwark_jobs_completed_total')).toBeUndefined();
  });

  it('bounds label cardinality: queues past the limit become "other"', async () => {
    const store = sqliteStore({ path: ':memory:' });
    const metrics = new BulwarkMetrics({ maxLabelValues: 2 });
    const queues = ['a', 'b', 'c', 'd'].map((n) => new Queue(n, { store }));
    for (const q of queues) metrics.watchQueue(q);
    for (const q of queues) await q.add(1);
    const { samples } = parseExposition(await metrics.metrics());
    const labels = new Set(
      samples.filter((s) => s.name === 'bulwark_jobs_enqueued_total').map((s) => s.labels.queue),
    );
    expect(labels).toEqual(new Set(['a', 'b', 'other']));
    expect(value(samples, 'bulwark_jobs_enqueued_total', { queue: 'other' })).toBe(2);
    expect(value(samples, 'bulwark_jobs', { queue: 'other', state: 'waiting' })).toBe(2);
    await store.close();
  });

  it('leaves out a source that fails and counts the failure, instead of failing the scrape', async () => {
    const metrics = new BulwarkMetrics({
      breakers: () => {
        throw new Error('gone');
      },
    });
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue('gone', { store });
    await q.add(1);
    metrics.watchQueue(q);
    await store.close();
    const { samples } = parseExposition(await metrics.metrics());
    expect(value(samples, 'bulwark_metrics_collect_errors_total', { source: 'breakers' })).toBe(1);
    expect(value(samples, 'bulwark_metrics_collect_errors_total', { source: 'queue_counts' })).toBe(1);
    expect(value(samples, 'bulwark_jobs', { queue: 'gone' })).toBeUndefined();
  });

  it('rejects bad options with a ValidationError', () => {
    expect(() => new BulwarkMetrics({ maxLabelValues: 0 })).toThrow(ValidationError);
    expect(() => new BulwarkMetrics({ durationBuckets: [-1] })).toThrow(ValidationError);
    expect(() => new BulwarkMetrics({ registry: {} as never })).toThrow(ValidationError);
    expect(() => new BulwarkMetrics({ extra: true } as never)).toThrow(ValidationError);
    expect(() => new BulwarkMetrics().watch({} as never)).toThrow(ValidationError);
  });
});
