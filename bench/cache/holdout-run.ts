/**
 * The goals on a fresh held-out set: `node --import tsx bench/cache/holdout-run.ts [--seed N] [--count N]`.
 * Every seed draws new workloads from the families of holdout.ts (their parameters differ from the
 * corpus's), so anyone can check the default policy on workloads it was never developed on. Prints
 * the rows that miss a goal and the checks; exit code 1 when one fails.
 */
import { hitRatioChecks, hitRatios, GOALS } from './hitratio.js';
import { DEFAULT_HOLDOUT_SEED, holdoutWorkloads } from './holdout.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const seed = Number(flag('--seed') ?? DEFAULT_HOLDOUT_SEED);
const count = flag('--count') === undefined ? undefined : Number(flag('--count'));

const rows = await hitRatios(holdoutWorkloads(seed, count), (r) => {
  const miss = r.gap > GOALS.maxGap || r.vs_lru < -GOALS.maxBelowLru;
  console.log(
    `${miss ? 'MISS' : 'ok  '} ${r.workload}@${r.entries}: default ${r.default}, best ${r.best_policy} ${r.best} (gap ${r.gap}), lru ${r.lru}, opt ${r.opt}`,
  );
});
const checks = hitRatioChecks(rows, `held-out (seed ${seed})`);
console.log('');
for (const c of checks) console.log(`${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
if (checks.some((c) => !c.ok)) process.exitCode = 1;
