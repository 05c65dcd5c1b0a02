/** The structural sources fit bulwark's own breaker registry and cache, as the README shows. */
import { describe, expect, it } from 'vitest';
import { createCache } from '../../src/cache/index.js';
import { createRegistry } from '../../src/resilience/index.js';
import { HealthMonitor } from '../../src/observe/health.js';
import { BulwarkMetrics } from '../../src/observe/metrics.js';

describe('health and metrics over the real registry and cache', () => {
  it('an isolated dependency degrades health and shows in breaker_state; cache counts are exported', async () => {
    const registry = createRegistry();
    registry.define('db');
    const payments = registry.define('payments');
    const users = createCache<string, number>({ maxEntries: 2 });
    users.set('a', 1);
    users.get('a');
    users.get('zzz');
    users.set('b', 2);
    users.set('c', 3); // over maxEntries: one eviction

    const monitor = new HealthMonitor({ breakers: () => registry.stats() });
    const metrics = new BulwarkMetrics({
      breakers: () => registry.stats(),
      caches: () => [{ name: 'users', stats: () => users.stats() }],
    });
    expect(monitor.snapshot().status).toBe('HEALTHY');
    const handle = payments.breaker!.isolate();
    const h = monitor.snapshot();
    expect(h.status).toBe('DEGRADED');
    expect(h.breakers).toContainEqual({ name: 'payments', state: 'isolated', status: 'DEGRADED' });

    const text = await metrics.metrics();
    expect(text).toContain('bulwark_breaker_state{dependency="payments",state="isolated"} 1');
    expect(text).toContain('bulwark_breaker_state{dependency="db",state="closed"} 1');
    const s = users.stats();
    expect(text).toContain(`bulwark_cache_hits_total{cache="users"} ${s.hits}`);
    expect(text).toContain(`bulwark_cache_misses_total{cache="users"} ${s.misses}`);
    expect(text).toContain(`bulwark_cache_evictions_total{cache="users"} ${s.evictions.evict}`);
    expect(s.hits).toBe(1);
    expect(s.evictions.evict).toBeGreaterThanOrEqual(1);
    handle.dispose();
    expect(monitor.snapshot().status).toBe('HEALTHY');
  });
});
