/** Health tiers at their exact boundaries, windows, timing stats, aggregation and watching real workers. */
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ManualClock,
  Queue,
  TransientError,
  ValidationError,
  Worker,
  sqliteStore,
} from '../../src/index.js';
import {
  HealthMonitor,
  formatHealth,
  normalizeBreakerState,
  type BreakerSource,
} from '../../src/observe/health.js';
import { waitFor } from '../helpers/wait.js';

/** Records `ok` successes and `failed` failures, 10 ms each. */
function feed(m: HealthMonitor, name: string, ok: number, failed: number): void {
  for (let i = 0; i < ok; i++) m.record(name, { ok: true, durationMs: 10 });
  for (let i = 0; i < failed; i++)
    m.record(name, { ok: false, durationMs: 10, error: new Error(`boom ${i}`) });
}

describe('processor health tiers', () => {
  it('is UNKNOWN without calls', () => {
    const m = new HealthMonitor();
    expect(m.processor('p').health().status).toBe('UNKNOWN');
    expect(m.snapshot().status).toBe('UNKNOWN');
  });

  it.each([
    [100, 0, 'HEALTHY'],
    [95, 5, 'HEALTHY'], // exactly 95%
    [94, 6, 'DEGRADED'],
    [80, 20, 'DEGRADED'], // exactly 80%
    [79, 21, 'UNHEALTHY'],
    [0, 100, 'UNHEALTHY'],
    [19, 1, 'HEALTHY'], // 95% of 20
    [4, 1, 'DEGRADED'], // 80% of 5
    [1, 0, 'HEALTHY'],
  ] as const)('%i successes and %i failures → %s', (ok, failed, status) => {
    const m = new HealthMonitor({ window: { calls: 100 } });
    feed(m, 'p', ok, failed);
    const h = m.processor('p').health();
    expect(h.status).toBe(status);
    expect(h.window).toMatchObject({ calls: ok + failed, successes: ok, failures: failed });
  });

  it('takes configurable thresholds, boundaries included', () => {
    const m = new HealthMonitor({ thresholds: { healthy: 0.9, degraded: 0.5 } });
    feed(m, 'a', 9, 1);
    feed(m, 'b', 89, 11);
    feed(m, 'c', 1, 1);
    feed(m, 'd', 49, 51);
    expect(['a', 'b', 'c', 'd'].map((n) => m.processor(n).health().status)).toEqual([
      'HEALTHY',
      'DEGRADED',
      'DEGRADED',
      'UNHEALTHY',
    ]);
  });

  it('rejects bad options with a ValidationError', () => {
    expect(() => new HealthMonitor({ thresholds: { healthy: 0.5, degraded: 0.8 } })).toThrow(ValidationError);
    expect(() => new HealthMonitor({ thresholds: { healthy: 1.5 } })).toThrow(ValidationError);
    expect(() => new HealthMonitor({ window: { calls: 0 } })).toThrow(ValidationError);
    expect(() => new HealthMonitor({ window: { ms: -1 } })).toThrow(ValidationError);
    expect(() => new HealthMonitor({ nope: 1 } as never)).toThrow(ValidationError);
    const m = new HealthMonitor({ maxProcessors: 1 });
    expect(() => m.processor('')).toThrow(ValidationError);
    expect(() => m.record('p', { ok: true, durationMs: NaN })).toThrow(ValidationError);
    m.processor('one');
    expect(() => m.processor('two')).toThrow(ValidationError);
    expect(m.snapshot().processors.map((p) => p.name)).toEqual(['one']);
    expect(() => m.report('xml' as never)).toThrow(ValidationError);
  });

  it('slides a count window: old failures fall out, totals keep everything', () => {
    const m = new HealthMonitor({ window: { calls: 10 } });
    feed(m, 'p', 0, 10);
    expect(m.processor('p').health().status).toBe('UNHEALTHY');
    feed(m, 'p', 10, 0);
    const h = m.processor('p').health();
    expect(h.status).toBe('HEALTHY');
    expect(h.window.calls).toBe(10);
    expect(h.totals).toEqual({ calls: 20, successes: 10, failures: 10 });
  });

  it('slides a time window on the injected clock', () => {
    const clock = new ManualClock(1_000);
    const m = new HealthMonitor({ window: { ms: 60_000 }, clock });
    feed(m, 'p', 0, 5);
    clock.advance(30_000);
    feed(m, 'p', 5, 0);
    expect(m.processor('p').health().status).toBe('UNHEALTHY'); // 50%
    clock.advance(30_001); // the failures are now older than 60 s
    expect(m.processor('p').health()).toMatchObject({ status: 'HEALTHY', window: { calls: 5 } });
    clock.advance(30_000);
    expect(m.processor('p').health()).toMatchObject({ status: 'UNKNOWN', totals: { calls: 10 } });
    // A busy processor keeps only the latest maxCalls outcomes of the window.
    const capped = new HealthMonitor({ window: { ms: 60_000, maxCalls: 3 }, clock });
    feed(capped, 'p', 0, 2);
    feed(capped, 'p', 3, 0);
    expect(capped.processor('p').health()).toMatchObject({ status: 'HEALTHY', window: { calls: 3 } });
  });

  it('reports average and p95 time, last success and failure times and the last error', () => {
    const clock = new ManualClock(5_000);
    const m = new HealthMonitor({ clock, window: { calls: 1000 } });
    const p = m.processor('p');
    for (let d = 100; d >= 1; d--) p.success(d);
    clock.set(7_000);
    p.failure(50, new TransientError('upstream 503'));
    const h = p.health();
    expect(h.window.avgMs).toBeCloseTo((5050 + 50) / 101, 9);
    expect(h.window.p95Ms).toBe(95); // nearest rank: the 96th of 101 sorted values (1…50, 50, 51…100)
    expect(h.lastSuccessAt).toBe(5_000);
    expect(h.lastFailureAt).toBe(7_000);
    expect(h.lastError).toBe('upstream 503');
  });

  it('tracks a call with track(), success or failure', async () => {
    const clock = new ManualClock();
    const m = new HealthMonitor({ clock });
    expect(
      await m.track('stage', () => {
        clock.advance(40);
        return 7;
      }),
    ).toBe(7);
    await expect(
      m.track('stage', () => {
        throw new Error('nope');
      }),
    ).rejects.toThrow('nope');
    expect(m.processor('stage').health()).toMatchObject({
      totals: { calls: 2, successes: 1, failures: 1 },
      window: { avgMs: 20 },
      lastError: 'nope',
    });
  });
});

describe('system health', () => {
  it('aggregates processors: worst wins, with counts and lists', () => {
    const m = new HealthMonitor();
    feed(m, 'ok', 100, 0);
    feed(m, 'meh', 90, 10);
    m.processor('idle');
    let h = m.snapshot();
    expect(h.status).toBe('DEGRADED');
    expect(h.counts).toEqual({ HEALTHY: 1, DEGRADED: 1, UNHEALTHY: 0, UNKNOWN: 1 });
    expect(h.degraded).toEqual(['meh']);
    expect(h.unhealthy).toEqual([]);
    feed(m, 'bad', 1, 9);
    h = m.snapshot();
    expect(h.status).toBe('UNHEALTHY');
    expect(h.unhealthy).toEqual(['bad']);
    expect(h.counts.UNHEALTHY).toBe(1);
    expect(h.reasons.some((r) => r.includes('bad') && r.includes('10.0%'))).toBe(true);
  });

  it('is HEALTHY when every processor with data is, UNKNOWN when none has data', () => {
    const m = new HealthMonitor();
    m.processor('idle');
    expect(m.snapshot().status).toBe('UNKNOWN');
    feed(m, 'ok', 3, 0);
    expect(m.snapshot().status).toBe('HEALTHY');
  });

  it('an open breaker degrades the system; closed and half-open ones do not', () => {
    const breakers: BreakerSource[] = [
      { name: 'db', state: 'closed' },
      { name: 'search', state: 'halfOpen' },
    ];
    const m = new HealthMonitor({ breakers: () => breakers });
    feed(m, 'p', 10, 0);
    expect(m.snapshot().status).toBe('HEALTHY');
    expect(m.snapshot().breakers.map((b) => b.state)).toEqual(['closed', 'half_open']);
    breakers.push({ name: 'payments', state: 'OPEN' });
    const h = m.snapshot();
    expect(h.status).toBe('DEGRADED');
    expect(h.breakers.find((b) => b.name === 'payments')).toEqual({
      name: 'payments',
      state: 'open',
      status: 'DEGRADED',
    });
    expect(h.reasons).toContain('breaker payments is open');
    // An unhealthy processor still outranks an open breaker.
    feed(m, 'p', 0, 10);
    expect(m.snapshot().status).toBe('UNHEALTHY');
  });

  it('a failing breaker source is reported, not thrown', () => {
    const m = new HealthMonitor({
      breakers: () => {
        throw new Error('registry gone');
      },
    });
    feed(m, 'p', 1, 0);
    const h = m.snapshot();
    expect(h.status).toBe('HEALTHY');
    expect(h.reasons).toEqual(['breakers could not be read: registry gone']);
  });

  it('a queue paused by an auth failure makes the system UNHEALTHY; a manual pause does not', () => {
    const m = new HealthMonitor();
    feed(m, 'p', 10, 0);
    m.setPaused('mail', true, 'maintenance');
    expect(m.snapshot().status).toBe('HEALTHY');
    m.setPaused('mail', true, 'auth: token expired');
    const h = m.snapshot();
    expect(h.status).toBe('UNHEALTHY');
    expect(h.queues).toEqual([
      { name: 'mail', paused: true, pauseReason: 'auth: token expired', status: 'UNHEALTHY' },
    ]);
    m.setPaused('mail', false);
    expect(m.snapshot().status).toBe('HEALTHY');
  });

  it('keeps a bounded history of checks, oldest first', async () => {
    const clock = new ManualClock(0);
    const m = new HealthMonitor({ historySize: 3, clock });
    for (let i = 1; i <= 5; i++) {
      clock.set(i * 1000);
      if (i === 4) feed(m, 'p', 0, 1);
      await m.check();
    }
    const h = m.history();
    expect(h.map((r) => r.checkedAt)).toEqual([3000, 4000, 5000]);
    expect(h.map((r) => r.status)).toEqual(['UNKNOWN', 'UNHEALTHY', 'UNHEALTHY']);
  });

  it('reports as text and as JSON', () => {
    const m = new HealthMonitor({
      clock: new ManualClock(0),
      breakers: () => [{ name: 'api', state: 'open' }],
    });
    feed(m, 'mail', 9, 1);
    const text = m.report('text');
    expect(text).toContain('system: DEGRADED');
    expect(text).toContain('processor mail: DEGRADED, 90.0% of 10 calls');
    expect(text).toContain('breaker api: open');
    expect(formatHealth(m.snapshot())).toBe(text);
    const json = JSON.parse(m.report('json')) as ReturnType<HealthMonitor['snapshot']>;
    expect(json.status).toBe('DEGRADED');
    expect(json.processors[0]).toMatchObject({ name: 'mail', totals: { calls: 10, failures: 1 } });
  });

  it('normalizes breaker state names', () => {
    expect(['half-open', 'halfOpen', 'HALF_OPEN', 'Open', ' closed '].map(normalizeBreakerState)).toEqual([
      'half_open',
      'half_open',
      'half_open',
      'open',
      'closed',
    ]);
  });
});

describe('watching a real worker', () => {
  it('counts completions and failures, and sees an auth pause on the store', async () => {
    const store = sqliteStore({ path: ':memory:' });
    const q = new Queue<string>('mail', { store });
    const m = new HealthMonitor();
    const fast = { delayMs: 1, jitter: 'none' as const };
    await using w = new Worker(
      q,
      (ctx) => {
        if (ctx.payload === 'fail') throw new TransientError('smtp down');
        if (ctx.payload === 'auth') throw new AuthError('token expired');
      },
      { pollIntervalMs: 20 },
    );
    const stop = m.watch(w);
    expect(() => m.watch({} as never)).toThrow(ValidationError);
    await q.addBulk([
      ...Array.from({ length: 8 }, () => ({ payload: 'ok' })),
      { payload: 'fail', options: { maxAttempts: 2, backoff: fast } },
    ]);
    await waitFor(async () => (await q.counts()).dead === 1 && (await q.counts()).completed === 8, 'settled');
    let h = m.processor('mail').health();
    expect(h.totals).toEqual({ calls: 10, successes: 8, failures: 2 });
    expect(h.status).toBe('DEGRADED');
    expect(h.lastError).toBe('smtp down');

    const auth = await q.add('auth');
    await waitFor(() => m.snapshot().status === 'UNHEALTHY', 'auth pause seen');
    expect(m.snapshot().queues[0]).toMatchObject({ name: 'mail', paused: true });
    expect(m.snapshot().queues[0]!.pauseReason).toMatch(/^auth: token expired/);
    // Fixed and resumed by another process: check() reads the store.
    await q.cancel(auth.id);
    await store.resume('mail', Date.now());
    expect((await m.check()).queues[0]).toMatchObject({ paused: false, status: 'HEALTHY' });

    // Paused and resumed through the worker's own Queue object: seen at once, without a check().
    await q.pause('auth: key revoked');
    expect(m.snapshot().status).toBe('UNHEALTHY');
    await q.resume();
    expect(m.snapshot().queues[0]).toMatchObject({ paused: false, status: 'HEALTHY' });

    stop();
    h = m.processor('mail').health();
    await q.add('ok');
    await waitFor(async () => (await q.counts()).completed === 9, 'one more');
    expect(m.processor('mail').health().totals).toEqual(h.totals);
    expect(m.snapshot().queues).toEqual([]);
    await w.close();
    await store.close();
  });
});
