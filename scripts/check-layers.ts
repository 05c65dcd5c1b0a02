/**
 * Checks the import graph of src/: no cycles (type-only imports included), and every edge points
 * down the layer order written in ARCHITECTURE.md. Run by `npm run lint` and CI; exits 1 on a breach.
 *
 * A file belongs to the first group whose prefix matches its path. An import may go to a lower
 * layer or stay inside its own group; groups of the same layer are peers and may not import each
 * other. Store backends are wired in only at the top (the entry point and the CLI): the runtime
 * never imports one.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

interface Group {
  /** Folders (ending in /) or files. */
  match: readonly string[];
  layer: number;
}

export const GROUPS: readonly Group[] = [
  { match: ['src/kernel/'], layer: 0 },
  { match: ['src/store/types.ts', 'src/store/index.ts'], layer: 1 },
  { match: ['src/store/shared/'], layer: 2 },
  { match: ['src/store/sqlite/'], layer: 3 },
  { match: ['src/store/postgres/'], layer: 3 },
  { match: ['src/store/redis/'], layer: 3 },
  { match: ['src/resilience/'], layer: 3 },
  { match: ['src/cache/'], layer: 3 },
  { match: ['src/core/'], layer: 4 },
  { match: ['src/observe/'], layer: 5 },
  { match: ['src/dashboard/'], layer: 6 },
  { match: ['src/server/'], layer: 7 },
  { match: ['src/cli/'], layer: 8 },
  { match: ['src/index.ts'], layer: 9 },
];

const BACKENDS = ['src/store/sqlite/', 'src/store/postgres/', 'src/store/redis/'];
/** Where a backend may be imported from: the entry point and the command line. */
const WIRES_BACKENDS = ['src/index.ts', 'src/cli/'];

export function groupOf(file: string): Group | undefined {
  return GROUPS.find((g) => g.match.some((m) => file === m || (m.endsWith('/') && file.startsWith(m))));
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The src/ files a file imports (relative specifiers only; packages are not part of the graph). */
function importsOf(root: string, file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  const out: string[] = [];
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = resolve(root, dirname(file), fileName).replace(/\.js$/, '.ts');
    out.push(relative(root, target));
  }
  return out;
}

export interface Breach {
  from: string;
  to: string;
  why: string;
}

export function checkGraph(graph: ReadonlyMap<string, readonly string[]>): {
  breaches: Breach[];
  cycles: string[][];
} {
  const breaches: Breach[] = [];
  for (const [from, targets] of graph) {
    const a = groupOf(from);
    if (!a) {
      breaches.push({ from, to: '', why: 'file is in no layer (add its folder to scripts/check-layers.ts)' });
      continue;
    }
    for (const to of targets) {
      const b = groupOf(to);
      if (!b) {
        breaches.push({ from, to, why: 'target is in no layer' });
        continue;
      }
      if (a === b) continue;
      if (b.layer >= a.layer) {
        const kind = b.layer === a.layer ? 'sideways between peers' : 'upward';
        breaches.push({ from, to, why: `${kind} (layer ${a.layer} -> ${b.layer})` });
      } else if (
        b.match.some((m) => BACKENDS.includes(m)) &&
        !WIRES_BACKENDS.some((w) => from.startsWith(w))
      ) {
        breaches.push({ from, to, why: 'only the entry point and the CLI may import a store backend' });
      }
    }
  }
  return { breaches, cycles: cyclesOf(graph) };
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

export function buildGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const abs of listFiles(join(root, 'src'))) {
    const file = relative(root, abs);
    graph.set(file, importsOf(root, file));
  }
  return graph;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const root = resolve(import.meta.dirname, '..');
  const graph = buildGraph(root);
  const { breaches, cycles } = checkGraph(graph);
  for (const b of breaches) console.error(`layer: ${b.from} -> ${b.to || '?'}: ${b.why}`);
  for (const c of cycles) console.error(`cycle: ${c.join(' <-> ')}`);
  const edges = [...graph.values()].reduce((n, t) => n + t.length, 0);
  if (breaches.length > 0 || cycles.length > 0) {
    console.error(`check-layers: ${breaches.length} layer breaches, ${cycles.length} cycles`);
    process.exit(1);
  }
  console.log(`check-layers: ${graph.size} files, ${edges} imports, no cycle, every edge points down`);
}
