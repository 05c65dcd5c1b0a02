// A program as a user writes it, compiled against the built `dist` types (skipLibCheck: false).
import {
  Queue,
  Worker,
  sqliteStore,
  RateLimitError,
  type AddOutcome,
  type GroupsOptions,
  type Job,
  type JobContext,
  type ScheduleOptions,
  type UniqueOptions,
} from 'bulwark';
import { circuitBreaker, retry, timeout, wrap, createRegistry, classify } from 'bulwark/resilience';
import { Cache, memoize } from 'bulwark/cache';
import { HealthMonitor, BulwarkMetrics, createLogger, instrument } from 'bulwark/observe';
import { startServer, createHandler, drainOnSignal } from 'bulwark/server';
import { createDashboard, type Verdict } from 'bulwark/dashboard';
import { requireCapability, type Store, type StoredJob } from 'bulwark/store';
import { postgresStore } from 'bulwark/postgres';
import { redisStore } from 'bulwark/redis';
import { sqliteStore as fromSubpath } from 'bulwark/sqlite';

export async function main(): Promise<void> {
  await using store = sqliteStore({ path: ':memory:' });
  const queue = new Queue<{ to: string }, { id: string }>('mail', { store });
  const job: Job<{ to: string }, { id: string }> = await queue.add({ to: 'a@b.c' }, { priority: 1 });
  const groups: GroupsOptions = { concurrency: 2, overrides: { vip: { concurrency: 4 } } };
  const tenants = new Queue<{ to: string }>('tenants', { store, groups });
  const unique: UniqueOptions = { key: 'k', mode: 'debounce', delayMs: 10 };
  const outcome: AddOutcome | undefined = (await tenants.add({ to: 'x' }, { unique, group: 'vip' })).outcome;
  const nightly: ScheduleOptions<{ to: string }> = { cron: '0 3 * * *', tz: 'UTC', payload: { to: 'ops' } };
  await tenants.schedule('nightly', nightly);
  void [outcome, await tenants.listGroups({ paused: true })];
  const worker = new Worker(queue, async (ctx: JobContext<{ to: string }>) => {
    if (!ctx.payload.to) throw new RateLimitError('slow', { retryAfterMs: 1000 });
    if (ctx.payload.to === 'fan') await ctx.spawn([{ payload: 1 }], { join: { payload: 'all' } });
    await ctx.progress({ done: 1 });
    return { id: job.id };
  });
  const policy = wrap(
    retry({ maxAttempts: 2 }),
    circuitBreaker({ consecutiveFailures: 3 }),
    timeout({ timeoutMs: 100 }),
  );
  await policy.execute(({ signal }) => Promise.resolve(signal.aborted));
  const registry = createRegistry();
  classify(new Error('x'));
  const cache = new Cache<string, number>({ maxEntries: 10 });
  memoize((n: number) => n * 2, { cache: new Cache<string, number>({ maxEntries: 10 }) });
  const monitor = new HealthMonitor({ breakers: () => registry.stats() });
  const metrics = new BulwarkMetrics({ monitor });
  instrument(worker, { monitor, metrics, logger: createLogger() });
  const server = await startServer({
    port: 0,
    store,
    token: 'a-token-of-16-chars',
    monitor,
    metrics,
    workers: [worker],
  });
  drainOnSignal([worker], server);
  const handler = createHandler({ store, readOnly: true });
  const verdict: Verdict = await createDashboard({ store }).health();
  handler.close();
  void verdict;
  const other: Store = fromSubpath();
  requireCapability(other, 'notify', 'a wake-up');
  const rows: StoredJob[] = await other.list('mail', {}, Date.now());
  void [postgresStore, redisStore, cache, rows];
  await worker.close();
  await server.close();
}
