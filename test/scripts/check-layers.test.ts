import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGraph, checkGraph } from '../../scripts/check-layers.js';

const graph = (edges: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(edges));

describe('check-layers', () => {
  it('passes on the repository as it is', () => {
    const { breaches, cycles } = checkGraph(buildGraph(resolve(import.meta.dirname, '../..')));
    expect(breaches).toEqual([]);
    expect(cycles).toEqual([]);
  });

  it('reports an upward edge, a sideways edge between peers and a backend wired below the top', () => {
    const { breaches } = checkGraph(
      graph({
        'src/kernel/errors.ts': ['src/core/queue.ts'],
        'src/cache/cache.ts': ['src/resilience/retry.ts'],
        'src/core/queue.ts': ['src/store/sqlite/store.ts'],
        'src/cli/main.ts': ['src/store/sqlite/store.ts'],
        'src/resilience/retry.ts': [],
        'src/store/sqlite/store.ts': [],
      }),
    );
    expect(breaches.map((b) => [b.from, b.why.split(' ')[0]])).toEqual([
      ['src/kernel/errors.ts', 'upward'],
      ['src/cache/cache.ts', 'sideways'],
      ['src/core/queue.ts', 'only'],
    ]);
  });

  it('reports a cycle inside one folder, type-only imports included', () => {
    const { cycles } = checkGraph(
      graph({
        'src/core/a.ts': ['src/core/b.ts'],
        'src/core/b.ts': ['src/core/c.ts'],
        'src/core/c.ts': ['src/core/a.ts'],
        'src/core/d.ts': ['src/core/d.ts'],
      }),
    );
    expect(cycles).toEqual([['src/core/a.ts', 'src/core/b.ts', 'src/core/c.ts'], ['src/core/d.ts']]);
  });

  it('reports a file outside every layer', () => {
    const { breaches } = checkGraph(graph({ 'src/misc/x.ts': [] }));
    expect(breaches[0]?.why).toMatch(/no layer/);
  });
});
