/** OpenTelemetry tracing with the real SDK and its in-memory exporter, on the embedded store. */
import { context, SpanKind, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Pipeline, Queue, TransientError, Worker, sqliteStore, type Store } from '../../src/index.js';
import { enableTracing, traceStore } from '../../src/observe/index.js';
import { waitFor } from '../helpers/wait.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();
let disable: () => void;
let store: Store;

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  disable = enableTracing({ tracerProvider: provider });
});
afterAll(() => {
  disable();
  context.disable();
});
afterEach(async () => {
  await store?.close();
  exporter.reset();
});

const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

describe('tracing', () => {
  it('a send span per add, and the first attempt a child of it, with messaging attributes', async () => {
    store = sqliteStore({ path: ':memory:' });
    const queue = new Queue<string>('mail', { store });
    const job = await queue.add('hello', { correlationId: 'corr-1' });
    const worker = new Worker(queue, () => {
      // A span the handler makes is a child of the attempt's span.
      provider.getTracer('app').startSpan('smtp').end();
      return 'sent';
    });
    await worker.next('job:completed');
    await worker.close();
    const [send] = spans('send mail');
    const [proc] = spans('process mail');
    expect(send).toBeDefined();
    expect(send!.kind).toBe(SpanKind.PRODUCER);
    expect(send!.attributes).toMatchObject({
      'messaging.system': 'bulwark',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'mail',
      'messaging.message.id': job.id,
    });
    expect(proc!.kind).toBe(SpanKind.CONSUMER);
    expect(proc!.spanContext().traceId).toBe(send!.spanContext().traceId);
    expect(parentOf(proc!)).toBe(send!.spanContext().spanId);
    expect(proc!.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.message.id': job.id,
      'messaging.message.conversation_id': 'corr-1',
      'bulwark.job.attempt': 1,
    });
    const [smtp] = spans('smtp');
    expect(parentOf(smtp!)).toBe(proc!.spanContext().spanId);
    expect((await queue.getJob(job.id))!.metadata.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('a retry runs in a new trace linked to the send; a failed attempt records the error', async () => {
    store = sqliteStore({ path: ':memory:' });
    const queue = new Queue<string>('flaky', { store });
    await queue.add('x', { backoff: { delayMs: 1, jitter: 'none' } });
    const worker = new Worker(queue, (ctx) => {
      if (ctx.attempt === 1) throw new TransientError('upstream 503');
      return 'ok';
    });
    await worker.next('job:completed');
    await worker.close();
    const send = spans('send flaky')[0]!;
    const [first, second] = spans('process flaky').sort(
      (a, b) => Number(a.attributes['bulwark.job.attempt']) - Number(b.attributes['bulwark.job.attempt']),
    );
    expect(parentOf(first!)).toBe(send.spanContext().spanId);
    expect(first!.status).toMatchObject({ code: 2, message: 'upstream 503' });
    expect(first!.events.map((e) => e.name)).toContain('exception');
    expect(second!.spanContext().traceId).not.toBe(send.spanContext().traceId);
    expect(parentOf(second!)).toBeUndefined();
    expect(second!.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
  });

  it('keeps the chain across pipeline stages: each hand-off is sent from inside the stage before', async () => {
    store = sqliteStore({ path: ':memory:' });
    const p = new Pipeline<number>('etl', { store })
      .stage('double', (ctx) => ctx.payload * 2)
      .stage('square', (ctx) => ctx.payload ** 2)
      .start();
    await p.add(3, { id: 'n3' });
    await waitFor(async () => (await p.status('n3'))?.state === 'completed', 'through both stages');
    await waitFor(() => spans('process etl.square').length === 1, 'the last span');
    await p.close();
    const first = spans('process etl.double')[0]!;
    const handOff = spans('send etl.square')[0]!;
    const last = spans('process etl.square')[0]!;
    const traceId = spans('send etl.double')[0]!.spanContext().traceId;
    for (const s of [first, handOff, last]) expect(s.spanContext().traceId).toBe(traceId);
    expect(parentOf(handOff)).toBe(first.spanContext().spanId);
    expect(parentOf(last)).toBe(handOff.spanContext().spanId);
  });

  it('makes a span per store call only when the store is wrapped', async () => {
    store = traceStore(sqliteStore({ path: ':memory:' }), { tracerProvider: provider });
    const queue = new Queue('wrapped', { store });
    await provider.getTracer('app').startActiveSpan('request', async (span: Span) => {
      await queue.add('x');
      span.end();
    });
    const add = spans('bulwark.store add')[0]!;
    expect(add.kind).toBe(SpanKind.CLIENT);
    expect(add.attributes).toMatchObject({ 'db.system.name': 'sqlite', 'db.operation.name': 'add' });
    expect(parentOf(add)).toBe(spans('send wrapped')[0]!.spanContext().spanId);
  });

  it('costs nothing when off: no spans, and jobs carry no trace context', async () => {
    disable();
    try {
      store = sqliteStore({ path: ':memory:' });
      const queue = new Queue('off', { store });
      const job = await queue.add('x');
      const worker = new Worker(queue, () => 'ok');
      await worker.next('job:completed');
      await worker.close();
      expect(exporter.getFinishedSpans()).toEqual([]);
      expect((await queue.getJob(job.id))!.metadata).toEqual({});
    } finally {
      disable = enableTracing({ tracerProvider: provider });
    }
  });

  it('refuses bad options with a typed error', () => {
    expect(() => enableTracing({ tracerProvider: {} as never })).toThrow(/getTracer/);
    expect(() => enableTracing(null as never)).toThrow(/options object/);
  });
});
