import { z } from 'zod';
import type { Logger } from '../../kernel/logger.js';
import { zPositiveInt } from '../../kernel/validate.js';
import { PREFIX_PATTERN } from './keys.js';
import type { RedisClient } from './scripts.js';

export interface RedisStoreOptions {
  /** Where Redis or Valkey listens; ignored when `client` is given. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /**
   * Your own ioredis connection (a `Redis` or a `Cluster`) instead of `url`. The store adds no
   * commands to it and does not close it; it opens one extra connection per queue it watches.
   */
  client?: RedisClient;
  /** Starts every key, so several apps can share one Redis. Letters, digits and `_ . : -`. @default 'bulwark' */
  prefix?: string;
  /** Largest payload accepted, in bytes: Redis keeps every job in memory. @default 8388608 (8 MiB) */
  maxPayloadBytes?: number;
  /** How long `close()` waits for a clean QUIT before it drops the connection, in ms. @default 2000 */
  closeTimeoutMs?: number;
  /**
   * A command that gets no answer within this many ms fails with a `StoreError` (a server that hangs).
   * While the server is unreachable, commands fail after three reconnect attempts (well under a
   * second) instead of waiting: callers (workers, the dashboard) retry on their own terms. Ignored
   * when `client` is given. @default 10000
   */
  commandTimeoutMs?: number;
  /** Where the startup warning about `maxmemory-policy` goes. @default console.warn */
  logger?: Pick<Logger, 'warn'>;
}

export const zRedisStoreOptions = z
  .object({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'use a redis:// or rediss:// URL')
      .refine(
        (u) => URL.canParse(u) && /^\/?(\d{1,5})?$/.test(new URL(u).pathname),
        'the path of a Redis URL is a database number (redis://host:port/0)',
      )
      .optional(),
    client: z
      .custom<RedisClient>(
        (c) =>
          typeof c === 'object' &&
          c !== null &&
          typeof (c as RedisClient).call === 'function' &&
          typeof (c as RedisClient).duplicate === 'function',
        { message: 'expected an ioredis Redis or Cluster instance' },
      )
      .optional(),
    prefix: z
      .string()
      .min(1)
      .max(100)
      .regex(PREFIX_PATTERN, 'use letters, digits and _ . : - only')
      .optional(),
    maxPayloadBytes: zPositiveInt.max(512 * 1024 * 1024).optional(),
    closeTimeoutMs: z.number().int().nonnegative().max(60_000).optional(),
    commandTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
    logger: z
      .custom<Pick<Logger, 'warn'>>(
        (l) => typeof l === 'object' && l !== null && typeof (l as Logger).warn === 'function',
        { message: 'expected a logger with a warn method' },
      )
      .optional(),
  })
  .strict()
  .refine((o) => o.url === undefined || o.client === undefined, 'give url or client, not both');
