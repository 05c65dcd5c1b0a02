/**
 * The little of a Redis client the shared tier needs, as a structural type: an ioredis `Redis`
 * satisfies it, and nothing here imports ioredis, so the cache module stays light for users who never
 * use Redis. With a `url` instead of a client, ioredis is imported on first use. @internal
 */
import { createHash } from 'node:crypto';

export type RedisArg = string | number;

/** An ioredis `Redis` connection, or anything with the same methods. */
export interface SharedRedisClient {
  call(command: string, args: RedisArg[]): Promise<unknown>;
  /** A new connection with the same options, for the subscription. */
  duplicate(): SharedRedisClient;
  subscribe(...channels: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: string, listener: (...args: string[]) => void): unknown;
}

/** Opens an ioredis connection to `url`, importing ioredis only now. */
export async function connect(url: string): Promise<SharedRedisClient> {
  const { Redis } = await import('ioredis');
  // One retry per command: while Redis is down, a command fails within a reconnect attempt instead of
  // waiting in the offline queue for twenty.
  return new Redis(url, { maxRetriesPerRequest: 1 }) as unknown as SharedRedisClient;
}

/** A Lua script called by SHA, with its source sent once when the server does not know it yet. */
export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: SharedRedisClient, keys: string[], args: RedisArg[]): Promise<unknown> {
    const argv: RedisArg[] = [this.sha, keys.length, ...keys, ...args];
    try {
      return await client.call('EVALSHA', argv);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      argv[0] = this.source;
      return client.call('EVAL', argv);
    }
  }
}

/** The value and its remaining time to live in ms (-1: none), in one round trip. */
export const GET_WITH_TTL = new Script(
  "local v = redis.call('GET', KEYS[1]) if not v then return false end return {v, redis.call('PTTL', KEYS[1])}",
);

/** Deletes the lock only if this holder still owns it (its token). */
export const RELEASE_LOCK = new Script(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
);

/** Extends the lock only if this holder still owns it. */
export const EXTEND_LOCK = new Script(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
);

/** Rejects with a timeout error when `promise` takes longer than `ms`; the timer does not hold the process. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`[bulwark] [cache] redis ${what} timed out after ${ms} ms`)),
      ms,
    );
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
