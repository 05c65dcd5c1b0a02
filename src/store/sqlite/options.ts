import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { z } from 'zod';
import { parseOptions } from '../../kernel/validate.js';

export interface SqliteStoreOptions {
  /** A file path or `:memory:`. @default './bulwark.db' */
  path?: string;
  /** How long a writer waits for another process's lock, in ms. @default 5000 */
  busyTimeoutMs?: number;
  /**
   * `NORMAL` survives a process crash (the WAL is on disk before commit returns to the OS);
   * `FULL` also survives power loss at the cost of an fsync per commit. @default 'NORMAL'
   */
  synchronous?: 'NORMAL' | 'FULL';
}

export interface ResolvedOptions {
  path: string;
  busyTimeoutMs: number;
  synchronous: 'NORMAL' | 'FULL';
}

const zOptions = z
  .object({
    path: z
      .string()
      .min(1, 'path must be a non-empty string')
      .refine((p) => !p.includes('\0'), 'path must not contain NUL')
      .optional(),
    busyTimeoutMs: z.number().int().min(0).max(600_000).optional(),
    synchronous: z.enum(['NORMAL', 'FULL']).optional(),
  })
  .strict();

export function resolveOptions(options: SqliteStoreOptions): ResolvedOptions {
  const o = parseOptions(zOptions, options, '[sqlite] store options');
  return {
    path: o.path ?? './bulwark.db',
    busyTimeoutMs: o.busyTimeoutMs ?? 5000,
    synchronous: o.synchronous ?? 'NORMAL',
  };
}

/** better-sqlite3, loaded when the first SQLite store is made, not when bulwark is imported. */
export function loadDriver(): typeof BetterSqlite3 {
  return createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
}
