/**
 * One way to name a store everywhere: a URL, by `--store` or `BULWARK_STORE`.
 *
 *   sqlite:./bulwark.db          a file, relative to the working directory (sqlite:/abs/path.db too)
 *   sqlite::memory:              in memory (only useful for `bulwark demo`-like experiments)
 *   postgres://user@host:5432/db?schema=bulwark
 *   redis://host:6379?prefix=bulwark    (rediss:// for TLS)
 *
 * A SQLite file that does not exist is an error, except for commands that create one (`migrate`,
 * `enqueue`, `start`): a mistyped path must not answer "no queues" over an empty new database.
 */
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { resolve } from 'node:path';
import type { Store } from '../store/types.js';
import { sqliteStore } from '../store/sqlite/index.js';
import { CliError, EXIT } from './exit.js';

export const DEFAULT_STORE = 'sqlite:./bulwark.db';

export type StoreSpec =
  | { kind: 'sqlite'; path: string; label: string }
  | {
      kind: 'postgres';
      connectionString: string;
      schema: string | undefined;
      host: string;
      port: number;
      label: string;
    }
  | { kind: 'redis'; url: string; prefix: string | undefined; host: string; port: number; label: string };

const usage = (why: string): CliError =>
  new CliError(
    `bad store URL: ${why} (use sqlite:./bulwark.db, postgres://user@host:5432/db?schema=name or redis://host:6379?prefix=name)`,
    EXIT.usage,
  );

export function parseStoreUrl(text: string): StoreSpec {
  const scheme = /^([a-z]+):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    let path = text.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') throw usage('sqlite: needs a file path');
    return { kind: 'sqlite', path, label: `sqlite ${path}` };
  }
  if (scheme === 'postgres' || scheme === 'postgresql' || scheme === 'redis' || scheme === 'rediss') {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      throw usage(`cannot parse ${JSON.stringify(redact(text))}`);
    }
    const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    if (scheme.startsWith('postgres')) {
      const schema = u.searchParams.get('schema') ?? undefined;
      u.searchParams.delete('schema');
      const port = Number(u.port || 5432);
      const db = u.pathname.slice(1);
      return {
        kind: 'postgres',
        connectionString: u.toString(),
        schema,
        host,
        port,
        label: `postgres ${host}:${port}${db ? `/${db}` : ''}${schema ? ` schema ${schema}` : ''}`,
      };
    }
    const prefix = u.searchParams.get('prefix') ?? undefined;
    u.searchParams.delete('prefix');
    const port = Number(u.port || 6379);
    return {
      kind: 'redis',
      url: u.toString(),
      prefix,
      host,
      port,
      label: `redis ${host}:${port}${prefix ? ` prefix ${prefix}` : ''}`,
    };
  }
  if (scheme === undefined || /^[a-z]$/i.test(scheme)) {
    throw usage(`${JSON.stringify(text)} has no scheme; for a SQLite file write sqlite:${text}`);
  }
  throw usage(`unknown scheme ${scheme}:`);
}

/** A URL with its password hidden, for messages. */
export function redact(text: string): string {
  return text.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/** Fails fast (exit 3) when nothing listens, instead of a client retrying for half a minute. */
function reach(host: string, port: number, what: string, timeoutMs = 3000): Promise<void> {
  return new Promise((done, fail) => {
    const s = new Socket();
    const finish = (error?: string): void => {
      s.destroy();
      if (error) fail(new CliError(`cannot reach ${what} at ${host}:${port}: ${error}`, EXIT.store));
      else done();
    };
    s.setTimeout(timeoutMs, () => finish(`no answer within ${timeoutMs} ms`));
    s.once('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    s.connect(port, host, () => finish());
  });
}

async function driver<M>(load: () => Promise<M>, pkg: string): Promise<M> {
  try {
    return await load();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new CliError(`this store needs the ${pkg} package: npm i ${pkg}`, EXIT.store);
    }
    throw e;
  }
}

/** Opens (and initializes) the store a spec names. */
export async function openStore(spec: StoreSpec, o: { create: boolean }): Promise<Store> {
  let store: Store;
  switch (spec.kind) {
    case 'sqlite':
      if (spec.path !== ':memory:' && !o.create && !existsSync(spec.path)) {
        throw new CliError(
          `no SQLite database at ${resolve(spec.path)} (check --store or BULWARK_STORE; \`bulwark migrate\` creates one)`,
          EXIT.store,
        );
      }
      store = sqliteStore({ path: spec.path });
      break;
    case 'postgres': {
      await reach(spec.host, spec.port, 'postgres');
      // The drivers are optional peers: load one only when its store is named.
      const { postgresStore } = await driver(() => import('../store/postgres/index.js'), 'pg');
      store = postgresStore({
        connectionString: spec.connectionString,
        ...(spec.schema === undefined ? {} : { schema: spec.schema }),
        connectTimeoutMs: 5000,
      });
      break;
    }
    case 'redis': {
      await reach(spec.host, spec.port, 'redis');
      const { redisStore } = await driver(() => import('../store/redis/index.js'), 'ioredis');
      store = redisStore({ url: spec.url, ...(spec.prefix === undefined ? {} : { prefix: spec.prefix }) });
      break;
    }
  }
  try {
    await store.init();
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }
  return store;
}
