/** Composition: `wrap(a, b, c)` runs `a` around `b` around `c` around `fn` (outermost first). */
import { z } from 'zod';
import { parseOptions } from '../kernel/validate.js';
import type { CallContext } from './policy.js';
import { Policy, next, type Task } from './policy.js';

const zPolicies = z.array(
  z.custom<Policy<unknown>>(
    (p) => p instanceof Policy,
    'expected a policy (retry(), circuitBreaker(), timeout(), bulkhead(), rateLimit(), fallback(), adaptive(), wrap(), noop())',
  ),
);

/** What a policy may produce instead of the function's value (a fallback's value), else never. */
export type PolicyExtra<P> = P extends { readonly extraType: infer E } ? E : never;

/** The policies of a wrap run as one flat chain: no closure and no nesting per call. */
export class WrappedPolicy<Extra = never> extends Policy<Extra> {
  readonly policies: readonly Policy<unknown>[];

  constructor(policies: readonly Policy<unknown>[]) {
    parseOptions(zPolicies, policies, 'wrap');
    const flat = policies.flatMap((p) => p.chain);
    super(flat.length === 0 ? [PASS] : flat);
    this.policies = policies;
  }

  /** @internal Never reached: a wrap's links are spliced into any chain that holds it. */
  step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    return next(chain, i, fn, ctx);
  }
}

class PassThrough extends Policy {
  step(chain: readonly Policy<unknown>[], i: number, fn: Task<unknown>, ctx: CallContext): unknown {
    return next(chain, i, fn, ctx);
  }
}

const PASS: Policy<unknown> = new PassThrough();

/** A policy that only runs `fn` (what `wrap()` of nothing is). */
export function noop(): Policy {
  return new PassThrough();
}

/** Composes any number of policies, outermost first. */
export function wrap<const P extends readonly Policy<unknown>[]>(
  ...policies: P
): WrappedPolicy<{ [K in keyof P]: PolicyExtra<P[K]> }[number]> {
  return new WrappedPolicy(policies);
}
