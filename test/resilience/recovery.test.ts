/** Recovery actions on breaker and health transitions, declared per dependency. */
import { describe, expect, it } from 'vitest';
import { createCache } from '../../src/cache/cache.js';
import {
  ClosedError,
  NotFoundError,
  StateError,
  TimeoutError,
  ValidationError,
} from '../../src/kernel/errors.js';
import { AdaptiveLimiter } from '../../src/resilience/adaptive-limiter.js';
import { alert, clearCache, failover, lowerConcurrency } from '../../src/resilience/recovery-actions.js';
import { createRecovery, type RecoveryEvent, type RecoveryOutcome } from '../../src/resilience/recovery.js';
import { createRegistry } from '../../src/resilience/registry.js';
import { FakeTime, flush } from './fake-time.js';

const down = (): Promise<never> =>
  Promise.reject(Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' }));

describe('recovery actions in the registry', () => {
  it('on breaker open: fails over, clears the cache, lowers the adaptive limit, alerts, in that order', async () => {
    const time = new FakeTime(1_000_000);
    const registry = createRegistry({ clock: time, timers: time });
    const cache = createCache<string, string>({ maxEntries: 10 });
    cache.set('q', 'stale answer');
    const endpoints = failover(['https://a.example', 'https://b.example']);
    const alerts: RecoveryEvent[] = [];
    const closed: string[] = [];
    const outcomes: RecoveryOutcome[] = [];
    registry.on('recovery:action', (e) => outcomes.push(e));
    const search = registry.define('search', {
      breaker: { consecutiveFailures: 2, breakDurationMs: 1000 },
      adaptive: { initial: 40 },
      recovery: {
        'breaker:open': [
          endpoints,
          clearCache(cache, { name: 'clear-cache:answers' }),
          lowerConcurrency({ ratio: 0.25 }),
          alert((e) => {
            alerts.push(e);
          }),
        ],
        'breaker:close': [alert((e) => closed.push(`${e.dependency} ${e.trigger}`))],
      },
    });
    await search.execute(down).catch(() => {});
    await search.execute(down).catch(() => {});
    expect(search.state).toBe('open');
    await registry.recovery.idle();

    expect(endpoints.current).toBe('https://b.example');
    expect(cache.size).toBe(0);
    expect(search.limiter!.limit).toBe(10);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ dependency: 'search', trigger: 'breaker:open', at: 1_000_000 });
    expect(alerts[0]!.detail).toMatchObject({ dependency: 'search', to: 'open' });
    expect(outcomes.map((o) => [o.action, o.ok])).toEqual([
      ['failover', true],
      ['clear-cache:answers', true],
      ['lower-concurrency', true],
      ['alert', true],
    ]);

    // The breaker half-opens, a probe succeeds, it closes: the close plan runs.
    await time.tick(1000);
    await search.execute(() => 'ok');
    await registry.recovery.idle();
    expect(closed).toEqual(['search breaker:close']);
    // Nothing waits between triggers: no timer is left.
    expect(time.pending).toBe(0);
  });

  it('runs health plans on request; unknown dependencies and triggers are refused', async () => {
    const registry = createRegistry();
    const seen: string[] = [];
    registry.define('db', {
      recovery: { 'health:unhealthy': [alert((e) => seen.push(`${e.trigger}: ${String(e.detail)}`))] },
    });
    const out = await registry.recover('db', 'health:unhealthy', 'etl is UNHEALTHY');
    expect(out).toMatchObject([{ action: 'alert', ok: true }]);
    expect(seen).toEqual(['health:unhealthy: etl is UNHEALTHY']);
    expect(await registry.recover('db', 'health:healthy')).toEqual([]);
    expect(() => registry.recover('nope', 'health:unhealthy')).toThrow(NotFoundError);
    expect(() => registry.recover('db', 'health:bad' as never)).toThrow(ValidationError);
  });

  it('rejects a bad plan with a ValidationError and registers nothing; delete() drops the plan', async () => {
    const registry = createRegistry();
    expect(() => registry.define('x', { recovery: { 'breaker:oops': [] } as never })).toThrow(
      ValidationError,
    );
    expect(() => registry.define('x', { recovery: { 'breaker:open': [{ name: 'x' }] } as never })).toThrow(
      ValidationError,
    );
    expect(() => registry.define('x', { recovery: [] as never })).toThrow(ValidationError);
    expect(registry.has('x')).toBe(false);
    let runs = 0;
    registry.define('x', { recovery: { 'health:degraded': [alert(() => void runs++)] } });
    registry.delete('x');
    registry.define('x', {});
    await registry.recover('x', 'health:degraded');
    expect(runs).toBe(0);
  });
});

describe('recovery runner', () => {
  it('reports a failing action and still runs the next; lowerConcurrency fails without a limiter', async () => {
    const r = createRecovery();
    const ran: string[] = [];
    r.plan('mail', {
      'breaker:open': [
        {
          name: 'flaky',
          run: () => {
            throw new Error('hook down');
          },
        },
        lowerConcurrency(),
        alert(() => void ran.push('alert')),
      ],
    });
    const out = await r.trigger('mail', 'breaker:open');
    expect(out.map((o) => [o.action, o.ok])).toEqual([
      ['flaky', false],
      ['lower-concurrency', false],
      ['alert', true],
    ]);
    expect(out[0]!.error).toMatchObject({ message: 'hook down' });
    expect(out[1]!.error).toBeInstanceOf(StateError);
    expect(ran).toEqual(['alert']);
  });

  it('lowers a limiter given to it (e.g. a worker’s) rather than the dependency’s own', async () => {
    const limiter = new AdaptiveLimiter({ initial: 64 });
    const r = createRecovery();
    r.plan('api', { 'breaker:open': [lowerConcurrency({ limiter })] });
    await r.trigger('api', 'breaker:open');
    expect(limiter.limit).toBe(32);
  });

  it('aborts an action past its time limit and reports a TimeoutError', async () => {
    const time = new FakeTime(0);
    const r = createRecovery({ clock: time, timers: time, actionTimeoutMs: 500 });
    let signal: AbortSignal | undefined;
    r.plan('slow', {
      'breaker:open': [
        {
          name: 'hangs',
          run: (e) => {
            signal = e.signal;
            return new Promise(() => {});
          },
        },
      ],
    });
    const pending = r.trigger('slow', 'breaker:open');
    await time.tick(500);
    const [outcome] = await pending;
    expect(outcome).toMatchObject({ action: 'hangs', ok: false, durationMs: 500 });
    expect(outcome!.error).toBeInstanceOf(TimeoutError);
    expect(signal!.aborted).toBe(true);
    expect(time.pending).toBe(0);
  });

  it('never overlaps two runs of one dependency; other dependencies run meanwhile', async () => {
    const r = createRecovery();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    r.plan('a', {
      'breaker:open': [
        {
          name: 'slow',
          run: async () => {
            log.push('a open start');
            await gate;
            log.push('a open end');
          },
        },
      ],
      'breaker:close': [alert(() => void log.push('a close'))],
    });
    r.plan('b', { 'breaker:open': [alert(() => void log.push('b open'))] });
    const first = r.trigger('a', 'breaker:open');
    const second = r.trigger('a', 'breaker:close');
    await r.trigger('b', 'breaker:open');
    expect(log).toEqual(['a open start', 'b open']);
    release();
    await Promise.all([first, second]);
    expect(log).toEqual(['a open start', 'b open', 'a open end', 'a close']);
  });

  it('close() aborts running actions and refuses new triggers', async () => {
    const r = createRecovery();
    r.plan('x', {
      'breaker:open': [
        {
          name: 'waits',
          run: (e) =>
            new Promise((_, reject) => e.signal.addEventListener('abort', () => reject(e.signal.reason))),
        },
      ],
    });
    const pending = r.trigger('x', 'breaker:open');
    await flush();
    await r.close();
    const [outcome] = await pending;
    expect(outcome!.error).toBeInstanceOf(ClosedError);
    await expect(r.trigger('x', 'breaker:open')).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('built-in actions', () => {
  it('failover moves along the list, wraps or stays on the last, tells listeners, resets', () => {
    const f = failover(['a', 'b', 'c']);
    const seen: string[] = [];
    f.on('failover', (e) => seen.push(`${e.from}→${e.to}`));
    expect([f.next(), f.next(), f.next()]).toEqual(['b', 'c', 'a']);
    expect(seen).toEqual(['a→b', 'b→c', 'c→a']);
    const stay = failover([1, 2], { wrap: false });
    expect([stay.next(), stay.next(), stay.index]).toEqual([2, 2, 1]);
    stay.reset();
    expect(stay.current).toBe(1);
  });

  it('rejects bad input with a ValidationError', () => {
    expect(() => failover([])).toThrow(ValidationError);
    expect(() => failover(['a'], { wrap: 'yes' } as never)).toThrow(ValidationError);
    expect(() => lowerConcurrency({ ratio: 2 })).toThrow(ValidationError);
    expect(() => lowerConcurrency({ limiter: {} as never })).toThrow(ValidationError);
    expect(() => clearCache({} as never)).toThrow(ValidationError);
    expect(() => alert(5 as never)).toThrow(ValidationError);
    expect(() => createRecovery({ actionTimeoutMs: 0 })).toThrow(ValidationError);
    expect(() => createRecovery().plan('', {})).toThrow(ValidationError);
  });
});
