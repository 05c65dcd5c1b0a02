import type { Pool } from 'pg';
import { z } from 'zod';
import { parseOptions } from '../../kernel/validate.js';

export interface PostgresStoreOptions {
  /** A `postgres://` URL; the store makes and owns its pool. Give this or `pool`. */
  connectionString?: string;
  /** Your own `pg.Pool`; the store uses it and leaves it open on `close()`. Give this or `connectionString`. */
  pool?: Pool;
  /** The schema holding bulwark's tables, created if missing. @default 'bulwark' */
  schema?: string;
  /** Connections in the store's own pool (not counting the listener). @default 10 */
  maxConnections?: number;
  /** How long to wait for a new connection, in ms. @default 10000 */
  connectTimeoutMs?: number;
  /** LISTEN/NOTIFY wake-ups for idle workers in every process. @default true */
  listen?: boolean;
  /** Upper bound of the listener's reconnect backoff, in ms. @default 5000 */
  reconnectMaxDelayMs?: number;
  /** Told about errors no caller sees: the listener's connection drops, idle pool connections failing. */
  onError?: (error: Error) => void;
  /**
   * A trigram index on payloads (the `pg_trgm` extension, created if missing: it needs the right to
   * create it), so that a text search over every job (`list({ search })`, the dashboard's deep search)
   * reads the index instead of every payload. Each add then also updates the index: leave it off
   * unless you search payloads. Made at `init()`; on a large table that takes a while. @default false
   */
  searchIndex?: boolean;
}

export interface ResolvedOptions {
  connectionString: string | undefined;
  pool: Pool | undefined;
  schema: string;
  maxConnections: number;
  connectTimeoutMs: number;
  listen: boolean;
  reconnectMaxDelayMs: number;
  onError: (error: Error) => void;
  searchIndex: boolean;
}

const zOptions = z
  .object({
    connectionString: z.string().min(1).optional(),
    pool: z
      .custom<Pool>(
        (p) =>
          typeof p === 'object' &&
          p !== null &&
          typeof (p as Pool).query === 'function' &&
          typeof (p as Pool).connect === 'function',
        { message: 'expected a pg.Pool' },
      )
      .optional(),
    // Lower-case only: the name is quoted in SQL, and an unquoted reference elsewhere folds to lower case.
    schema: z
      .string()
      .regex(
        /^[a-z_][a-z0-9_]{0,47}$/,
        'use lower-case letters, digits and _ (at most 48), not starting with a digit',
      )
      .optional(),
    maxConnections: z.number().int().min(1).max(1000).optional(),
    connectTimeoutMs: z.number().int().min(1).max(600_000).optional(),
    listen: z.boolean().optional(),
    reconnectMaxDelayMs: z.number().int().min(10).max(600_000).optional(),
    onError: z.custom<(e: Error) => void>((f) => typeof f === 'function', 'expected a function').optional(),
    searchIndex: z.boolean().optional(),
  })
  .strict()
  .refine((o) => (o.connectionString === undefined) !== (o.pool === undefined), {
    message: 'give connectionString or pool (one of them)',
  });

export function resolveOptions(options: PostgresStoreOptions): ResolvedOptions {
  const o = parseOptions(zOptions, options, 'postgres store options');
  return {
    connectionString: o.connectionString,
    pool: o.pool,
    schema: o.schema ?? 'bulwark',
    maxConnections: o.maxConnections ?? 10,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    listen: o.listen ?? true,
    reconnectMaxDelayMs: o.reconnectMaxDelayMs ?? 5000,
    onError: o.onError ?? (() => undefined),
    searchIndex: o.searchIndex ?? false,
  };
}
