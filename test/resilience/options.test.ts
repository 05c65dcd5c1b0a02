/**
 * Every factory and entry point of `bulwark/resilience` checks its options at the boundary: an
 * unknown key (a typo), a wrong type, NaN, a negative or a missing required option is a
 * ValidationError naming the option's path, and nothing is created. Good options still work.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/kernel/errors.js';
import {
  AdaptiveLimiter,
  ErrorAnalytics,
  Policy,
  RetryBudget,
  ValidationError,
  adaptive,
  adaptiveLimiter,
  alert,
  bulkhead,
  circuitBreaker,
  classify,
  clearCache,
  createRecovery,
  createRegistry,
  failover,
  fallback,
  lowerConcurrency,
  noop,
  parseRetryAfter,
  rateLimit,
  resolveBackoff,
  retry,
  timeout,
  wrap,
} from '../../src/resilience/index.js';

/** Calls `make` and returns the ValidationError it throws (failing the test on anything else). */
function refused(make: () => unknown): ValidationError {
  let thrown: unknown;
  try {
    make();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a ValidationError').toBeInstanceOf(ValidationError);
  return thrown as ValidationError;
}

type Make = (options: unknown) => unknown;
/** A bad input and the path its error must name. */
type Bad = [label: string, input: unknown, path: string];

interface Case {
  name: string;
  make: Make;
  bad: Bad[];
  good: unknown;
  /** Proves what `make(good)` made works. */
  check?: (made: unknown) => Promise<void> | void;
}

const runs = async (made: unknown): Promise<void> => {
  expect(made).toBeInstanceOf(Policy);
  await expect((made as Policy).execute(() => 42)).resolves.toBe(42);
};

const cases: Case[] = [
  {
    name: 'retry',
    make: (o) => retry(o as never),
    bad: [
      ['typos', { maxAttemps: 10, backof: 5 }, 'retry.maxAttemps'],
      ['typo in backoff', { backoff: { delay: 5 } }, 'retry.backoff.delay'],
      ['typo in retryOn', { retryOn: { categorys: ['transient'] } }, 'retry.retryOn.categorys'],
      ['NaN attempts', { maxAttempts: NaN }, 'retry.maxAttempts'],
      ['negative attempts', { maxAttempts: -1 }, 'retry.maxAttempts'],
      ['fractional attempts', { maxAttempts: 1.5 }, 'retry.maxAttempts'],
      ['Infinity attempts', { maxAttempts: Infinity }, 'retry.maxAttempts'],
      ['string attempts', { maxAttempts: '3' }, 'retry.maxAttempts'],
      ['negative delay', { backoff: { delayMs: -1 } }, 'retry.backoff.delayMs'],
      ['NaN delay', { backoff: { delayMs: NaN } }, 'retry.backoff.delayMs'],
      ['bad jitter', { backoff: { jitter: 'random' } }, 'retry.backoff.jitter'],
      ['bad backoff type', { backoff: { type: 'fibonacci' } }, 'retry.backoff.type'],
      ['custom backoff without delay', { backoff: { type: 'custom' } }, 'retry.backoff.delay'],
      ['unknown category', { retryOn: { categories: ['transiant'] } }, 'retry.retryOn.categories.0'],
      ['budget without ratio', { budget: {} }, 'retry.budget.ratio'],
      ['not an object', 5, 'retry'],
    ],
    good: { maxAttempts: 2, backoff: { delayMs: 0 } },
    check: runs,
  },
  {
    name: 'circuitBreaker',
    make: (o) => circuitBreaker(o as never),
    bad: [
      ['typo', { consecutiveFailure: 3 }, 'breaker.consecutiveFailure'],
      ['NaN', { consecutiveFailures: NaN }, 'breaker.consecutiveFailures'],
      ['negative', { breakDurationMs: -1 }, 'breaker.breakDurationMs'],
      ['Infinity', { breakDurationMs: Infinity }, 'breaker.breakDurationMs'],
      ['rate above 1', { failureRateThreshold: 1.5 }, 'breaker.failureRateThreshold'],
      ['bad window type', { failureRateThreshold: 0.5, window: { type: 'sliding' } }, 'breaker.window.type'],
      [
        'typo in window',
        { failureRateThreshold: 0.5, window: { type: 'count', sise: 5 } },
        'breaker.window.sise',
      ],
      ['window without a rate', { window: { type: 'count', size: 10 } }, 'breaker.window'],
      ['minimumCalls without a rate', { minimumCalls: 5 }, 'breaker.minimumCalls'],
      ['isFailure not a function', { isFailure: true }, 'breaker.isFailure'],
    ],
    good: { consecutiveFailures: 2 },
    check: runs,
  },
  {
    name: 'timeout',
    make: (o) => timeout(o as never),
    bad: [
      ['missing timeoutMs', {}, 'timeout.timeoutMs'],
      ['typo', { timeoutMS: 100 }, 'timeout.timeoutMS'],
      ['NaN', NaN, 'timeout.timeoutMs'],
      ['negative', -5, 'timeout.timeoutMs'],
      ['Infinity', Infinity, 'timeout.timeoutMs'],
      ['bad strategy', { timeoutMs: 100, strategy: 'eager' }, 'timeout.strategy'],
      ['unknown key', { timeoutMs: 100, stratgy: 'aggressive' }, 'timeout.stratgy'],
      ['null', null, 'timeout.timeoutMs'],
    ],
    good: { timeoutMs: 1000, strategy: 'aggressive' },
    check: runs,
  },
  {
    name: 'bulkhead',
    make: (o) => bulkhead(o as never),
    bad: [
      ['missing maxConcurrent', {}, 'bulkhead.maxConcurrent'],
      ['zero', 0, 'bulkhead.maxConcurrent'],
      ['NaN', NaN, 'bulkhead.maxConcurrent'],
      ['negative queue', { maxConcurrent: 1, maxQueue: -1 }, 'bulkhead.maxQueue'],
      ['typo', { maxConcurrent: 1, maxQueued: 5 }, 'bulkhead.maxQueued'],
    ],
    good: 2,
    check: runs,
  },
  {
    name: 'rateLimit',
    make: (o) => rateLimit(o as never),
    bad: [
      ['missing limit', {}, 'rateLimit.limit'],
      ['NaN limit', { limit: NaN }, 'rateLimit.limit'],
      ['negative limit', { limit: -1 }, 'rateLimit.limit'],
      ['Infinity limit', { limit: Infinity }, 'rateLimit.limit'],
      ['typo', { limit: 5, intervalMS: 1000 }, 'rateLimit.intervalMS'],
      ['burst below one', { limit: 5, burst: 0.5 }, 'rateLimit.burst'],
    ],
    good: { limit: 10, intervalMs: 1000 },
    check: runs,
  },
  {
    name: 'fallback',
    make: (o) => fallback(o as never),
    bad: [
      ['nothing to fall back on', {}, 'fallback'],
      ['undefined', undefined, 'fallback'],
      ['null', null, 'fallback'],
      ['typo', { vaule: 1 }, 'fallback.vaule'],
      ['fn not a function', { fn: 5 }, 'fallback.fn'],
      ['cache without key', { cache: new Map() }, 'fallback.key'],
    ],
    good: { value: 0 },
    check: runs,
  },
  {
    name: 'adaptive',
    make: (o) => adaptive(o as never),
    bad: [
      ['typo', { maxx: 10 }, 'adaptive limiter options.maxx'],
      ['NaN', { max: NaN }, 'adaptive limiter options.max'],
      ['min above max', { min: 10, max: 5 }, 'adaptive limiter options.min'],
      ['negative queue', { maxQueue: -1 }, 'adaptive limiter options.maxQueue'],
    ],
    good: { min: 1, max: 10 },
    check: runs,
  },
  {
    name: 'adaptiveLimiter',
    make: (o) => adaptiveLimiter(o as never),
    bad: [
      ['typo', { intial: 4 }, 'adaptive limiter options.intial'],
      ['Infinity backoff ratio', { backoffRatio: Infinity }, 'adaptive limiter options.backoffRatio'],
    ],
    good: { initial: 2 },
    check: (l) => {
      expect(l).toBeInstanceOf(AdaptiveLimiter);
      expect((l as AdaptiveLimiter).limit).toBe(2);
    },
  },
  {
    name: 'wrap',
    make: (o) => wrap(...(o as never[])),
    bad: [
      ['a number and null', [5, null], 'wrap.0'],
      ['null after a policy', [noop(), null], 'wrap.1'],
      ['a plain object', [{ execute: () => 1 }], 'wrap.0'],
      ['options instead of a policy', [retry(), { maxAttempts: 3 }], 'wrap.1'],
    ],
    good: [retry({ maxAttempts: 2, backoff: { delayMs: 0 } }), circuitBreaker(), timeout(1000)],
    check: runs,
  },
  {
    name: 'RetryBudget',
    make: (o) => new RetryBudget(o as never),
    bad: [
      ['missing ratio', {}, 'budget.ratio'],
      ['NaN ratio', { ratio: NaN }, 'budget.ratio'],
      ['typo', { ratio: 0.1, minRetry: 1 }, 'budget.minRetry'],
    ],
    good: { ratio: 0.2, minRetries: 1 },
    check: (b) => expect((b as RetryBudget).tryRetry()).toBe(true),
  },
  {
    name: 'resolveBackoff',
    make: (o) => resolveBackoff(o as never),
    bad: [
      ['typo', { delay: 5 }, 'backoff.delay'],
      ['NaN', { delayMs: NaN }, 'backoff.delayMs'],
      ['negative', { maxDelayMs: -1 }, 'backoff.maxDelayMs'],
      ['factor below one', { factor: 0.5 }, 'backoff.factor'],
      ['bad jitter', { jitter: 'some' }, 'backoff.jitter'],
    ],
    good: { type: 'constant', delayMs: 50 },
    check: (b) => expect(b).toMatchObject({ type: 'constant', delayMs: 50, jitter: 'full' }),
  },
  {
    name: 'createRegistry',
    make: (o) => createRegistry(o as never),
    bad: [
      ['typo', { clocks: Date }, 'registry.clocks'],
      ['negative timeout', { recoveryTimeoutMs: -1 }, 'registry.recoveryTimeoutMs'],
      ['rules not functions', { classifyRules: [5] }, 'registry.classifyRules.0'],
    ],
    good: {},
  },
  {
    name: 'ErrorAnalytics',
    make: (o) => new ErrorAnalytics(o as never),
    bad: [
      ['typo', { bucketMS: 1000 }, 'analytics.bucketMS'],
      ['NaN', { buckets: NaN }, 'analytics.buckets'],
      ['falling rates', { severityRates: { medium: 10, high: 1 } }, 'analytics.severityRates'],
    ],
    good: { buckets: 10 },
    check: (a) => {
      const analytics = a as ErrorAnalytics;
      analytics.record({ category: 'transient', error: new Error('x') });
      expect(analytics.summary().total).toBe(1);
    },
  },
  {
    name: 'createRecovery',
    make: (o) => createRecovery(o as never),
    bad: [
      ['typo', { actionTimeout: 5 }, 'recovery options.actionTimeout'],
      ['zero timeout', { actionTimeoutMs: 0 }, 'recovery options.actionTimeoutMs'],
    ],
    good: { actionTimeoutMs: 1000 },
  },
  {
    name: 'failover',
    make: (o) => failover(...(o as [string[], never])),
    bad: [
      ['no endpoints', [[]], 'endpoints'],
      ['typo', [['a', 'b'], { wrapp: false }], 'failover options.wrapp'],
    ],
    good: [['a', 'b'], { wrap: false }],
    check: (f) => expect((f as { current: string }).current).toBe('a'),
  },
  {
    name: 'lowerConcurrency',
    make: (o) => lowerConcurrency(o as never),
    bad: [
      ['ratio above 1', { ratio: 2 }, 'lowerConcurrency options.ratio'],
      ['NaN ratio', { ratio: NaN }, 'lowerConcurrency options.ratio'],
      ['typo', { ration: 0.5 }, 'lowerConcurrency options.ration'],
    ],
    good: { ratio: 0.5 },
  },
  {
    name: 'clearCache',
    make: (o) => clearCache(...(o as [Map<string, string>, never])),
    bad: [
      ['no cache', [null], 'cache'],
      ['typo', [new Map(), { nam: 'x' }], 'clearCache options.nam'],
    ],
    good: [new Map(), { name: 'clear-users' }],
  },
  {
    name: 'alert',
    make: (o) => alert(...(o as [() => void, never])),
    bad: [
      ['no hook', [undefined], 'hook'],
      ['typo', [() => {}, { title: 'x' }], 'alert options.title'],
    ],
    good: [() => {}],
  },
];

describe('resilience options are checked at the boundary', () => {
  for (const c of cases) {
    describe(c.name, () => {
      it.each(c.bad)('refuses %s', (_label, input, path) => {
        const e = refused(() => c.make(input));
        expect(e.path).toBe(path);
        expect(e.message).toMatch(/^\[bulwark\] invalid /);
        expect(e.message).toContain(path);
        expect(e.message).not.toContain('Invalid input');
      });
      it('accepts good options', async () => {
        const made = c.make(c.good);
        await c.check?.(made);
      });
    });
  }

  it('names the known options of a typo, and every unknown key', () => {
    const e = refused(() => retry({ maxAttemps: 10, backof: 5 } as never));
    expect(e.message).toContain('unknown option (did you mean maxAttempts?)');
    expect(e.message).toContain('backof');
    expect(e.message).toContain('maxAttempts');
  });

  it('names the accepted values of an enum and the kinds of a union', () => {
    expect(refused(() => timeout({ timeoutMs: 10, strategy: 'eager' as never })).message).toMatch(
      /"cooperative".*"aggressive".*got "eager"/,
    );
    const d = refused(() => createRegistry().define('db', { breaker: true as never }));
    expect(d.message).toBe(
      "[bulwark] invalid dependency 'db'.breaker: expected false or an object, got true",
    );
  });

  it('wrap(5, null) is refused when made, not at execute', () => {
    const e = refused(() => wrap(5 as never, null as never));
    expect(e.message).toContain('expected a policy');
  });

  it('circuitBreaker() and circuitBreaker({}) keep the documented defaults', async () => {
    // Like opossum and Polly v8 (and unlike cockatiel, which needs a breaker strategy), a breaker
    // with no options opens after 5 consecutive failures and stays open 30 s.
    for (const b of [circuitBreaker(), circuitBreaker({})]) {
      for (let i = 0; i < 5; i++) {
        await expect(b.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
      }
      expect(b.state).toBe('open');
    }
  });

  describe('the registry', () => {
    it.each<Bad>([
      ['a typo in retry', { retry: { maxAttemps: 3 } }, "dependency 'db'.retry.maxAttemps"],
      ['a NaN timeout', { timeout: NaN }, "dependency 'db'.timeout"],
      [
        'a bad timeout strategy',
        { timeout: { timeoutMs: 5, strategy: 'x' } },
        "dependency 'db'.timeout.strategy",
      ],
      ['a zero bulkhead', { bulkhead: 0 }, "dependency 'db'.bulkhead"],
      ['a typo in the breaker', { breaker: { breakDuration: 5 } }, "dependency 'db'.breaker.breakDuration"],
      ['a bad adaptive', { adaptive: { max: -1 } }, "dependency 'db'.adaptive.max"],
      ['a rate limit without limit', { rateLimit: {} }, "dependency 'db'.rateLimit.limit"],
      ['an empty fallback', { fallback: {} }, "dependency 'db'.fallback"],
      ['a name the registry sets', { breaker: { name: 'x' } }, "dependency 'db'.breaker.name"],
      ['a clock the registry sets', { retry: { clock: { now: () => 0 } } }, "dependency 'db'.retry.clock"],
      ['a typo at the top', { retyr: {} }, "dependency 'db'.retyr"],
      [
        'an unknown recovery trigger',
        { recovery: { 'breaker:opne': [] } },
        "dependency 'db'.recovery.breaker:opne",
      ],
    ])('refuses %s and registers nothing', (_label, options, path) => {
      const registry = createRegistry();
      const e = refused(() => registry.define('db', options as never));
      expect(e.path).toBe(path);
      expect(e.message).toContain(path);
      expect(registry.has('db')).toBe(false);
      expect(() => registry.get('db')).toThrow(NotFoundError);
      // The name is still free: a good definition works.
      const dep = registry.define('db', {
        retry: { maxAttempts: 2, backoff: { delayMs: 0 } },
        timeout: 1000,
      });
      return expect(dep.execute(() => 7)).resolves.toBe(7);
    });
  });

  describe('entry points beside the factories', () => {
    it('classify refuses rules that are not functions', () => {
      expect(refused(() => classify(new Error('x'), 5 as never)).path).toBe('rules');
      expect(refused(() => classify(new Error('x'), [() => undefined, 'transient'] as never)).path).toBe(
        'rules.1',
      );
      expect(classify(new Error('x'), [() => 'transient']).category).toBe('transient');
    });

    it('parseRetryAfter refuses a NaN clock', () => {
      expect(refused(() => parseRetryAfter('5', NaN)).path).toBe('now');
      expect(parseRetryAfter('5', 0)).toBe(5000);
    });

    it('analytics record and query refuse typos', () => {
      const a = new ErrorAnalytics();
      expect(refused(() => a.record({ categroy: 'transient', error: 1 } as never)).path).toBe(
        'record.categroy',
      );
      expect(refused(() => a.top({ limt: 5 } as never)).path).toBe('query.limt');
      expect(refused(() => a.summary({ windowMS: 5 } as never)).path).toBe('summary.windowMS');
    });

    it('a rate limiter refuses a NaN cost', () => {
      expect(refused(() => rateLimit({ limit: 5 }).tryAcquire(NaN)).path).toBe('cost');
    });
  });
});

/** Values an option might be given: good ones, bad ones, and the wrong kinds. */
const anyValue = fc.oneof(
  fc.constantFrom(0, 1, 2, 0.5, 1.5, -1, 100, 1e9, NaN, Infinity, -Infinity),
  fc.integer({ min: -10, max: 10_000 }),
  fc.constantFrom('', 'x', 'cooperative', 'aggressive', 'exponential', 'full', 'count', 'custom'),
  fc.constantFrom(true, false, null, undefined),
  fc.constant(() => true),
  fc.constant({}),
  fc.constant([]),
);

/** Options built from the real keys, typos of them and the values above (nested once). */
function optionsOf(keys: string[]): fc.Arbitrary<Record<string, unknown>> {
  const key = fc.constantFrom(...keys, ...keys.map((k) => k.slice(0, -1)), 'foo');
  const value = fc.oneof(
    { arbitrary: anyValue, weight: 4 },
    {
      arbitrary: fc.dictionary(fc.constantFrom('type', 'delayMs', 'size', 'ms', 'jitter', 'x'), anyValue, {
        maxKeys: 3,
      }),
      weight: 1,
    },
  );
  return fc.dictionary(key, value, { maxKeys: 4 });
}

const factories: [string, (o: Record<string, unknown>) => Policy, string[]][] = [
  [
    'retry',
    (o) => retry(o),
    ['maxAttempts', 'backoff', 'retryOn', 'honorRetryAfter', 'maxRetryAfterMs', 'retryOnResult'],
  ],
  [
    'circuitBreaker',
    (o) => circuitBreaker(o),
    [
      'consecutiveFailures',
      'failureRateThreshold',
      'breakDurationMs',
      'window',
      'minimumCalls',
      'halfOpenProbes',
    ],
  ],
  ['timeout', (o) => timeout(o as never), ['timeoutMs', 'strategy', 'name']],
  ['bulkhead', (o) => bulkhead(o as never), ['maxConcurrent', 'maxQueue', 'name']],
  ['rateLimit', (o) => rateLimit(o as never), ['limit', 'intervalMs', 'burst', 'name']],
  ['fallback', (o) => fallback(o), ['value', 'fn', 'when']],
  ['adaptive', (o) => adaptive(o), ['min', 'max', 'initial', 'maxQueue', 'backoffRatio']],
  [
    'registry',
    (o) => createRegistry().define('d', o).policy,
    ['retry', 'timeout', 'bulkhead', 'breaker', 'rateLimit'],
  ],
];

describe('property: any options either throw a ValidationError or make a working policy', () => {
  for (const [name, make, keys] of factories) {
    it(name, async () => {
      await fc.assert(
        fc.asyncProperty(optionsOf(keys), async (options) => {
          let policy: Policy;
          try {
            policy = make(options);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            expect((error as ValidationError).message).toMatch(/^\[bulwark\] invalid \S/);
            return;
          }
          // A policy that was made runs a call that succeeds (a fallback's `fn`/`value` is never
          // reached, and no option makes the first call fail).
          await expect(policy.execute(() => 42)).resolves.toBe(42);
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('event names', () => {
  it('on() refuses an unknown event name or a listener that is not a function', () => {
    const policies: [string, { on(event: never, listener: never): unknown }][] = [
      ['retry', retry()],
      ['breaker', circuitBreaker()],
      ['timeout', timeout(100)],
      ['bulkhead', bulkhead(1)],
      ['rateLimit', rateLimit({ limit: 1 })],
      ['fallback', fallback({ value: 1 })],
      ['adaptive', adaptive()],
      ['registry', createRegistry()],
      ['recovery', createRecovery()],
      ['failover', failover(['a'])],
    ];
    for (const [name, p] of policies) {
      const e = refused(() => p.on('opne' as never, (() => {}) as never));
      expect(e.path, name).toBe('event');
      expect(e.message, name).toMatch(/unknown event "opne"; the events are \S/);
    }
    expect(refused(() => retry().on('retry', undefined as never)).path).toBe('listener');
    // A known name still subscribes.
    const off = circuitBreaker().on('open', () => {});
    off();
  });
});
