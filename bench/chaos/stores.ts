/** Where a chaos run's store lives, in a form another process can open again. */
import { sqliteStore, type Store } from '../../src/index.js';
import { postgresStore } from '../../src/store/postgres/index.js';
import { redisStore } from '../../src/store/redis/index.js';

export type StoreSpec =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; schema: string; maxConnections?: number }
  | { kind: 'redis'; url: string; prefix: string };

export type StoreKind = StoreSpec['kind'];

export function openStore(spec: StoreSpec, role: 'worker' | 'producer' = 'worker'): Store {
  if (spec.kind === 'sqlite') return sqliteStore({ path: spec.path });
  if (spec.kind === 'postgres') {
    return postgresStore({
      connectionString: spec.url,
      schema: spec.schema,
      maxConnections: spec.maxConnections ?? 4,
      connectTimeoutMs: 2000,
      reconnectMaxDelayMs: 500,
      // The producer adds; only workers wait for wake-ups.
      listen: role === 'worker',
      onError: () => undefined,
    });
  }
  return redisStore({ url: spec.url, prefix: spec.prefix, logger: { warn: () => undefined } });
}

/** The same store reached through another address (a proxy): the URL's port replaced. */
export function through(spec: StoreSpec, port: number): StoreSpec {
  if (spec.kind === 'sqlite') return spec;
  const u = new URL(spec.url);
  u.port = String(port);
  return { ...spec, url: u.toString().replace(/\/$/, '') };
}
