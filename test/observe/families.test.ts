/** The hot-path metric families expose exactly what prom-client's own Counter and Histogram would. */
import { Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterFamily, HistogramFamily } from '../../src/observe/families.js';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];
const SAMPLES = [0, 0.0005, 0.001, 0.0011, 0.05, 0.1, 0.1000001, 3, 10, 11, 500];

function both(contentType?: typeof Registry.OPENMETRICS_CONTENT_TYPE) {
  const ours = new Registry<RegistryContentType>();
  const theirs = new Registry<RegistryContentType>();
  if (contentType) {
    ours.setContentType(contentType);
    theirs.setContentType(contentType);
  }
  const oc = new CounterFamily('x_jobs_total', 'Jobs');
  oc.register(ours);
  const oh = new HistogramFamily('x_seconds', 'Time', BUCKETS);
  oh.register(ours);
  const tc = new Counter({ name: 'x_jobs_total', help: 'Jobs', labelNames: ['queue'], registers: [theirs] });
  const th = new Histogram({
    name: 'x_seconds',
    help: 'Time',
    labelNames: ['queue'],
    buckets: BUCKETS,
    registers: [theirs],
  });
  for (const queue of ['a', 'b"\\\n']) {
    const c = oc.labels({ queue });
    const h = oh.labels({ queue });
    for (const v of SAMPLES) {
      h.observe(v);
      th.observe({ queue }, v);
    }
    c.inc();
    c.inc(4);
    tc.inc({ queue });
    tc.inc({ queue }, 4);
  }
  return { ours, theirs, oc, oh };
}

describe('metric families', () => {
  it('render the same Prometheus text as prom-client, label escaping included', async () => {
    const { ours, theirs } = both();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('render the same OpenMetrics text as prom-client', async () => {
    const { ours, theirs } = both(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('give the same JSON, and reset in place so held cells keep counting', async () => {
    const { ours, theirs, oh } = both();
    // prom-client adds `exemplar: null` to bucket values; there are no exemplars either way.
    const withoutExemplars = (json: unknown) =>
      JSON.parse(JSON.stringify(json, (k, v: unknown) => (k === 'exemplar' ? undefined : v))) as unknown;
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(
      withoutExemplars(await theirs.getMetricsAsJSON()),
    );
    const cell = oh.labels({ queue: 'a' });
    ours.resetMetrics();
    cell.observe(0.5);
    const h = (await ours.getMetricsAsJSON()).find((m) => m.name === 'x_seconds')!;
    const count = h.values.find(
      (v) => (v as { metricName?: string }).metricName === 'x_seconds_count' && v.labels.queue === 'a',
    );
    expect(count?.value).toBe(1);
    expect(oh.labels({ queue: 'a' })).toBe(cell);
  });
});
