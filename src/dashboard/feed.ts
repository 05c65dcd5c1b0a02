/**
 * The live feed: Server-Sent Events with discrete events, computed once per tick for every stream.
 *
 *   hello          on connect: the overview, the health verdict, the breakers and top errors
 *   queue          a queue's counts or state changed (the whole queue overview)
 *   queue:paused / queue:resumed / queue:throttled / queue:blocked / queue:unblocked
 *   queue:removed  a queue is gone from the store
 *   job            a job changed state (in-process workers and the dashboard's own actions; and
 *                  the job a stream watches, from the store)
 *   jobs           many jobs of a queue changed at once: reload the list
 *   health         the verdict or its reasons changed
 *   breaker        a breaker went from one state to another
 *   errors         the top errors changed
 *   series         a new chart point of the watched queue (throughput, p50 / p95 duration)
 *   store          the store stopped or started answering
 *
 * A stream may watch one queue (`?queue=`) and one job (`?job=`): job events of other queues are
 * not sent to it. One timer serves every stream and runs only while a stream is open. A client
 * that does not read is dropped once its buffer passes a bound (it reconnects and gets `hello`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { coerceError } from '../kernel/errors.js';
import type { StoredJob } from '../store/types.js';
import type { DashboardData, Overview, QueueOverview } from './data.js';
import type { TopError } from './errors.js';
import { HttpError } from './http.js';
import type { JobChange } from './live.js';
import type { Verdict } from './verdict.js';

export interface Watch {
  queue?: string;
  job?: string;
}

interface Snapshot {
  overview: Overview;
  health: Verdict;
  breakers: { name: string; state: string }[];
  errors: TopError[];
}

interface Stream {
  res: ServerResponse;
  watch: Watch;
}

export interface FeedOptions {
  /** Most streams at once; more get a 503. @default 1000 */
  maxStreams?: number;
  /** A comment line keeps idle connections open through proxies, in ms. @default 15000 */
  heartbeatMs?: number;
  /** A stream whose unsent data passes this many bytes is closed. @default 1048576 */
  maxBufferedBytes?: number;
}

const MAX_WATCHED_JOBS = 500;

const frame = (event: string, data: unknown, id?: number): string =>
  `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

const versionOf = (j: StoredJob | null): string =>
  j === null ? 'gone' : `${j.state}|${j.updatedAt}|${j.attempts}|${j.fence}`;

const queueKey = (q: QueueOverview): string =>
  JSON.stringify([
    q.counts,
    q.paused,
    q.pauseReason,
    q.throttledUntil,
    q.blockedBy?.dependency,
    q.state,
    q.pausedGroups,
    q.throttledGroups,
  ]);

export class Feed {
  private readonly streams = new Set<Stream>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private ticking = false;
  /** Bumped by stop(): a tick of an earlier run does not schedule another. */
  private generation = 0;
  private seq = 0;
  private prev:
    | {
        snapshot: Snapshot;
        queues: Map<string, { key: string; q: QueueOverview }>;
        health: string;
        breakers: Map<string, string>;
        errors: string;
        storeError: string | null;
      }
    | undefined;
  private readonly watchedJobs = new Map<string, string>();
  private readonly seriesSent = new Map<string, number>();
  private readonly maxStreams: number;
  private readonly heartbeatMs: number;
  private readonly maxBuffered: number;

  constructor(
    private readonly data: DashboardData,
    options: FeedOptions = {},
  ) {
    this.maxStreams = options.maxStreams ?? 1000;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  }

  get size(): number {
    return this.streams.size;
  }

  /** Opens a stream on `res` and sends `hello` at once. */
  async open(req: IncomingMessage, res: ServerResponse, watch: Watch): Promise<void> {
    if (this.streams.size >= this.maxStreams) throw new HttpError(503, 'too many live streams', 'BUSY');
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    req.socket.setNoDelay(true);
    req.socket.setKeepAlive(true);
    const stream: Stream = { res, watch };
    this.streams.add(stream);
    const drop = (): void => {
      if (!this.streams.delete(stream)) return;
      if (this.streams.size === 0) this.stop();
    };
    req.once('close', drop);
    res.once('close', drop);
    res.on('error', drop);
    this.start();
    res.write(`retry: 2000\n\n`);
    try {
      this.write(stream, frame('hello', await this.hello(watch), this.seq));
    } catch (e) {
      // The status line is sent: say why, and end the stream; the client reconnects and asks again.
      this.write(stream, frame('store', { error: coerceError(e).message }));
      res.end();
      drop();
    }
  }

  /** The hello is the feed's baseline: every later event is a change against it, so none is missed. */
  private async hello(watch: Watch): Promise<Snapshot> {
    if (watch.queue !== undefined && watch.job !== undefined) {
      // Read the watched job now: a change between this hello and the next tick must not be the baseline.
      const key = `${watch.queue}\n${watch.job}`;
      if (!this.watchedJobs.has(key) && this.watchedJobs.size < MAX_WATCHED_JOBS) {
        this.watchedJobs.set(key, versionOf(await this.data.store.getJob(watch.queue, watch.job)));
      }
    }
    if (this.prev) return this.prev.snapshot;
    const snapshot = await this.snapshot();
    this.prev ??= this.baseline(snapshot);
    return this.prev.snapshot;
  }

  private baseline(snapshot: Snapshot): NonNullable<Feed['prev']> {
    const { overview, health, breakers, errors } = snapshot;
    return {
      snapshot,
      queues: new Map(overview.queues.map((q) => [q.name, { key: queueKey(q), q }])),
      health: JSON.stringify([health.status, health.reasons]),
      breakers: new Map(breakers.map((b) => [b.name, b.state])),
      errors: JSON.stringify(errors.map((e) => [e.pattern, e.count, e.trend])),
      storeError: overview.store.error,
    };
  }

  private async snapshot(fresh = false): Promise<Snapshot> {
    const overview = await this.data.overview({ fresh });
    const [health, errors] = await Promise.all([this.data.health(), this.safeTopErrors()]);
    return { overview, health, breakers: this.data.breakers(), errors };
  }

  private async safeTopErrors(): Promise<TopError[]> {
    try {
      return await this.data.topErrors();
    } catch {
      return [];
    }
  }

  private start(): void {
    if (this.timer) return;
    this.schedule();
    this.heartbeat = setInterval(() => {
      for (const s of this.streams) this.write(s, ': ping\n\n');
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * The next tick, `intervalMs` away — or twice as long as the last read of the store took, so a
   * store slow to count (millions of jobs) spends at most half its time answering the dashboard.
   */
  private schedule(): void {
    const wait = Math.max(this.data.intervalMs, 2 * this.data.readMs);
    const generation = this.generation;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => {
        if (generation === this.generation && this.streams.size > 0) this.schedule();
      });
    }, wait);
    this.timer.unref();
  }

  private stop(): void {
    this.generation++;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    this.timer = this.heartbeat = undefined;
    this.prev = undefined;
  }

  private write(s: Stream, text: string): void {
    if (s.res.writableEnded || s.res.destroyed) return;
    if (s.res.writableLength > this.maxBuffered) {
      s.res.end();
      this.streams.delete(s);
      return;
    }
    s.res.write(text);
  }

  private broadcast(event: string, data: unknown, to?: (s: Stream) => boolean): void {
    const text = frame(event, data, ++this.seq);
    for (const s of this.streams) if (!to || to(s)) this.write(s, text);
  }

  /** One turn: read once, compare with the last turn, send what changed. */
  async tick(): Promise<void> {
    if (this.ticking || this.streams.size === 0) return;
    this.ticking = true;
    try {
      const snapshot = await this.snapshot(true);
      const { overview, health, breakers, errors } = snapshot;
      const prev = this.prev;
      const next = this.baseline(snapshot);
      const queues = next.queues;
      if (prev) {
        if (overview.store.error !== prev.storeError) this.broadcast('store', overview.store);
        for (const [name, { key, q }] of queues) {
          const before = prev.queues.get(name)?.q;
          if (before && prev.queues.get(name)!.key === key) continue;
          this.broadcast('queue', q);
          if (before) this.transitions(before, q);
        }
        for (const name of prev.queues.keys())
          if (!queues.has(name)) this.broadcast('queue:removed', { name });
        if (next.health !== prev.health) this.broadcast('health', health);
        for (const b of breakers) {
          const from = prev.breakers.get(b.name);
          if (from !== b.state) this.broadcast('breaker', { name: b.name, from: from ?? null, to: b.state });
        }
        if (next.errors !== prev.errors) this.broadcast('errors', errors);
      }
      this.prev = next;
      this.sendSeries();
      this.sendJobs(this.data.live.drain());
      await this.watchJobs();
    } catch (e) {
      this.broadcast('store', { error: coerceError(e).message });
    } finally {
      this.ticking = false;
    }
  }

  private transitions(before: QueueOverview, q: QueueOverview): void {
    const name = q.name;
    if (!before.paused && q.paused) {
      this.broadcast('queue:paused', { name, reason: q.pauseReason, by: q.pausedBy });
    }
    if (before.paused && !q.paused) this.broadcast('queue:resumed', { name });
    if (q.throttledUntil > before.throttledUntil) {
      this.broadcast('queue:throttled', { name, until: q.throttledUntil });
    }
    if (!before.blockedBy && q.blockedBy) this.broadcast('queue:blocked', { name, ...q.blockedBy });
    if (before.blockedBy && !q.blockedBy) this.broadcast('queue:unblocked', { name });
  }

  /** A new chart point of a queue goes to the streams that watch it. */
  private sendSeries(): void {
    const watched = new Set<string>();
    for (const s of this.streams) if (s.watch.queue !== undefined) watched.add(s.watch.queue);
    for (const queue of watched) {
      const last = this.data.series.points(queue).at(-1);
      if (!last || this.seriesSent.get(queue) === last.t) continue;
      this.seriesSent.set(queue, last.t);
      this.broadcast('series', { queue, point: last }, (s) => s.watch.queue === queue);
    }
    for (const q of this.seriesSent.keys()) if (!watched.has(q)) this.seriesSent.delete(q);
  }

  private sendJobs({ changes, many }: { changes: JobChange[]; many: string[] }): void {
    for (const c of changes) this.broadcast('job', c, (s) => s.watch.queue === c.queue);
    for (const queue of many) this.broadcast('jobs', { queue }, (s) => s.watch.queue === queue);
  }

  /** The jobs streams watch, read from the store: a change by any process reaches the job view. */
  private async watchJobs(): Promise<void> {
    const wanted = new Map<string, { queue: string; id: string }>();
    for (const s of this.streams) {
      const { queue, job } = s.watch;
      if (queue === undefined || job === undefined || wanted.size >= MAX_WATCHED_JOBS) continue;
      wanted.set(`${queue}\n${job}`, { queue, id: job });
    }
    for (const key of this.watchedJobs.keys()) if (!wanted.has(key)) this.watchedJobs.delete(key);
    await Promise.all(
      [...wanted].map(async ([key, { queue, id }]) => {
        const j = await this.data.store.getJob(queue, id);
        const version = versionOf(j);
        const before = this.watchedJobs.get(key);
        this.watchedJobs.set(key, version);
        if (before === undefined || before === version) return;
        const change: JobChange = {
          queue,
          id,
          state:
            j === null ? 'cancelled' : j.state === 'waiting' && j.runAt > Date.now() ? 'delayed' : j.state,
          attempts: j?.attempts ?? 0,
          at: Date.now(),
        };
        this.broadcast(
          'job',
          j === null ? { ...change, gone: true } : change,
          (s) => s.watch.queue === queue && s.watch.job === id,
        );
      }),
    );
  }

  /** Ends every stream. */
  close(): void {
    this.stop();
    for (const s of this.streams) s.res.end();
    this.streams.clear();
  }
}
