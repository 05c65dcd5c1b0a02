/** The health report's overall success rate, warnings per processor, and status transitions. */
import { describe, expect, it } from 'vitest';
import { ManualClock, Queue, RateLimitError, ValidationError, Worker, sqliteStore } from '../../src/index.js';
import { HealthMonitor, type HealthTransition } from '../../src/observe/health.js';
import { waitFor } from '../helpers/wait.js';

function feed(m: HealthMonitor, name: string, ok: number, failed: number): void {
  for (let i = 0; i < ok; i++) m.record(name, { ok: true, durationMs: 10 });
  for (let i = 0; i < failed; i++) m.record(name, { ok: false, durationMs: 10, error: new Error('boom') });
}

describe('health report: success rate and warnings', () => {
  it('gives the overall success rate over every window and the warnings of each processor', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const m = new HealthMonitor({ clock });
    expect(m.snapshot()).toMatchObject({ successRate: null, warnings: 0 });
    feed(m, 'a', 9, 1);
    feed(m, 'b', 27, 3);
    m.warn('a', 'disk 91% full');
    clock.advance(1000);
    m.warn('a', new Error('slow store'));
    m.warn('c');
    const h = m.snapshot();
    expect(h.successRate).toBeCloseTo(36 / 40, 10);
    expect(h.warnings).toBe(3);
    const byName = Object.fromEntries(h.processors.map((p) => [p.name, p]));
    expect(byName.a).toMatchObject({ warnings: 2, lastWarning: 'slow store', lastWarningAt: clock.now() });
    expect(byName.b).toMatchObject({ warnings: 0, lastWarning: null, lastWarningAt: null });
    // A warning is not a call: a processor with only warnings has no data.
    expect(byName.c).toMatchObject({ warnings: 1, status: 'UNKNOWN', window: { calls: 0 } });
    const text = m.report('text');
    expect(text).toContain('90.0% success, 3 warnings');
    expect(text).toContain('2 warnings (last: slow store)');
    expect(JSON.parse(m.report('json'))).toMatchObject({ successRate: 0.9, warnings: 3 });
    m.processor('a').reset();
    expect(m.processor('a').health()).toMatchObject({ warnings: 0, lastWarning: null });
    expect(() => m.warn('')).toThrow(ValidationError);
  });

  it('counts a watched worker’s snoozed attempts as warnings, not failures', async () => {
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue<string>('api', { store });
    const m = new HealthMonitor();
    let first = true;
    await using w = new Worker(
      q,
      () => {
        if (first) {
          first = false;
          throw new RateLimitError('slow down', { retryAfterMs: 1 });
        }
      },
      { pollIntervalMs: 20 },
    );
    const stop = m.watch(w);
    await q.add('x');
    await waitFor(async () => (await q.counts()).completed === 1, 'completed after the snooze');
    const p = m.processor('api').health();
    expect(p).toMatchObject({
      warnings: 1,
      totals: { calls: 1, successes: 1, failures: 0 },
      status: 'HEALTHY',
    });
    expect(p.lastWarning).toMatch(/^snoozed \(rate_limit\): slow down/);
    stop();
    await w.close();
    await store.close();
  });
});

describe('health transitions', () => {
  it('are emitted by check() for each processor and for the system, only when the status changes', async () => {
    const m = new HealthMonitor({ window: { calls: 10 } });
    const seen: HealthTransition[] = [];
    const off = m.on('transition', (t) => seen.push(t));
    feed(m, 'etl', 10, 0);
    await m.check();
    expect(seen.map((t) => [t.processor, t.from, t.to])).toEqual([
      ['etl', 'UNKNOWN', 'HEALTHY'],
      [null, 'UNKNOWN', 'HEALTHY'],
    ]);
    await m.check();
    expect(seen).toHaveLength(2);
    feed(m, 'etl', 0, 5);
    await m.check();
    expect(seen.slice(2)).toMatchObject([
      {
        processor: 'etl',
        from: 'HEALTHY',
        to: 'UNHEALTHY',
        reasons: [expect.stringMatching(/^processor etl is UNHEALTHY/)],
      },
      { processor: null, from: 'HEALTHY', to: 'UNHEALTHY' },
    ]);
    off();
    feed(m, 'etl', 10, 0);
    await m.check();
    expect(seen).toHaveLength(4);
    expect(m.history().at(-1)).toMatchObject({ status: 'HEALTHY', successRate: 1 });
  });
});
