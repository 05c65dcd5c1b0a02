#!/usr/bin/env node
/** The `bulwark` command. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';
import { Queue } from '../core/queue.js';
import { sqliteStore } from '../store/sqlite/index.js';
import { ValidationError, isValidationError, type BulwarkError } from '../kernel/errors.js';
import { Worker } from '../core/worker/worker.js';
import type { Handler, WorkerOptions } from '../core/worker/options.js';
import { createDashboard, startDashboard } from '../dashboard/index.js';
import type { JobState, Store } from '../store/types.js';

const USAGE = `usage: bulwark <command> [options]

commands:
  demo                         run the demo: a flaky API, every error class, a summary
  migrate                      create or upgrade the store's schema
  enqueue <queue> <json>       add a job (--id, --priority, --delay-ms, --max-attempts)
  jobs <queue>                 list jobs (--state, --search, --limit) and counts
  dlq <queue> [list|replay|purge] [id...]
                               the dead-letter queue
  health                       every queue's counts and state; exits 1 when a queue is paused
  dashboard                    serve the web dashboard (--port, --host, --token, --read-only)
  start <module>               run workers: the module's default export maps queue names to
                               handlers or { handler, options }; --port also serves the dashboard

options:
  --db <path>                  the SQLite file (default ./bulwark.db, or BULWARK_DB)
  --json                       machine-readable output
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      json: { type: 'boolean', default: false },
      id: { type: 'string' },
      priority: { type: 'string' },
      'delay-ms': { type: 'string' },
      'max-attempts': { type: 'string' },
      state: { type: 'string', multiple: true },
      search: { type: 'string' },
      limit: { type: 'string' },
      jobs: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      'read-only': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const print = (v: unknown): void => {
    process.stdout.write(
      values.json
        ? JSON.stringify(v) + '\n'
        : (typeof v === 'string' ? v : JSON.stringify(v, null, 2)) + '\n',
    );
  };
  if (command === 'demo') {
    const r = await runDemo({ jobs: num(values.jobs) });
    return r.ok ? 0 : 1;
  }
  const store = sqliteStore({ path: values.db ?? process.env.BULWARK_DB ?? './bulwark.db' });
  try {
    await store.init();
    const queueName = (): string => {
      const q = rest[0];
      if (!q) throw Object.assign(new Error('a queue name is required'), { usage: true });
      return q;
    };
    switch (command) {
      case 'migrate':
        print('schema is up to date');
        return 0;
      case 'enqueue': {
        const queue = new Queue(queueName(), { store });
        const job = await queue.add(JSON.parse(rest[1] ?? 'null') as unknown, {
          id: values.id,
          priority: num(values.priority),
          delayMs: num(values['delay-ms']),
          maxAttempts: num(values['max-attempts']),
        });
        print(values.json ? job : `added ${job.id} (${job.state})`);
        return 0;
      }
      case 'jobs': {
        const queue = new Queue(queueName(), { store });
        const jobs = await queue.list({
          states: values.state as JobState[] | undefined,
          search: values.search,
          limit: num(values.limit) ?? 20,
        });
        const counts = await queue.counts();
        if (values.json) print({ counts, jobs });
        else {
          print(
            Object.entries(counts)
              .map(([k, v]) => `${k} ${v}`)
              .join('  '),
          );
          for (const j of jobs)
            print(`${j.id}  ${j.state}  attempts ${j.attempts}/${j.maxAttempts}  ${j.reason ?? ''}`);
        }
        return 0;
      }
      case 'dlq': {
        const queue = new Queue(queueName(), { store });
        const action = rest[1] ?? 'list';
        const ids = rest.slice(2);
        if (action === 'list') {
          const jobs = await queue.dlq.list({ limit: num(values.limit) ?? 20 });
          if (values.json) print(jobs);
          else for (const j of jobs) print(`${j.id}  ${j.reason ?? ''}`);
        } else if (action === 'replay') print(await queue.dlq.replay(ids.length ? ids : undefined));
        else if (action === 'purge') print(`purged ${await queue.dlq.purge(ids.length ? ids : undefined)}`);
        else throw Object.assign(new Error(`unknown dlq action ${action}`), { usage: true });
        return 0;
      }
      case 'health': {
        const overview = await createDashboard({ store }).overview();
        const paused = overview.queues.filter((q) => q.paused);
        if (values.json) print({ status: paused.length ? 'fail' : 'pass', queues: overview.queues });
        else {
          for (const q of overview.queues) {
            const c = q.counts;
            print(
              `${q.paused ? 'PAUSED ' : 'ok     '} ${q.name}  waiting ${c.waiting}  delayed ${c.delayed}  active ${c.active}  completed ${c.completed}  dead ${c.dead}${q.pauseReason ? `  (${q.pauseReason})` : ''}`,
            );
          }
          if (overview.queues.length === 0) print('no queues yet');
        }
        return paused.length ? 1 : 0;
      }
      case 'dashboard': {
        const running = await startDashboard({
          store,
          port: num(values.port) ?? 8787,
          host: values.host,
          token: values.token,
          readOnly: values['read-only'],
        });
        print(`dashboard listening on ${running.url}${values.token ? '/?token=…' : ''}`);
        await untilSignal();
        await running.close();
        return 0;
      }
      case 'start':
        return await startWorkers(rest[0], store, {
          port: num(values.port),
          host: values.host,
          token: values.token,
          readOnly: values['read-only'],
          print,
        });
      default:
        process.stderr.write(`unknown command ${command}\n\n${USAGE}`);
        return 2;
    }
  } finally {
    await store.close();
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

type HandlerSpec = Handler | { handler: Handler; options?: WorkerOptions };

/** `bulwark start <module>`: one worker per queue of the module's default export, until a signal. */
async function startWorkers(
  modulePath: string | undefined,
  store: Store,
  o: { port?: number; host?: string; token?: string; readOnly?: boolean; print: (v: unknown) => void },
): Promise<number> {
  if (!modulePath) throw Object.assign(new Error('a module path is required'), { usage: true });
  const mod = (await import(pathToFileURL(resolve(modulePath)).href)) as { default?: unknown };
  const spec = mod.default;
  if (typeof spec !== 'object' || spec === null || Object.keys(spec).length === 0) {
    throw new ValidationError(
      `[bulwark] ${modulePath} must default-export { queueName: handler | { handler, options } }`,
      { path: 'default' },
    );
  }
  const workers = Object.entries(spec as Record<string, HandlerSpec>).map(([name, s]) => {
    const { handler, options } = typeof s === 'function' ? { handler: s, options: {} } : s;
    return new Worker(new Queue(name, { store }), handler, options);
  });
  for (const w of workers)
    w.on('worker:error', ({ error, during }) => o.print(`worker error (${during}): ${error.message}`));
  const dashboard =
    o.port === undefined
      ? undefined
      : await startDashboard({ store, port: o.port, host: o.host, token: o.token, readOnly: o.readOnly });
  o.print(
    `started ${workers.length} worker(s): ${workers.map((w) => w.queue.name).join(', ')}${dashboard ? `; dashboard on ${dashboard.url}` : ''}`,
  );
  const signal = await untilSignal();
  o.print(`${signal}: draining…`);
  await Promise.all(workers.map((w) => w.close({ reason: signal })));
  await dashboard?.close();
  o.print('stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const e = error as BulwarkError & { usage?: boolean };
    process.stderr.write(`bulwark: ${e.message}\n`);
    if (e.usage) process.stderr.write(`\n${USAGE}`);
    process.exitCode = isValidationError(e) || e.usage ? 2 : 1;
  },
);
