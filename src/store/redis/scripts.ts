/**
 * Scripts are called by SHA (EVALSHA); a server that does not have one yet (first call, restart,
 * failover, another cluster node) answers NOSCRIPT and gets the source once through EVAL, which
 * also caches it there.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;
export type Arg = string | number;

export class LuaScript {
  readonly sha: string;
  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const isNoScript = (e: unknown): boolean => e instanceof Error && e.message.startsWith('NOSCRIPT');

/** Runs `script` with `keys` and `args` (argv is built once, in place). */
export async function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: Arg[],
): Promise<unknown> {
  const argv: Arg[] = [script.sha, keys.length];
  for (const k of keys) argv.push(k);
  for (const a of args) argv.push(a);
  try {
    return await client.call('EVALSHA', argv);
  } catch (e) {
    if (!isNoScript(e)) throw e;
    argv[0] = script.source;
    return client.call('EVAL', argv);
  }
}
