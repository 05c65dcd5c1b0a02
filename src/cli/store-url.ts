/**
 * One way to name a store everywhere: a URL, by `--store` or `BULWARK_STORE`.
 *
 *   sqlite:./bulwark.db          a file, relative to the working directory (sqlite:/abs/path.db too)
 *   postgres://user@host:5432/db?schema=bulwark
 *   redis://host:6379?prefix=bulwark    (rediss:// for TLS)
 *
 * A SQLite file that does not exist is an error, except for commands that create one (`migrate`,
 * `enqueue`, `start`): a mistyped path must not answer "no queues" over an empty new database.
 * An in-memory database (`sqlite::memory:`, a `file:` URI in memory mode, an empty path) is refused:
 * every command is its own process, so its data would be gone when the command exits.
 *
 * Every way a store cannot be opened exits 3 with one format naming it:
 * `postgres 127.0.0.1:5432/db: cannot connect: …`, `sqlite /abs/path.db: cannot open: …`.
 */
import { statSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { Store } from '../store/types.js';
import { sqliteStore } from '../store/sqlite/index.js';
import { CliError, EXIT, describeError, exitCodeOf } from './exit.js';

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
    if (inMemory(path)) {
      throw new CliError(
        `bad store URL: ${JSON.stringify(text)} is in memory, and its data would be gone when this command exits (every bulwark command is its own process); name a file, e.g. sqlite:./bulwark.db`,
        EXIT.usage,
      );
    }
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

/** `:memory:`, or a `file:` URI SQLite keeps in memory (`file::memory:`, `?mode=memory`). */
function inMemory(path: string): boolean {
  if (path.trim() === ':memory:') return true;
  if (!/^file:/i.test(path)) return false;
  const [name = '', query = ''] = path.slice('file:'.length).split('?');
  return name === ':memory:' || name === '' || new URLSearchParams(query).get('mode') === 'memory';
}

/** A URL with its password hidden, for messages. */
export function redact(text: string): string {
  return text.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/** Fails fast (exit 3) when nothing listens, instead of a client retrying for half a minute. */
function reach(host: string, port: number, label: string, timeoutMs = 3000): Promise<void> {
  return new Promise((done, fail) => {
    const s = new Socket();
    const finish = (error?: string): void => {
      s.destroy();
      if (error) fail(new CliError(`${label}: cannot connect: ${error}`, EXIT.store));
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

/** The label of a SQLite spec with its absolute path, for messages. */
const sqliteWhere = (path: string): string => `sqlite ${resolve(path)}`;

/** Why a SQLite path cannot hold a database, checked before SQLite's own "unable to open database file". */
function sqliteProblem(path: string, create: boolean): string | undefined {
  const abs = resolve(path);
  const stat = statSync(abs, { throwIfNoEntry: false });
  if (stat?.isDirectory()) return 'cannot open: it is a directory, not a database file';
  if (stat !== undefined) return undefined;
  if (!create) return 'no such database file (check --store or BULWARK_STORE; `bulwark migrate` creates one)';
  const parent = statSync(dirname(abs), { throwIfNoEntry: false });
  if (parent === undefined) return `cannot create: no directory ${dirname(abs)}`;
  if (!parent.isDirectory()) return `cannot create: ${dirname(abs)} is not a directory`;
  return undefined;
}

/**
 * A failure to open or initialize the store as the CLI reports it: exit 3 with the store named
 * (bad input keeps its own exit code).
 */
function openFailure(spec: StoreSpec, e: unknown): unknown {
  if (e instanceof CliError) return e;
  const code = exitCodeOf(e);
  if (code === EXIT.usage || code === EXIT.notFound) return e;
  const message = describeError(e);
  if (spec.kind === 'sqlite') {
    const detail = message.replace(/^sqlite: /, '');
    return new CliError(`${sqliteWhere(spec.path)}: cannot open: ${detail}`, EXIT.store);
  }
  // The store's own messages already start with `postgres host:port/db: …` or `redis host:port: …`.
  return new CliError(/^(postgres|redis) /.test(message) ? message : `${spec.label}: ${message}`, EXIT.store);
}

/** Opens (and initializes) the store a spec names. */
export async function openStore(spec: StoreSpec, o: { create: boolean }): Promise<Store> {
  let store: Store;
  try {
    store = await construct(spec, o);
  } catch (e) {
    throw openFailure(spec, e);
  }
  try {
    await store.init();
  } catch (e) {
    await store.close().catch(() => {});
    throw openFailure(spec, e);
  }
  return store;
}

async function construct(spec: StoreSpec, o: { create: boolean }): Promise<Store> {
  switch (spec.kind) {
    case 'sqlite': {
      const problem = sqliteProblem(spec.path, o.create);
      if (problem !== undefined) {
        throw new CliError(`${sqliteWhere(spec.path)}: ${problem}`, EXIT.store);
      }
      return sqliteStore({ path: spec.path });
    }
    case 'postgres': {
      await reach(spec.host, spec.port, `${spec.kind} ${spec.host}:${spec.port}`);
      // The drivers are optional peers: load one only when its store is named.
      const { postgresStore } = await driver(() => import('../store/postgres/index.js'), 'pg');
      return postgresStore({
        connectionString: spec.connectionString,
        ...(spec.schema === undefined ? {} : { schema: spec.schema }),
        connectTimeoutMs: 5000,
      });
    }
    case 'redis': {
      await reach(spec.host, spec.port, `${spec.kind} ${spec.host}:${spec.port}`);
      const { redisStore } = await driver(() => import('../store/redis/index.js'), 'ioredis');
      return redisStore({ url: spec.url, ...(spec.prefix === undefined ? {} : { prefix: spec.prefix }) });
    }
  }
}
