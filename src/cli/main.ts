#!/usr/bin/env node
/** The `bulwark` command. */
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';
import { Queue } from '../core/queue.js';
import { sqliteStore } from '../store/sqlite/index.js';
import { isValidationError, type BulwarkError } from '../core/errors.js';
import type { JobState } from '../store/types.js';

const USAGE = `usage: bulwark <command> [options]

commands:
  demo                         run the demo: a flaky API, every error class, a summary
  migrate                      create or upgrade the store's schema
  enqueue <queue> <json>       add a job (--id, --priority, --delay-ms, --max-attempts)
  jobs <queue>                 list jobs (--state, --search, --limit) and counts
  dlq <queue> [list|replay|purge] [id...]
                               the dead-letter queue

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
      default:
        process.stderr.write(`unknown command ${command}\n\n${USAGE}`);
        return 2;
    }
  } finally {
    await store.close();
  }
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
