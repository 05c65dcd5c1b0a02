/**
 * Which peer packages each suite measures, their installed versions, and whether the running Node
 * meets what they declare in `engines`. bulwark is measured against a peer only on a Node the peer
 * supports: that is what `npm run bench` uses to pick the runtime, and what each suite records.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { repoRoot } from './node.js';

/** The peers each suite loads. A suite missing here has none. */
export const SUITE_PEERS: Readonly<Record<string, readonly string[]>> = {
  queue: ['graphile-worker', 'pg-boss', 'bullmq', 'plainjob'],
  resilience: ['cockatiel', 'opossum'],
  cache: ['lru-cache'],
};

export interface PackageInfo {
  name: string;
  version: string;
  /** `engines.node`, when the package declares it. */
  node: string | undefined;
}

const manifest = (path: string): PackageInfo => {
  const j = JSON.parse(readFileSync(path, 'utf8')) as {
    name: string;
    version: string;
    engines?: { node?: string };
  };
  return { name: j.name, version: j.version, node: j.engines?.node };
};

/** The installed package's version and engines, read from its package.json ('bulwark' is this repo). */
export function packageInfo(name: string): PackageInfo {
  return manifest(
    name === 'bulwark'
      ? join(repoRoot, 'package.json')
      : join(repoRoot, 'node_modules', ...name.split('/'), 'package.json'),
  );
}

/** Undefined when `nodeVersion` meets the package's `engines.node`, else why not. */
export function unsupportedBy(name: string, nodeVersion = process.version): string | undefined {
  const p = packageInfo(name);
  if (!p.node || semver.satisfies(nodeVersion, p.node)) return undefined;
  return `${name} ${p.version} needs node ${p.node}; this is ${nodeVersion}`;
}

/** The suite's peers that cannot run on `nodeVersion`, with the reason. */
export function unmetPeers(suite: string, nodeVersion = process.version): string[] {
  return (SUITE_PEERS[suite] ?? []).flatMap((p) => unsupportedBy(p, nodeVersion) ?? []);
}
