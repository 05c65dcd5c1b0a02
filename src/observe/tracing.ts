/**
 * OpenTelemetry tracing, following the messaging semantic conventions:
 * - `send <queue>` (PRODUCER) around every add / addBulk; its context travels in each job as the W3C
 *   `traceparent` in the job's metadata;
 * - `process <queue>` (CONSUMER) around every attempt. The first attempt is a child of the send span;
 *   a retry starts a new trace linked to it, as the conventions advise for deliveries long after the
 *   send. The handler runs inside the span's context, so jobs it adds (a pipeline's next stage, a
 *   flow's children) continue the chain, and so do the spans of the libraries it calls.
 * - Spans for the store's own calls come from wrapping a store with `traceStore()`; off by default.
 *
 * `@opentelemetry/api` is an optional peer dependency, loaded by `enableTracing()` only: without it
 * bulwark loads nothing and the runtime's only cost is one check per add and per attempt.
 */
import { createRequire } from 'node:module';
import type * as Otel from '@opentelemetry/api';
import { StateError, ValidationError, coerceError } from '../kernel/errors.js';
import { setJobTracer, type JobTracer, type TraceSpan, type TracedAttempt } from '../kernel/trace.js';
import type { Store } from '../store/types.js';

/** An OpenTelemetry `TracerProvider` (typed loosely so that bulwark's types do not need the package). */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown;
}

export interface TracingOptions {
  /** Where spans go. @default the global tracer provider (the one your OpenTelemetry SDK registered) */
  tracerProvider?: TracerProviderLike;
}

const SYSTEM = 'bulwark';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function loadApi(): typeof Otel {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as typeof Otel;
  } catch (e) {
    throw new StateError('[bulwark] tracing needs the @opentelemetry/api package: npm i @opentelemetry/api', {
      cause: e,
    });
  }
}

/**
 * Turns tracing on for every queue and worker of this process. Returns a function that turns it off.
 * Calling it again replaces the tracer provider.
 */
export function enableTracing(options: TracingOptions = {}): () => void {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError('[bulwark] enableTracing expects an options object', { path: 'options' });
  }
  const provider = options.tracerProvider;
  if (provider !== undefined && typeof provider?.getTracer !== 'function') {
    throw new ValidationError('[bulwark] enableTracing: tracerProvider must have getTracer()', {
      path: 'tracerProvider',
    });
  }
  const api = loadApi();
  const mine = otelJobTracer(api, tracerOf(api, provider));
  setJobTracer(mine);
  return () => {
    // Only remove what this call installed.
    const replaced = setJobTracer(undefined);
    if (replaced !== mine) setJobTracer(replaced);
  };
}

function tracerOf(api: typeof Otel, provider: TracerProviderLike | undefined): Otel.Tracer {
  return ((provider as Otel.TracerProvider | undefined) ?? api.trace.getTracerProvider()).getTracer(SYSTEM);
}

function otelJobTracer(api: typeof Otel, tracer: Otel.Tracer): JobTracer {
  const { SpanKind, SpanStatusCode, context, trace } = api;
  const ended = (span: Otel.Span): TraceSpan => ({
    end(error?: unknown) {
      if (error !== undefined) {
        const e = coerceError(error);
        span.recordException(e);
        span.setAttribute('error.type', e.name);
        span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
      }
      span.end();
    },
  });
  return {
    send(queue, count, firstId) {
      const attributes: Otel.Attributes = {
        'messaging.system': SYSTEM,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': queue,
      };
      if (count === 1) attributes['messaging.message.id'] = firstId;
      else attributes['messaging.batch.message_count'] = count;
      const span = tracer.startSpan(`send ${queue}`, { kind: SpanKind.PRODUCER, attributes });
      const sc = span.spanContext();
      const traceparent = api.isSpanContextValid(sc)
        ? `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 1).toString(16).padStart(2, '0')}`
        : undefined;
      return {
        ...ended(span),
        traceparent,
        within: <R>(fn: () => R): R => context.with(trace.setSpan(context.active(), span), fn),
      };
    },
    process<R>(a: TracedAttempt, fn: () => R) {
      const attributes: Otel.Attributes = {
        'messaging.system': SYSTEM,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': a.queue,
        'messaging.message.id': a.id,
        'messaging.message.conversation_id': a.correlationId,
        'bulwark.job.attempt': a.attempt,
      };
      const sent = parseTraceparent(a.traceparent);
      let span: Otel.Span;
      if (sent && a.attempt <= 1) {
        const parent = trace.setSpanContext(context.active(), sent);
        span = tracer.startSpan(`process ${a.queue}`, { kind: SpanKind.CONSUMER, attributes }, parent);
      } else {
        // A retry comes long after the send: a trace of its own, linked back to the send.
        span = tracer.startSpan(`process ${a.queue}`, {
          kind: SpanKind.CONSUMER,
          attributes,
          root: sent !== undefined,
          links: sent ? [{ context: sent }] : [],
        });
      }
      let result: R;
      try {
        result = context.with(trace.setSpan(context.active(), span), fn);
      } catch (e) {
        result = Promise.reject(e) as R;
      }
      return { span: ended(span), result };
    },
  };
}

function parseTraceparent(tp: string | undefined): Otel.SpanContext | undefined {
  const m = tp === undefined ? null : TRACEPARENT.exec(tp);
  if (!m) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
}

/** Method names of the Store contract that talk to the backend. */
const STORE_CALLS = new Set<string>([
  'init',
  'add',
  'claim',
  'complete',
  'completeAndClaim',
  'fail',
  'heartbeat',
  'update',
  'reapExpired',
  'getJob',
  'list',
  'counts',
  'nextRunAt',
  'queues',
  'status',
  'pause',
  'resume',
  'throttle',
  'cancel',
  'clear',
  'replay',
  'purge',
  'cleanup',
]);

/**
 * A store whose calls each make a CLIENT span (`bulwark.store <call>`), under whatever span is active
 * (an attempt's, an add's). Off unless you wrap a store with it: they are many, and short.
 */
export function traceStore<S extends Store>(store: S, options: TracingOptions = {}): S {
  const api = loadApi();
  const tracer = tracerOf(api, options.tracerProvider);
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function' || !STORE_CALLS.has(prop)) return value;
      return (...args: unknown[]): unknown =>
        tracer.startActiveSpan(
          `bulwark.store ${prop}`,
          {
            kind: api.SpanKind.CLIENT,
            attributes: { 'db.system.name': target.name, 'db.operation.name': prop },
          },
          async (span) => {
            try {
              return await (value as (...a: unknown[]) => unknown).apply(target, args);
            } catch (e) {
              span.recordException(coerceError(e));
              span.setStatus({ code: api.SpanStatusCode.ERROR });
              throw e;
            } finally {
              span.end();
            }
          },
        );
    },
  });
}
