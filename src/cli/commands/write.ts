/** Commands that change things: `enqueue`, `pause`, `resume`, `cancel`, `dlq`, `migrate`. */
import type { Command } from 'commander';
import { Queue, type AddOptions } from '../../core/queue.js';
import { CliError, EXIT, printError } from '../exit.js';
import { int, parseJson, readStdin, type Ctx } from '../context.js';
import { jobTable } from '../format.js';
import { knownQueue } from './jobs.js';

type Run = (ctx: Ctx, ...args: unknown[]) => Promise<number>;
type Wire = (cmd: Command, run: Run) => Command;

/**
 * Ids a command was given but could not act on: named on stderr, exit 4 (no such job, or not in a
 * state the command applies to). The output of what was done is printed first, either way.
 */
function missed(
  ctx: Ctx,
  queue: string,
  asked: readonly string[],
  done: readonly string[],
  what: string,
): number {
  const left = asked.filter((id) => !done.includes(id));
  if (left.length === 0) return EXIT.ok;
  printError(`${what} in ${queue}: ${left.join(' ')}`, EXIT.notFound, ctx.json);
  return EXIT.notFound;
}

export function registerWrites(program: Command, wire: Wire): void {
  wire(
    program
      .command('enqueue <queue> [payload]')
      .description("add a job; the payload is JSON ('-' reads it from stdin; none is null)")
      .option('--id <id>', 'idempotency key: an existing id returns the existing job')
      .option('--name <name>', 'a label for search')
      .option('--priority <n>', 'higher runs first', int('--priority', -1_000_000, 1_000_000))
      .option('--delay-ms <ms>', 'run no earlier than this from now', int('--delay-ms', 0))
      .option('--max-attempts <n>', 'attempts before the dead-letter queue', int('--max-attempts', 1, 10_000))
      .option('--timeout-ms <ms>', 'abort an attempt after this long', int('--timeout-ms', 1))
      .option('--correlation-id <id>', 'ties log lines and jobs together')
      .option('--json', 'machine-readable output'),
    async (ctx, name, payloadText, o) => {
      const text = payloadText === '-' ? await readStdin() : ((payloadText as string | undefined) ?? 'null');
      const payload = parseJson(text, 'payload');
      const f = o as Record<string, unknown>;
      const options: AddOptions = {};
      if (f.id !== undefined) options.id = f.id as string;
      if (f.name !== undefined) options.name = f.name as string;
      if (f.priority !== undefined) options.priority = f.priority as number;
      if (f.delayMs !== undefined) options.delayMs = f.delayMs as number;
      if (f.maxAttempts !== undefined) options.maxAttempts = f.maxAttempts as number;
      if (f.timeoutMs !== undefined) options.timeoutMs = f.timeoutMs as number;
      if (f.correlationId !== undefined) options.correlationId = f.correlationId as string;
      // Validate before touching the store: bad input changes nothing, not even a new SQLite file.
      const store = await ctx.store({ create: true });
      const job = await new Queue(name as string, { store }).add(payload, options);
      ctx.out(job, () => `added ${job.id} to ${job.queue} (${job.state})`);
      return EXIT.ok;
    },
  );
  wire(
    program
      .command('pause <queue>')
      .description('stop every worker of the queue, in every process, from claiming')
      .option('--reason <text>', 'shown in the dashboard and `health`'),
    async (ctx, name, o) => {
      const q = await knownQueue(ctx, name as string);
      const reason = (o as { reason?: string }).reason;
      await q.pause(`cli${reason ? `: ${reason}` : ''}`);
      ctx.out({ queue: q.name, paused: true }, () => `paused ${q.name}`);
      return EXIT.ok;
    },
  );
  wire(program.command('resume <queue>').description('let the workers claim again'), async (ctx, name) => {
    const q = await knownQueue(ctx, name as string);
    await q.resume();
    ctx.out({ queue: q.name, paused: false }, () => `resumed ${q.name}`);
    return EXIT.ok;
  });
  wire(
    program
      .command('cancel <queue> <ids...>')
      .description('cancel waiting, delayed or active jobs (an active one loses its lease)')
      .option('--reason <text>', 'recorded on the jobs', 'cancelled from the CLI'),
    async (ctx, name, ids, o) => {
      const q = await knownQueue(ctx, name as string);
      const cancelled = await q.cancel(ids as string[], (o as { reason: string }).reason);
      ctx.out(
        { cancelled },
        () => `cancelled ${cancelled.length} of ${(ids as string[]).length}: ${cancelled.join(' ')}`,
      );
      return missed(ctx, q.name, ids as string[], cancelled, 'no waiting, delayed or active job to cancel');
    },
  );

  const dlq = program.command('dlq').description('the dead-letter queue: list, replay, purge');
  wire(
    dlq
      .command('list <queue>')
      .option('--limit <n>', 'rows per page', int('--limit', 1, 10_000), 20)
      .option('--offset <n>', 'rows to skip', int('--offset', 0), 0)
      .option('--json', 'machine-readable output'),
    async (ctx, name, o) => {
      const q = await knownQueue(ctx, name as string);
      const { limit, offset } = o as { limit: number; offset: number };
      const jobs = await q.dlq.list({ limit, offset });
      ctx.out(jobs, () => (jobs.length ? jobTable(jobs) : 'the dead-letter queue is empty'));
      return EXIT.ok;
    },
  );
  for (const action of ['replay', 'purge'] as const) {
    wire(
      dlq
        .command(`${action} <queue> [ids...]`)
        .description(action === 'replay' ? 'dead jobs back to waiting, attempts reset' : 'delete dead jobs')
        .option('--all', `${action} every dead job of the queue`),
      async (ctx, name, ids, o) => {
        const list = ids as string[];
        const all = (o as { all?: boolean }).all === true;
        if (list.length === 0 && !all)
          throw new CliError(`give job ids, or --all to ${action} every dead job`, EXIT.usage);
        if (list.length > 0 && all) throw new CliError('give job ids or --all, not both', EXIT.usage);
        const q = await knownQueue(ctx, name as string);
        if (action === 'replay') {
          const replayed = await q.dlq.replay(all ? undefined : list);
          ctx.out(
            { replayed },
            () => `replayed ${replayed.length}${replayed.length ? `: ${replayed.join(' ')}` : ''}`,
          );
          return all ? EXIT.ok : missed(ctx, q.name, list, replayed, 'no dead job to replay');
        }
        // Which ids were purged is not reported: check the dead ones first, as replay does by its result.
        const dead = all ? [] : await deadAmong(q, list);
        const purged = await q.dlq.purge(all ? undefined : list);
        ctx.out({ purged }, () => `purged ${purged}`);
        return all ? EXIT.ok : missed(ctx, q.name, list, dead, 'no dead job to purge');
      },
    );
  }
  async function deadAmong(q: Queue, ids: readonly string[]): Promise<string[]> {
    const jobs = await Promise.all(ids.map((id) => q.getJob(id)));
    return ids.filter((_, i) => jobs[i]?.state === 'dead');
  }
  wire(program.command('migrate').description("create or upgrade the store's schema"), async (ctx) => {
    await ctx.store({ create: true });
    ctx.out({ store: ctx.spec.label, migrated: true }, () => `${ctx.spec.label}: schema is up to date`);
    return EXIT.ok;
  });
}
