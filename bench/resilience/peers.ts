/**
 * The peers' policies for `npm run bench -- resilience`, built with the settings each case names.
 * Each peer is imported only when asked for, so a runtime it does not support never loads it.
 */

/** What the bench calls on a policy (the peer's own method, called directly: no wrapper to pay for). */
interface Policy {
  execute(fn: (ctx: { signal: AbortSignal }) => Promise<unknown>): Promise<unknown>;
}

export interface CockatielSet {
  retry: Policy;
  breaker: Policy;
  retryBreaker: Policy;
  retryBreakerTimeout: Policy;
  timeout: Policy;
  aggressive: Policy;
  /** A breaker opened by `failing`, breaking far longer than the run. */
  open: Policy;
  bulkhead: Policy;
}

export async function cockatielPolicies(failing: () => Promise<never>): Promise<CockatielSet> {
  const c = await import('cockatiel');
  const retry = () => c.retry(c.handleAll, { maxAttempts: 3, backoff: new c.ExponentialBackoff() });
  const breaker = (halfOpenAfter: number) =>
    c.circuitBreaker(c.handleAll, { halfOpenAfter, breaker: new c.ConsecutiveBreaker(5) });
  const open = breaker(600_000);
  for (let i = 0; i < 5; i++) await open.execute(failing).catch(() => undefined);
  if (open.state !== c.CircuitState.Open) throw new Error('cockatiel open_rejection setup failed');
  return {
    retry: retry(),
    breaker: breaker(10_000),
    retryBreaker: c.wrap(retry(), breaker(10_000)),
    retryBreakerTimeout: c.wrap(retry(), breaker(10_000), c.timeout(1000, c.TimeoutStrategy.Cooperative)),
    timeout: c.timeout(1000, c.TimeoutStrategy.Cooperative),
    aggressive: c.timeout(1000, c.TimeoutStrategy.Aggressive),
    open,
    bulkhead: c.bulkhead(10, 10),
  };
}

export interface OpossumSet {
  breaker: () => Promise<unknown>;
  timeout: () => Promise<unknown>;
  /** Opened with `open()`. */
  open: () => Promise<unknown>;
  /** Stops the breakers' rolling-window intervals. */
  shutdown(): void;
}

export async function opossumPolicies(
  noop: () => Promise<void>,
  failing: () => Promise<never>,
): Promise<OpossumSet> {
  const { default: Breaker } = await import('opossum');
  const breaker = new Breaker(noop, { timeout: false, resetTimeout: 10_000 });
  const timeout = new Breaker(noop, { timeout: 1000, resetTimeout: 10_000 });
  const open = new Breaker(failing, { timeout: false, resetTimeout: 600_000 });
  open.open();
  if (!open.opened) throw new Error('opossum open_rejection setup failed');
  return {
    breaker: () => breaker.fire(),
    timeout: () => timeout.fire(),
    open: () => open.fire(),
    shutdown() {
      for (const b of [breaker, timeout, open]) b.shutdown();
    },
  };
}
