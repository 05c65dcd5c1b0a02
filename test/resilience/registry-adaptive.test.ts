/** Adaptive limits per dependency in the registry: one slow service lowers only its own limit. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { ValidationError } from '../../src/kernel/errors.js';
import { isBrokenCircuitError } from '../../src/resilience/errors.js';
import { createRegistry, type Dependency, type DependencyEvents } from '../../src/resilience/registry.js';
import { flush } from './fake-time.js';

/**
 * After an idle second (the limiter measures calls that end well after its last change), runs `n`
 * calls through `dep` that each take `ms` of the manual clock.
 */
async function round(dep: Dependency, clock: ManualClock, n: number, ms: number): Promise<void> {
  clock.advance(1000);
  const opens: (() => void)[] = [];
  const calls = Array.from({ length: n }, () =>
    dep.execute(() => new Promise<void>((resolve) => opens.push(resolve))),
  );
  await flush();
  // Calls over the limit wait in line: let each wave finish before the next starts.
  while (opens.length > 0) {
    clock.advance(ms);
    for (const open of opens.splice(0)) open();
    await flush();
  }
  await Promise.all(calls);
}

describe('registry: adaptive limits', () => {
  it('gives each dependency its own limiter: a slow one shrinks, a fast one keeps growing', async () => {
    const clock = new ManualClock(0);
    const registry = createRegistry({ clock });
    const changes: DependencyEvents['adaptive:limit'][] = [];
    registry.on('adaptive:limit', (e) => changes.push(e));
    const slow = registry.define('slow', { adaptive: { initial: 8, minWindowCalls: 8 } });
    const fast = registry.define('fast', { adaptive: { minWindowCalls: 4 } });
    expect(slow.limiter).toBe(slow.adaptive!.limiter);
    expect(fast.limiter!.limit).toBe(4);
    expect(registry.define('defaults', { adaptive: true }).limiter!.stats()).toMatchObject({
      limit: 4,
      max: 1000,
    });

    await round(slow, clock, 8, 5); // baseline 5 ms; doubles to 16
    await round(fast, clock, 4, 5);
    await round(fast, clock, 8, 5);
    // The slow service now queues: 16 in flight take four times its baseline, so it serves 4 at
    // no-load speed; the limit would go to 4 + the middle of the allowance (3 × log10(16)) = 7.6,
    // but one window never more than halves it.
    await round(slow, clock, 16, 20);
    await round(slow, clock, 16, 20);
    await round(fast, clock, 16, 5);

    expect(changes.filter((c) => c.dependency === 'slow').map((c) => [c.from, c.to, c.reason])).toEqual([
      [8, 16, 'grow'],
      [16, 8, 'queueing'],
    ]);
    expect(changes.filter((c) => c.dependency === 'fast').map((c) => c.reason)).toEqual([
      'grow',
      'grow',
      'grow',
    ]);
    expect(fast.limiter!.limit).toBe(32);
    const stats = Object.fromEntries(registry.stats().map((s) => [s.name, s.adaptive]));
    expect(stats.slow).toMatchObject({ limit: 8, inflight: 0, baselineMs: 5 });
    expect(stats.fast).toMatchObject({ limit: 32, inflight: 0 });
  });

  it('an open breaker rejects before the limiter: no permit is taken', async () => {
    const registry = createRegistry({ clock: new ManualClock(0) });
    const dep = registry.define('api', { breaker: { consecutiveFailures: 1 }, adaptive: true });
    await dep.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    expect(dep.state).toBe('open');
    const e = await dep.execute(() => 'never').catch((x: unknown) => x);
    expect(isBrokenCircuitError(e)).toBe(true);
    expect([dep.limiter!.inflight, dep.limiter!.queued]).toEqual([0, 0]);
  });

  it('rejects bad adaptive options with a ValidationError and registers nothing', () => {
    const registry = createRegistry();
    expect(() => registry.define('x', { adaptive: { min: 0 } })).toThrow(ValidationError);
    expect(() => registry.define('x', { adaptive: 5 as never })).toThrow(ValidationError);
    expect(() => registry.define('x', { adaptive: { initial: 10, max: 5 } })).toThrow(ValidationError);
    expect(registry.has('x')).toBe(false);
    expect(registry.define('x', {}).limiter).toBeUndefined();
  });
});
