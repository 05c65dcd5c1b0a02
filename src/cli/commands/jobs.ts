/** Read commands: `jobs list | search | inspect`, `dlq list`, and `health`. */
import type { Command } from 'commander';
import { Queue } from '../../core/queue.js';
import { JOB_STATES, type JobState } from '../../store/types.js';
import { createDashboard } from '../../dashboard/api.js';
import { CliError, EXIT } from '../exit.js';
import { int, type Ctx } from '../context.js';
import { countsLine, jobDetail, jobTable, verdictText } from '../format.js';

type Run = (ctx: Ctx, ...args: unknown[]) => Promise<number>;
type Wire = (cmd: Command, run: Run) => Command;

const states = (v: string, prev: JobState[] = []): JobState[] => {
  if (!(JOB_STATES as readonly string[]).includes(v)) {
    throw new CliError(`--state must be one of ${JOB_STATES.join(', ')}`, EXIT.usage);
  }
  return [...prev, v as JobState];
};

/** The queue, or exit 4 when the store has never seen it. */
export async function knownQueue(ctx: Ctx, name: string): Promise<Queue> {
  const store = await ctx.store();
  const q = new Queue(name, { store });
  if (!(await store.queues()).includes(name))
    throw new CliError(`no queue ${JSON.stringify(name)} in ${ctx.spec.label}`, EXIT.notFound);
  return q;
}

export function registerReads(program: Command, wire: Wire): void {
  const jobs = program.command('jobs').description('list, search and inspect jobs');
  wire(
    jobs
      .command('list <queue>')
      .description('the newest jobs of a queue, with its counts')
      .option('--state <state>', 'only jobs in this state (repeatable)', states)
      .option('--limit <n>', 'rows per page', int('--limit', 1, 10_000), 20)
      .option('--offset <n>', 'rows to skip', int('--offset', 0), 0)
      .option('--json', 'machine-readable output'),
    async (ctx, name, o) => {
      const { state, limit, offset } = o as { state?: JobState[]; limit: number; offset: number };
      const q = await knownQueue(ctx, name as string);
      const [counts, list] = await Promise.all([q.counts(), q.list({ states: state, limit, offset })]);
      ctx.out(
        { queue: q.name, counts, jobs: list },
        () => `${q.name}: ${countsLine(counts)}\n${list.length ? jobTable(list) : 'no jobs'}`,
      );
      return EXIT.ok;
    },
  );
  wire(
    jobs
      .command('search <queue> <text>')
      .description('jobs whose id, name or correlation id is <text>, or whose payload contains it')
      .option('--state <state>', 'only jobs in this state (repeatable)', states)
      .option('--limit <n>', 'most rows', int('--limit', 1, 10_000), 20)
      .option('--json', 'machine-readable output'),
    async (ctx, name, text, o) => {
      const { state, limit } = o as { state?: JobState[]; limit: number };
      const q = await knownQueue(ctx, name as string);
      const list = await q.list({ states: state, search: text as string, limit });
      ctx.out(list, () => (list.length ? jobTable(list) : 'no match'));
      return EXIT.ok;
    },
  );
  wire(
    jobs
      .command('inspect <queue> <id>')
      .description('one job: times, payload, result, checkpoint and every failed attempt with its stack')
      .option('--json', 'machine-readable output'),
    async (ctx, name, id) => {
      const q = await knownQueue(ctx, name as string);
      const job = await q.inspect(id as string);
      ctx.out(job, () => jobDetail(job));
      return EXIT.ok;
    },
  );
  wire(
    program
      .command('health')
      .description('the health verdict with its reasons, per queue and dependency; exits 1 when UNHEALTHY')
      .option('--json', 'machine-readable output'),
    async (ctx) => {
      const store = await ctx.store();
      const dashboard = createDashboard({ store, storeLabel: ctx.spec.label });
      try {
        const [verdict, overview] = await Promise.all([dashboard.health(), dashboard.overview()]);
        ctx.out({ ...verdict, overview: overview.queues }, () => {
          const counts = overview.queues.map(
            (q) => `  ${q.name}: ${countsLine(q.counts)}${q.why ? ` — ${q.why}` : ''}`,
          );
          return `${verdictText(verdict)}${counts.length ? `\ncounts:\n${counts.join('\n')}` : ''}`;
        });
        return verdict.status === 'UNHEALTHY' ? EXIT.failed : EXIT.ok;
      } finally {
        dashboard.close();
      }
    },
  );
}
