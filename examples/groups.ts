/**
 * Run with: npx tsx examples/groups.ts
 * Fair groups (per-tenant limits): one tenant floods the queue, two others add a few jobs; claims are
 * fair across tenants, each tenant is held to its concurrency, and a 429 throttles only its tenant.
 */
import { Queue, RateLimitError, Worker, sqliteStore } from '../src/index.js';

const store = sqliteStore({ path: ':memory:' });
const q = new Queue<{ tenant: string; n: number }>('api-calls', {
  store,
  groups: { concurrency: 2, overrides: { enterprise: { concurrency: 4 } } },
});

await q.addBulk(
  Array.from({ length: 200 }, (_, n) => ({ payload: { tenant: 'bulk', n }, options: { group: 'bulk' } })),
);
for (const tenant of ['enterprise', 'startup']) {
  await q.addBulk(
    Array.from({ length: 10 }, (_, n) => ({ payload: { tenant, n }, options: { group: tenant } })),
  );
}

const done: string[] = [];
const inFlight = new Map<string, number>();
let maxInFlight = 0;
let throttledOnce = false;
const worker = new Worker(
  q,
  async (ctx) => {
    const { tenant } = ctx.payload;
    if (tenant === 'startup' && !throttledOnce) {
      throttledOnce = true; // the startup's API says "slow down": only the startup waits
      throw new RateLimitError('429 from the startup API', { retryAfterMs: 100 });
    }
    const now = (inFlight.get(tenant) ?? 0) + 1;
    inFlight.set(tenant, now);
    if (tenant !== 'enterprise') maxInFlight = Math.max(maxInFlight, now);
    await new Promise((r) => setTimeout(r, 5));
    inFlight.set(tenant, inFlight.get(tenant)! - 1);
    done.push(tenant);
  },
  { concurrency: 6 },
);
q.on('group:throttled', ({ group, untilMs }) =>
  console.log(`group ${group} throttled for ${untilMs - Date.now()} ms`),
);

while (done.filter((t) => t !== 'bulk').length < 20) await new Promise((r) => setTimeout(r, 10));
const bulkDone = done.filter((t) => t === 'bulk').length;
console.log(`the two small tenants finished after ${bulkDone} of the bulk tenant's 200 jobs`);
console.log(`most jobs of one tenant in flight (limit 2): ${maxInFlight}`);
console.log(
  'groups:',
  (await q.listGroups()).map((g) => `${g.name} active=${g.active} waiting=${g.waiting}`).join(', '),
);
await worker.close();
await store.close();
if (bulkDone > 100 || maxInFlight > 2) process.exitCode = 1;
