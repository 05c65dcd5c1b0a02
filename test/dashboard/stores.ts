/**
 * The three stores for the operator-surface tests (dashboard, server, CLI): each with a fresh
 * SQLite file, Postgres schema or Redis prefix, its store URL for the CLI, and its cleanup. A store
 * whose server is not reachable is `available: false` (with a notice; a failure under CI).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/index.js';
import { sqliteStore } from '../../src/store/sqlite/index.js';
import { postgresStore } from '../../src/store/postgres/index.js';
import { redisStore } from '../../src/store/redis/index.js';
import { POSTGRES_URL, REDIS_URL, serviceAvailable } from '../helpers/services.js';
import { dropSchema, freshSchema } from '../helpers/postgres.js';
import { deletePrefix, freshPrefix } from '../helpers/redis.js';

export interface StoreCase {
  name: 'sqlite' | 'postgres' | 'redis';
  available: boolean;
  /** The URL `--store` takes. */
  url: string;
  create(): Store;
  cleanup(): Promise<void>;
}

export async function storeCases(tag: string): Promise<StoreCase[]> {
  const dir = mkdtempSync(join(tmpdir(), `bulwark-${tag}-`));
  const file = join(dir, 'store.db');
  const schema = freshSchema(tag.replace(/[^a-z0-9_]/g, '_'));
  const prefix = freshPrefix(tag);
  const [pg, redis] = await Promise.all([serviceAvailable('postgres'), serviceAvailable('redis')]);
  return [
    {
      name: 'sqlite',
      available: true,
      url: `sqlite:${file}`,
      create: () => sqliteStore({ path: file }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    },
    {
      name: 'postgres',
      available: pg,
      url: `${POSTGRES_URL}?schema=${schema}`,
      create: () => postgresStore({ connectionString: POSTGRES_URL, schema, maxConnections: 4 }),
      cleanup: () => (pg ? dropSchema(schema) : Promise.resolve()),
    },
    {
      name: 'redis',
      available: redis,
      url: `${REDIS_URL}?prefix=${prefix}`,
      create: () => redisStore({ url: REDIS_URL, prefix }),
      cleanup: () => (redis ? deletePrefix(prefix) : Promise.resolve()),
    },
  ];
}

/** Reads Server-Sent Events from a fetch response: `next(name)` resolves with the next event of that name. */
export function sseReader(res: Response): {
  next<T>(event: string, where?: (data: T) => boolean, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
} {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    async next<T>(event: string, where: (data: T) => boolean = () => true, timeoutMs = 15_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const end = text.indexOf('\n\n');
        if (end >= 0) {
          const chunk = text.slice(0, end);
          text = text.slice(end + 2);
          const name = /^event: (.+)$/m.exec(chunk)?.[1];
          const data = /^data: (.*)$/m.exec(chunk)?.[1];
          if (name === event && data !== undefined) {
            const value = JSON.parse(data) as T;
            if (where(value)) return value;
          }
          continue;
        }
        if (Date.now() > deadline) throw new Error(`no ${event} event within ${timeoutMs} ms`);
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        text += decoder.decode(value, { stream: true });
      }
    },
    close: () => reader.cancel(),
  };
}
