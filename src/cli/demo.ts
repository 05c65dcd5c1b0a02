/**
 * `npm start` / `bulwark demo`: a batch of jobs against a simulated flaky API that throws what real
 * APIs throw (timeouts, 429 with Retry-After, a burst of 401s, 503s, bad payloads), on the embedded
 * SQLite store, with live progress and a summary. No server to start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from '../core/queue.js';
import { Worker } from '../core/worker/worker.js';
import { RateLimitError, ValidationError } from '../kernel/errors.js';
import { sqliteStore } from '../store/sqlite/index.js';

interface Page {
  url?: string;
  n: number;
}

export interface DemoOptions {
  jobs?: number;
  concurrency?: number;
  /** Where the SQLite file goes; a temp dir (deleted after) when omitted. */
  dbPath?: string;
  out?: NodeJS.WriteStream;
  /** Seed for the simulated API's randomness, so runs are comparable. */
  seed?: number;
}

/** A small deterministic PRNG (mulberry32), so each run of the demo tells the same story. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The simulated third-party API. */
class FlakyApi {
  calls = 0;
  credentialsValid = true;
  private readonly random: () => number;
  constructor(
    seed: number,
    private readonly expireAtCall: number,
  ) {
    this.random = prng(seed);
  }
  async fetch(url: string, signal: AbortSignal): Promise<string> {
    const call = ++this.calls;
    if (call === this.expireAtCall) this.credentialsValid = false;
    const r = this.random();
    await sleep(3 + Math.floor(this.random() * 15), undefined, { signal });
    if (!this.credentialsValid)
      throw Object.assign(new Error('401 Unauthorized: token expired'), { status: 401 });
    if (r < 0.05) {
      // A hung connection: the job's timeout aborts it.
      await sleep(10_000, undefined, { signal });
    }
    if (r < 0.1)
      throw new RateLimitError('429 Too Many Requests', {
        retryAfterMs: 150 + Math.floor(this.random() * 250),
      });
    if (r < 0.15) throw Object.assign(new Error('503 Service Unavailable'), { statusCode: 503 });
    if (r < 0.18) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    return `<html>${url}</html>`;
  }
}

export async function runDemo(options: DemoOptions = {}): Promise<{ ok: boolean }> {
  const out = options.out ?? process.stdout;
  const total = options.jobs ?? 500;
  const tmp = options.dbPath ? undefined : mkdtempSync(join(tmpdir(), 'bulwark-demo-'));
  const dbPath = options.dbPath ?? join(tmp!, 'demo.db');
  const store = sqliteStore({ path: dbPath });
  const queue = new Queue<Page>('crawl', {
    store,
    defaults: { maxAttempts: 4, timeoutMs: 250, backoff: { delayMs: 40, maxDelayMs: 1000 } },
  });
  const api = new FlakyApi(options.seed ?? 7, Math.floor(total * 0.4));
  const badEvery = 25;

  out.write(`bulwark demo — ${total} crawl jobs against a flaky API, embedded SQLite store (${dbPath})\n\n`);
  await queue.addBulk(
    Array.from({ length: total }, (_, n) => ({
      payload: n % badEvery === 7 ? { n } : { url: `https://example.com/page/${n}`, n },
      options: { id: `page-${n}`, priority: n % 10 === 0 ? 5 : 0 },
    })),
  );

  const stats = {
    completed: 0,
    retried: 0,
    snoozed: 0,
    dead: 0,
    paused: 0,
    resumed: 0,
    byCategory: new Map<string, number>(),
  };
  const count = (category: string): void => {
    stats.byCategory.set(category, (stats.byCategory.get(category) ?? 0) + 1);
  };
  const events: string[] = [];
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;

  const worker = new Worker<Page>(
    queue,
    async (ctx) => {
      if (typeof ctx.payload.url !== 'string') throw new ValidationError(`page ${ctx.payload.n} has no url`);
      const body = await api.fetch(ctx.payload.url, ctx.signal);
      return { bytes: body.length };
    },
    { concurrency: 16, pollIntervalMs: 100, leaseMs: 5000 },
  );
  worker.on('job:completed', () => stats.completed++);
  worker.on('job:retrying', (e) => {
    stats.retried++;
    count(e.category);
  });
  worker.on('job:snoozed', (e) => {
    stats.snoozed++;
    count(e.category);
  });
  worker.on('job:dead', (e) => {
    stats.dead++;
    count(e.category);
  });
  worker.on('queue:paused', (e) => {
    stats.paused++;
    events.push(`${elapsed()}  queue paused — ${e.reason}`);
    // The operator (here, a timer) rotates the credentials, then resumes the queue.
    setTimeout(() => {
      api.credentialsValid = true;
      events.push(`${elapsed()}  credentials rotated, queue resumed`);
      stats.resumed++;
      queue.resume().catch((err: unknown) => events.push(`resume failed: ${String(err)}`));
    }, 1500);
  });

  const tty = out.isTTY === true;
  let shownEvents = 0;
  const render = async (): Promise<boolean> => {
    const c = await queue.counts();
    const status = await queue.status();
    const done = c.completed + c.dead;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}  ` +
      `completed ${c.completed}  dead ${c.dead}  active ${c.active}  waiting ${c.waiting + c.delayed}  ` +
      `retried ${stats.retried}  snoozed ${stats.snoozed}  queue ${status.paused ? 'PAUSED' : 'running'}  ${elapsed()}`;
    while (shownEvents < events.length) {
      if (tty) out.write('\r\x1b[2K');
      out.write(`  ${events[shownEvents++]}\n`);
    }
    out.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    return done === total;
  };

  const deadline = Date.now() + 50_000;
  while (!(await render())) {
    if (Date.now() > deadline) break;
    await sleep(tty ? 150 : 1000);
  }
  if (tty) out.write('\n');
  const seconds = (Date.now() - started) / 1000;
  await worker.close();
  const c = await queue.counts();
  const dead = await queue.dlq.list({ limit: 3 });
  await store.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });

  const cats = [...stats.byCategory.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  out.write(
    [
      '',
      'summary',
      `  completed        ${c.completed}`,
      `  dead-lettered    ${c.dead}   (bad payloads and jobs out of attempts; replay with queue.dlq.replay())`,
      `  retried          ${stats.retried}   (timeouts, 503s, ECONNRESET: exponential backoff with full jitter)`,
      `  snoozed          ${stats.snoozed}   (429s waited for Retry-After; 401s went back to the queue; no attempt used)`,
      `  queue paused     ${stats.paused}×, resumed ${stats.resumed}×   (401 burst: no attempt used)`,
      `  failures by class ${cats}`,
      `  API calls        ${api.calls}`,
      `  throughput       ${(total / seconds).toFixed(0)} jobs/s over ${seconds.toFixed(1)} s`,
      ...dead.map((j) => `  dlq sample       ${j.id}: ${j.reason}`),
      '',
    ].join('\n') + '\n',
  );
  return { ok: c.completed + c.dead === total };
}
