/**
 * @internal Metric families for the job hot path. An event adds to plain numbers in a cell (a few
 * nanoseconds, no label hashing, no allocation); the registry reads the cells at scrape time through
 * `get()`, the same method it reads prom-client's own metrics with. A prom-client labeled
 * `observe()` costs about half a microsecond; this costs a bucket search and three additions.
 */
import type { Metric, Registry, RegistryContentType } from 'prom-client';

type Labels = Record<string, string>;

/** What a registry reads from a metric at scrape time (prom-client's typings call `type` an enum; at run time it is this string). */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: { metricName?: string; labels: Record<string, string | number>; value: number }[];
}

export class CounterCell {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(n = 1): void {
    this.value += n;
  }
}

export class HistogramCell {
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    // A value lands in the first bucket whose upper bound is at least the value (`le`).
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

const keyOf = (labels: Labels): string => JSON.stringify(labels);

abstract class Family<C extends { labels: Labels }> {
  /** Not readonly: the registry renames counters when it speaks OpenMetrics. */
  name: string;
  readonly aggregator = 'sum' as const;
  protected readonly cells = new Map<string, C>();
  abstract readonly type: 'counter' | 'histogram';

  constructor(
    name: string,
    readonly help: string,
  ) {
    this.name = name;
  }

  /** The cell of this label set, made once; hold on to it on the hot path. */
  labels(labels: Labels): C {
    const key = keyOf(labels);
    let c = this.cells.get(key);
    if (!c) {
      c = this.make({ ...labels });
      this.cells.set(key, c);
    }
    return c;
  }

  protected abstract make(labels: Labels): C;
  abstract get(): Promise<MetricSnapshot>;
  /** Zeroes every cell in place (cells stay valid for whoever holds them). */
  abstract reset(): void;

  register(registry: Registry<RegistryContentType>): void {
    // The registry needs only name, type, help, aggregator, get() and reset() from a metric.
    registry.registerMetric(this as unknown as Metric);
  }
}

export class CounterFamily extends Family<CounterCell> {
  readonly type = 'counter' as const;
  protected make(labels: Labels): CounterCell {
    return new CounterCell(labels);
  }
  get(): Promise<MetricSnapshot> {
    const values: MetricSnapshot['values'] = [];
    for (const c of this.cells.values()) values.push({ labels: { ...c.labels }, value: c.value });
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }
  reset(): void {
    for (const c of this.cells.values()) c.value = 0;
  }
}

export class HistogramFamily extends Family<HistogramCell> {
  readonly type = 'histogram' as const;
  constructor(
    name: string,
    help: string,
    private readonly bounds: readonly number[],
  ) {
    super(name, help);
  }
  protected make(labels: Labels): HistogramCell {
    return new HistogramCell(labels, this.bounds);
  }
  get(): Promise<MetricSnapshot> {
    const values: MetricSnapshot['values'] = [];
    const bucket = `${this.name}_bucket`;
    for (const c of this.cells.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += c.counts[i]!;
        values.push({ metricName: bucket, labels: { le: this.bounds[i]!, ...c.labels }, value: acc });
      }
      values.push({ metricName: bucket, labels: { le: '+Inf', ...c.labels }, value: c.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...c.labels }, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...c.labels }, value: c.count });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }
  reset(): void {
    for (const c of this.cells.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}
