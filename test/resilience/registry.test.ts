import { describe, expect, it } from 'vitest';
import {
  AuthError,
  NotFoundError,
  RateLimitError,
  StateError,
  ValidationError,
  isNotFoundError,
} from '../../src/kernel/errors.js';
import { ErrorAnalytics } from '../../src/resilience/analytics.js';
import { isBrokenCircuitError } from '../../src/resilience/errors.js';
import { createRegistry, type DependencyEvents } from '../../src/resilience/registry.js';
import { FakeTime, flush } from './fake-time.js';

const reset = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

function setup() {
  const time = new FakeTime(1_000_000);
  const analytics = new ErrorAnalytics({ clock: time });
  const registry = createRegistry({ clock: time, timers: time, analytics });
  const events: string[] = [];
  const all: (keyof DependencyEvents)[] = [
    'breaker:open',
    'breaker:half_open',
    'breaker:close',
    'breaker:isolate',
    'retry',
    'retry:give_up',
    'timeout',
    'bulkhead:reject',
    'rate_limit:reject',
    'fallback',
    'failure',
  ];
  for (const e of all) registry.on(e, (p) => events.push(`${p.dependency}:${e}`));
  return { time, analytics, registry, events };
}

describe('dependency registry', () => {
  it('defines named dependencies and finds them; unknown names throw NotFoundError', () => {
    const { registry } = setup();
    const openai = registry.define('openai', { breaker: { consecutiveFailures: 3 } });
    registry.define('smtp', { breaker: false });
    expect(registry.get('openai')).toBe(openai);
    expect(registry.names()).toEqual(['openai', 'smtp']);
    expect(registry.get('smtp').breaker).toBeUndefined();
    expect(registry.get('smtp').state).toBe('closed');
    expect(() => registry.get('nope')).toThrow(NotFoundError);
    expect(
      isNotFoundError(
        (() => {
          try {
            registry.get('nope');
          } catch (e) {
            return e;
          }
        })(),
      ),
    ).toBe(true);
    expect(() => registry.define('openai')).toThrow(StateError);
    expect(() => registry.define('bad name!')).toThrow(ValidationError);
    expect(() => registry.define('x', { breakr: {} } as never)).toThrow(ValidationError);
    expect(() => registry.define('y', { breaker: { consecutiveFailures: -1 } })).toThrow(ValidationError);
    expect(registry.has('x')).toBe(false);
    expect(registry.has('y')).toBe(false);
  });

  it('composes retry, breaker and timeout, and emits an event for every state change', async () => {
    const { time, registry, events } = setup();
    const dep = registry.define('openai', {
      retry: { maxAttempts: 2, backoff: { type: 'constant', delayMs: 100, jitter: 'none' } },
      breaker: { consecutiveFailures: 2, breakDurationMs: 5000 },
      timeout: 1000,
    });
    const p = dep.execute(() => {
      throw reset();
    });
    const check = expect(p).rejects.toThrow('socket hang up');
    await time.tick(100);
    await check;
    expect(dep.state).toBe('open');
    expect(dep.availableInMs()).toBe(5000);
    expect(registry.availableInMs(['openai'])).toBe(5000);
    const rejected = await dep.execute(() => 'x').catch((e: unknown) => e);
    expect(isBrokenCircuitError(rejected)).toBe(true);
    expect(rejected).toMatchObject({ dependency: 'openai', retryAfterMs: 5000 });
    await time.tick(5000);
    expect(dep.availableInMs()).toBe(0);
    expect(dep.state).toBe('half_open');
    const slow = dep.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
    );
    // The probe times out; the breaker reopens; the retry's second try meets the open breaker.
    const slowCheck = expect(slow).rejects.toMatchObject({ name: 'BrokenCircuitError' });
    await time.tick(1000);
    expect(dep.state).toBe('open');
    await time.tick(100);
    await slowCheck;
    expect(events).toEqual([
      'openai:failure',
      'openai:retry',
      'openai:failure',
      'openai:breaker:open',
      'openai:retry:give_up', // attempts used up
      'openai:retry:give_up', // the open breaker's rejection is not retried
      'openai:breaker:half_open',
      'openai:timeout',
      'openai:failure',
      'openai:breaker:open',
      'openai:retry',
      'openai:retry:give_up',
    ]);
  });

  it('ignores errors that say nothing about the dependency: no breaker count, permit given back', async () => {
    const { time, registry } = setup();
    const dep = registry.define('crm', { breaker: { consecutiveFailures: 1, breakDurationMs: 100 } });
    for (const e of [new ValidationError('bad input'), new AuthError('expired'), new RateLimitError('429')]) {
      await dep.execute(() => Promise.reject(e)).catch(() => undefined);
    }
    expect(dep.state).toBe('closed');
    await dep.execute(() => Promise.reject(reset())).catch(() => undefined);
    expect(dep.state).toBe('open');
    await time.tick(100);
    await dep.execute(() => Promise.reject(new ValidationError('bad'))).catch(() => undefined);
    expect(dep.state).toBe('half_open');
    expect(dep.availableInMs()).toBe(0);
    await dep.execute(() => 'fine');
    expect(dep.state).toBe('closed');

    const custom = registry.define('custom', {
      breaker: { consecutiveFailures: 1 },
      ignore: (e) => (e as Error).message === 'meh',
    });
    await custom.execute(() => Promise.reject(new Error('meh'))).catch(() => undefined);
    expect(custom.state).toBe('closed');
  });

  it('reports bulkhead and rate-limit rejections without counting them against the breaker', async () => {
    const { registry, events } = setup();
    const dep = registry.define('pdf', {
      breaker: { consecutiveFailures: 1 },
      bulkhead: { maxConcurrent: 1 },
      rateLimit: { limit: 2, intervalMs: 60_000 },
    });
    let release!: () => void;
    const first = dep.execute(() => new Promise<void>((r) => (release = r)));
    await expect(dep.execute(() => 'x')).rejects.toMatchObject({ code: 'BULKHEAD_FULL' });
    release();
    await first;
    await expect(dep.execute(() => 'x')).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: 30_000,
    });
    expect(dep.state).toBe('closed');
    expect(dep.availableInMs()).toBe(30_000);
    expect(events).toEqual(['pdf:bulkhead:reject', 'pdf:rate_limit:reject']);
    expect(dep.stats()).toMatchObject({
      name: 'pdf',
      state: 'closed',
      bulkhead: { active: 0, queued: 0, maxConcurrent: 1 },
      rateLimit: { capacity: 2 },
    });
  });

  it('isolates by hand and falls back', async () => {
    const { registry, events } = setup();
    const dep = registry.define('geo', { fallback: { value: 'unknown' } });
    const handle = dep.breaker!.isolate();
    expect(dep.availableInMs()).toBe(Infinity);
    await expect(dep.execute(() => 'real')).resolves.toBe('unknown');
    handle.dispose();
    await expect(dep.execute(() => 'real')).resolves.toBe('real');
    expect(events).toEqual(['geo:breaker:isolate', 'geo:fallback', 'geo:breaker:close']);
  });

  it('feeds error analytics with the dependency name', async () => {
    const { registry, analytics } = setup();
    const dep = registry.define('search', { breaker: { consecutiveFailures: 100 } });
    for (let i = 0; i < 3; i++) {
      await dep
        .execute(() => Promise.reject(new Error(`upstream 503 for request ${1000 + i}`)))
        .catch(() => undefined);
    }
    const nob = registry.define('nobreaker', { breaker: false });
    await nob.execute(() => Promise.reject(reset())).catch(() => undefined);
    await flush();
    const top = analytics.top({ dependency: 'search' });
    expect(top).toHaveLength(1);
    expect(top[0]).toMatchObject({
      pattern: 'Error: upstream <n> for request <n>',
      count: 3,
      dependencies: ['search'],
    });
    expect(analytics.top({ dependency: 'nobreaker' })[0]).toMatchObject({ category: 'transient', count: 1 });
  });

  it('saves and restores every breaker', async () => {
    const { registry, time } = setup();
    registry.define('a', { breaker: { consecutiveFailures: 1, breakDurationMs: 10_000 } });
    registry.define('b');
    await registry
      .get('a')
      .execute(() => Promise.reject(reset()))
      .catch(() => undefined);
    registry.get('b').breaker!.isolate();
    const saved = JSON.parse(JSON.stringify(registry.toJSON())) as ReturnType<typeof registry.toJSON>;

    const again = createRegistry({ clock: time, timers: time });
    again.define('a', { breaker: { consecutiveFailures: 1, breakDurationMs: 10_000 } });
    again.define('b');
    const handles = again.restore(saved);
    expect(again.get('a').state).toBe('open');
    expect(again.get('b').state).toBe('isolated');
    handles['b']!.dispose();
    expect(again.get('b').state).toBe('closed');
    expect(again.stats().map((s) => [s.name, s.state])).toEqual([
      ['a', 'open'],
      ['b', 'closed'],
    ]);
  });
});
