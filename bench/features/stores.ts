/** The three stores for the features bench: a fresh file, schema or prefix each, and how to open it again. */
import { mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { sqliteStore, type Store } from '../../src/index.js';
import { postgresStore } from '../../src/store/postgres/index.js';
import { redisStore } from '../../src/store/redis/index.js';

export type StoreKind = 'sqlite' | 'postgres' | 'redis';
export const POSTGRES_URL = process.env.BULWARK_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BULWARK_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Where a store's data lives: enough for another process to open the same store. */
export interface StoreSpec {
  kind: StoreKind;
  /** A file path, a schema or a key prefix. */
  where: string;
}

export function openStore(spec: StoreSpec): Store {
  if (spec.kind === 'sqlite') return sqliteStore({ path: spec.where });
  if (spec.kind === 'postgres')
    return postgresStore({ connectionString: POSTGRES_URL, schema: spec.where, maxConnections: 4 });
  return redisStore({ url: REDIS_URL, prefix: spec.where });
}

let n = 0;
export function freshSpec(kind: StoreKind): StoreSpec {
  const tag = `bwbench_${process.pid}_${Date.now().toString(36)}_${n++}`;
  if (kind === 'sqlite')
    return { kind, where: join(mkdtempSync(join(tmpdir(), 'bulwark-features-')), 'bench.db') };
  return { kind, where: tag };
}

export async function dropSpec(spec: StoreSpec): Promise<void> {
  if (spec.kind === 'sqlite') rmSync(join(spec.where, '..'), { recursive: true, force: true });
  else if (spec.kind === 'postgres') {
    const c = new pg.Client({ connectionString: POSTGRES_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${spec.where}" CASCADE`);
    await c.end();
  } else {
    const r = new Redis(REDIS_URL);
    for (const pattern of [`{${spec.where}:*`, `${spec.where}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await r.unlink(...keys);
      } while (cursor !== '0');
    }
    r.disconnect();
  }
}

export function reachable(kind: StoreKind): Promise<boolean> {
  if (kind === 'sqlite') return Promise.resolve(true);
  const u = new URL(kind === 'postgres' ? POSTGRES_URL : REDIS_URL);
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.connect(Number(u.port), u.hostname, () => done(true));
  });
}
