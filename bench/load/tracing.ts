/**
 * What tracing costs: SQLite process throughput at concurrency 50 (no-op jobs) with tracing off and
 * on (the real OpenTelemetry SDK with the AsyncLocalStorage context manager, a sampler that records
 * every span, the BatchSpanProcessor that OpenTelemetry documents for production, and an exporter that
 * counts the spans and keeps nothing), in interleaved rounds so that the machine's noise falls on both
 * alike. The SDK's own cost per recorded span (about 2-3 µs with the attributes the messaging
 * conventions ask for) is part of the figure: it is what a user pays.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker, sqliteStore } from '../../src/index.js';
import { enableTracing } from '../../src/observe/index.js';

/** Counts spans and drops them: the export costs the least it can. */
class CountingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (r: { code: number }) => void): void {
    this.spans += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

async function processRate(jobs: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-trace-'));
  const store = sqliteStore({ path: join(dir, 'trace.db') });
  try {
    const queue = new Queue<number>('trace', { store });
    for (let i = 0; i < jobs; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ payload: i + k })));
    }
    let done = 0;
    let finish!: () => void;
    const all = new Promise<void>((r) => (finish = r));
    const t0 = performance.now();
    const worker = new Worker(queue, () => undefined, { concurrency: 50, retention: false });
    worker.on('job:completed', () => {
      if (++done === jobs) finish();
    });
    await all;
    const rate = jobs / ((performance.now() - t0) / 1000);
    await worker.close();
    return rate;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function tracingCost(rounds: number, jobs: number) {
  const exporter = new CountingExporter();
  const provider = new BasicTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: 65_536,
        maxExportBatchSize: 4096,
        scheduledDelayMillis: 200,
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const off: number[] = [];
  const on: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const traced of r % 2 === 0 ? [false, true] : [true, false]) {
      const disable = traced ? enableTracing({ tracerProvider: provider }) : () => {};
      try {
        (traced ? on : off).push(await processRate(jobs));
      } finally {
        disable();
      }
    }
  }
  await provider.forceFlush();
  context.disable();
  return { off, on, spans: exporter.spans };
}
