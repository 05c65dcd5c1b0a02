/**
 * Tuning tool, not part of the suite: hit ratios of the adaptive policy under several knob settings.
 * `node --import tsx bench/cache/sim.ts [trace:entries,...] [policies] ` with TUNE='[{...},{...}]'.
 */
import { LRUCache } from 'lru-cache';
import { Cache } from '../../src/cache/cache.js';
import { DEFAULT_TUNING, type AdaptiveTuning } from '../../src/cache/policies/adaptive.js';
import { loadTrace, zipfStream } from './workloads.js';

const cases = (
  process.argv[2] || 'oltp:1000,oltp:2000,scarab:25000,scarab:100000,glimpse:500,glimpse:1000,zipf:10000'
)
  .split(',')
  .map((s) => s.split(':') as [string, string]);
const policies = (process.argv[3] || 'adaptive').split(',');
const tunings = JSON.parse(process.env.TUNE ?? '[{}]') as Partial<AdaptiveTuning>[];
const base = { ...DEFAULT_TUNING };
const traces = new Map<string, Int32Array>();
for (const [name, e] of cases) {
  const entries = Number(e);
  let t = traces.get(name);
  if (!t) {
    t = name === 'zipf' ? zipfStream(1_000_000, 0.99, 2_000_000) : (await loadTrace(name))!;
    traces.set(name, t);
  }
  const row: string[] = [`${name}@${entries}`.padEnd(15)];
  const lru = new LRUCache<number, number>({ max: entries });
  let h = 0;
  for (let i = 0; i < t.length; i++) {
    const k = t[i]!;
    if (lru.get(k) === undefined) lru.set(k, k);
    else h++;
  }
  row.push(`lru-cache=${((100 * h) / t.length).toFixed(2)}`);
  for (const p of policies) {
    for (const [ti, tuning] of (p === 'adaptive' ? tunings : [{}]).entries()) {
      Object.assign(DEFAULT_TUNING, base, tuning);
      const c = new Cache<number, number>({ maxEntries: entries, policy: p as 'adaptive' });
      let hits = 0;
      for (let i = 0; i < t.length; i++) {
        const k = t[i]!;
        if (c.get(k) === undefined) c.set(k, k);
        else hits++;
      }
      row.push(`${p}${p === 'adaptive' ? ti : ''}=${((100 * hits) / t.length).toFixed(2)}`);
    }
  }
  console.log(row.join('  '));
}
