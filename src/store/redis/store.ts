import { Redis } from 'ioredis';
import type {
  AddResult,
  ClaimRequest,
  CompleteItem,
  FailItem,
  FinalState,
  ListFilter,
  NewJob,
  QueueStatus,
  ReapResult,
  RetentionRule,
  StateCounts,
  Store,
  StoreCapabilities,
  StoredJob,
  StoredSchedule,
  StoredState,
  DeadDependency,
  GroupLimits,
  GroupStatus,
  ResolveResult,
} from '../types.js';
import { requireCapability, usesFeatures, type AddContext } from '../types.js';
import { hasCode, StoreClosedError, StoreError, ValidationError } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/logger.js';
import { parseOptions } from '../../kernel/validate.js';
import { FIELDS, decodeJob, decodeJobs, encodeBackoff } from './codec.js';
import { queueKeys, registryKey, type QueueKeyring } from './keys.js';
import { zRedisStoreOptions, type RedisStoreOptions } from './options.js';
import { LuaScript, runScript, type Arg, type RedisClient } from './scripts.js';
import { Waker } from './wake.js';
import { ADD } from './lua/add.js';
import { CLAIM, COMPLETE, COMPLETE_AND_CLAIM } from './lua/claim.js';
import { FAIL, HEARTBEAT, REAP, UPDATE } from './lua/settle.js';
import { CANCEL, CLEANUP, CLEAR, PAUSE, PURGE, REPLAY, RESUME, THROTTLE } from './lua/admin.js';
import { COUNTS, LIST, NEXT_RUN_AT } from './lua/read.js';
import { SCHEDULE_FIRED, SCHEDULE_REMOVE, SCHEDULE_SAVE } from './lua/schedules.js';
import {
  ADD_FEATURES,
  CLAIM_GROUPS,
  COMPLETE_AFTER,
  DEPENDENCIES,
  GROUP_LIST,
  GROUP_STATE,
  RESOLVE,
} from './lua/features.js';

const S = {
  add: new LuaScript('add', ADD),
  claim: new LuaScript('claim', CLAIM),
  complete: new LuaScript('complete', COMPLETE),
  completeAndClaim: new LuaScript('completeAndClaim', COMPLETE_AND_CLAIM),
  fail: new LuaScript('fail', FAIL),
  heartbeat: new LuaScript('heartbeat', HEARTBEAT),
  update: new LuaScript('update', UPDATE),
  reap: new LuaScript('reap', REAP),
  cancel: new LuaScript('cancel', CANCEL),
  clear: new LuaScript('clear', CLEAR),
  replay: new LuaScript('replay', REPLAY),
  purge: new LuaScript('purge', PURGE),
  cleanup: new LuaScript('cleanup', CLEANUP),
  pause: new LuaScript('pause', PAUSE),
  resume: new LuaScript('resume', RESUME),
  throttle: new LuaScript('throttle', THROTTLE),
  counts: new LuaScript('counts', COUNTS),
  nextRunAt: new LuaScript('nextRunAt', NEXT_RUN_AT),
  list: new LuaScript('list', LIST),
  addFeatures: new LuaScript('addFeatures', ADD_FEATURES),
  resolve: new LuaScript('resolve', RESOLVE),
  claimGroups: new LuaScript('claimGroups', CLAIM_GROUPS),
  groupState: new LuaScript('groupState', GROUP_STATE),
  groupList: new LuaScript('groupList', GROUP_LIST),
  completeAfter: new LuaScript('completeAfter', COMPLETE_AFTER),
  dependencies: new LuaScript('dependencies', DEPENDENCIES),
  scheduleSave: new LuaScript('scheduleSave', SCHEDULE_SAVE),
  scheduleRemove: new LuaScript('scheduleRemove', SCHEDULE_REMOVE),
  scheduleFired: new LuaScript('scheduleFired', SCHEDULE_FIRED),
} as const;

/** Retention deletes at most this many jobs per script call, so Redis is never blocked for long. */
const CLEANUP_CHUNK = 1000;
const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_MAX_PAYLOAD = 8 * 1024 * 1024;

const consoleWarn: Pick<Logger, 'warn'> = {
  warn: (obj, msg) => console.warn(msg ?? '', obj),
};

type Reply = (string | null)[];

const flags = (reply: unknown): boolean[] => (reply as number[]).map((f) => f === 1);

/**
 * The Redis/Valkey store: one hash per job plus sorted-set indexes per state, every state change
 * one Lua script (atomic on the server), claims and completions batched, all keys of a queue in one
 * cluster slot. Idle workers block on a marker list instead of polling.
 */
export class RedisStore implements Store {
  readonly name = 'redis';
  readonly capabilities: StoreCapabilities = {
    notify: true,
    transactionalEnqueue: false,
    multiProcess: true,
    durable: true,
  };
  readonly maxPayloadBytes: number;
  readonly prefix: string;
  /** The connection commands go through (yours when you passed `client`). */
  readonly client: RedisClient;
  private readonly owned: boolean;
  private readonly logger: Pick<Logger, 'warn'>;
  private readonly closeTimeoutMs: number;
  /** The database number of the URL (0 with a client of your own). */
  private readonly db: number = 0;
  private readonly keyrings = new Map<string, QueueKeyring>();
  private readonly registered = new Set<string>();
  private readonly waker: Waker;
  private closing: Promise<void> | undefined;
  /** Rejects when the store closes: commands still waiting for a connection fail then, not never. */
  private readonly whenClosed: Promise<never>;
  private failPending: (e: Error) => void = () => {};

  constructor(options: RedisStoreOptions = {}) {
    const o = parseOptions(zRedisStoreOptions, options, 'redis store options');
    this.prefix = o.prefix ?? 'bulwark';
    this.maxPayloadBytes = o.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD;
    this.closeTimeoutMs = o.closeTimeoutMs ?? 2000;
    this.logger = o.logger ?? consoleWarn;
    this.whenClosed = new Promise<never>((_, reject) => (this.failPending = reject));
    this.whenClosed.catch(() => {});
    if (o.client) {
      this.client = o.client;
      this.owned = false;
    } else {
      const url = o.url ?? DEFAULT_URL;
      this.db = Number(new URL(url).pathname.slice(1) || 0);
      const client = new Redis(url, {
        // Reconnect forever with a capped backoff. A command sent meanwhile fails after a few
        // reconnect attempts rather than waiting for the server (its caller retries), and a command
        // a hung server never answers fails after commandTimeoutMs.
        retryStrategy: (times) => Math.min(50 * times, 2000),
        maxRetriesPerRequest: 3,
        commandTimeout: o.commandTimeoutMs ?? 10_000,
        lazyConnect: true,
      });
      // Errors reach callers through their commands; without a listener ioredis prints each one.
      client.on('error', () => {});
      this.client = client;
      this.owned = true;
    }
    this.waker = new Waker(() => {
      const c = this.client;
      const conn = c.isCluster ? c.duplicate() : (c as Redis).duplicate({ maxRetriesPerRequest: null });
      return conn;
    });
  }

  private ring(queue: string): QueueKeyring {
    let k = this.keyrings.get(queue);
    if (!k) {
      k = queueKeys(this.prefix, queue);
      this.keyrings.set(queue, k);
    }
    return k;
  }

  private run(op: string, queue: string, script: LuaScript, args: Arg[]): Promise<unknown> {
    const k = this.ring(queue);
    args.unshift(k.job);
    return this.command(op, () => runScript(this.client, script, k.keys, args));
  }

  /** Every command goes through here: refused once closed, failed with a StoreError naming `op`. */
  private async command<T>(op: string, send: () => Promise<T>): Promise<T> {
    if (this.closing) throw closedError();
    try {
      return await Promise.race([send(), this.whenClosed]);
    } catch (e) {
      throw wrap(op, e, serverOf(this.client));
    }
  }

  /** Names the queue in the registry (outside the queue's slot, so not inside its scripts). Once per queue. */
  private async register(queue: string): Promise<void> {
    if (this.registered.has(queue)) return;
    await this.command('register', () => this.client.sadd(registryKey(this.prefix), queue));
    this.registered.add(queue);
  }

  async init(): Promise<void> {
    if (this.owned && this.client.status === 'wait') {
      await this.command('connect', () => this.client.connect());
      // ioredis selects the URL's database on connect, but goes on in database 0 if the server
      // refuses it: ask again, so that a database the server does not have is an error.
      if (this.db !== 0)
        await this.command(`select database ${this.db}`, () => (this.client as Redis).select(this.db));
    } else if (this.closing) {
      throw closedError();
    }
    await this.checkEvictionPolicy();
  }

  /** Warns when Redis may evict keys under memory pressure: an evicted job is a lost job. */
  private async checkEvictionPolicy(): Promise<void> {
    let policy: string | undefined;
    try {
      const reply = (await this.client.call('CONFIG', ['GET', 'maxmemory-policy'])) as string[];
      policy = reply[1];
    } catch {
      return; // CONFIG is often refused on managed services: nothing to check then.
    }
    if (policy !== undefined && policy !== 'noeviction') {
      this.logger.warn(
        { maxmemoryPolicy: policy },
        `[bulwark] [redis] maxmemory-policy is "${policy}": Redis may evict job keys when memory runs out, losing jobs. Set maxmemory-policy to noeviction.`,
      );
    }
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    this.waker.close();
    if (!this.owned) {
      this.failPending(closedError());
      return;
    }
    const client = this.client;
    let timer: NodeJS.Timeout | undefined;
    if (client.status === 'ready') {
      await Promise.race([
        client.quit().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.closeTimeoutMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    // Drops the socket, stops reconnecting, and fails whatever still waits for a connection.
    client.disconnect();
    this.failPending(closedError());
  }

  async add(jobs: readonly NewJob[], ctx?: AddContext): Promise<AddResult[]> {
    if (ctx?.tx !== undefined) requireCapability(this, 'transactionalEnqueue', 'add(…, { tx })');
    if (jobs.length === 0) return [];
    for (const j of jobs) {
      if (j.payload.length * 3 > this.maxPayloadBytes) {
        const bytes = Buffer.byteLength(j.payload, 'utf8');
        if (bytes > this.maxPayloadBytes)
          throw new ValidationError(
            `[bulwark] [redis] payload is ${bytes} bytes, over the store's limit of ${this.maxPayloadBytes}`,
            { path: 'payload' },
          );
      }
    }
    const queue = jobs[0]!.queue;
    if (jobs.some((j) => j.queue !== queue)) {
      // Different queues live in different slots: one script each, in order.
      const out: AddResult[] = [];
      for (const j of jobs) out.push(...(await this.add([j])));
      return out;
    }
    if (jobs.some(usesFeatures)) return this.addFeatures(queue, jobs);
    const args: Arg[] = [];
    for (const j of jobs) {
      pushJobArgs(args, j);
    }
    const [reply] = await Promise.all([this.run('add', queue, S.add, args), this.register(queue)]);
    return (reply as (0 | Reply)[]).map((r, i) => (r === 0 ? null : decodeJob(queue, jobs[i]!.id, r)));
  }

  /** `add` for jobs that use uniqueness, groups or flows: its own script, so the plain one stays lean. */
  private async addFeatures(queue: string, jobs: readonly NewJob[]): Promise<AddResult[]> {
    const args: Arg[] = [];
    for (const j of jobs) {
      pushJobArgs(args, j);
      args.push(
        j.uniqueKey ?? '',
        j.uniqueMode ?? '',
        j.dependsOn === undefined ? '' : JSON.stringify(j.dependsOn),
        j.onDependencyDead ?? '',
        j.group ?? '',
      );
    }
    const [reply] = await Promise.all([this.run('add', queue, S.addFeatures, args), this.register(queue)]);
    const rows = reply as (0 | Reply)[] | ['unknown', string];
    if (rows[0] === 'unknown') {
      throw new ValidationError(
        `[bulwark] options.dependsOn: no job ${JSON.stringify(rows[1])} in queue ${queue}`,
        { path: 'options.dependsOn' },
      );
    }
    return (rows as (0 | Reply)[]).map((r) => (r === 0 ? null : decodeJob(queue, r[0] as string, r, 1)));
  }

  private claimArgs(req: ClaimRequest): Arg[] {
    return [
      req.now,
      req.limit,
      req.now + req.leaseMs,
      req.workerId,
      req.rateLimit?.max ?? '',
      req.rateLimit?.intervalMs ?? '',
    ];
  }

  async claim(req: ClaimRequest): Promise<StoredJob[]> {
    if (req.limit <= 0) return [];
    if (req.groups) return this.claimGrouped(req, req.groups);
    const reply = await this.run('claim', req.queue, S.claim, this.claimArgs(req));
    return this.withGrouped(req, decodeJobs(req.queue, reply as Reply));
  }

  private async claimGrouped(req: ClaimRequest, limits: GroupLimits): Promise<StoredJob[]> {
    const args = this.claimArgs(req);
    args.push(JSON.stringify(limits));
    const [jobs, groups] = (await this.run('claim', req.queue, S.claimGroups, args)) as [Reply, string[]];
    return decodeJobs(req.queue, jobs).map((j, i) => {
      if (groups[i]) j.group = groups[i];
      return j;
    });
  }

  /**
   * A new grouped job waits in a set of its own (the group claim's order). A queue without the
   * `groups` option claims those jobs too once the plain ones run out, as the SQL stores do: without
   * this they were never claimed.
   */
  private async withGrouped(req: ClaimRequest, claimed: StoredJob[]): Promise<StoredJob[]> {
    if (claimed.length >= req.limit) return claimed;
    const grouped = `${this.ring(req.queue).base}gwait`;
    if ((await this.command('claim', () => this.client.exists(grouped))) === 0) return claimed;
    return claimed.concat(await this.claimGrouped({ ...req, limit: req.limit - claimed.length }, {}));
  }

  async complete(queue: string, items: readonly CompleteItem[], now: number): Promise<boolean[]> {
    if (items.length === 0) return [];
    const args: Arg[] = [now];
    for (const i of items) args.push(i.id, i.token, i.result ?? '');
    return flags(await this.run('complete', queue, S.complete, args));
  }

  async completeAndClaim(
    queue: string,
    items: readonly CompleteItem[],
    now: number,
    claim: ClaimRequest,
  ): Promise<{ completed: boolean[]; claimed: StoredJob[] }> {
    if (claim.queue !== queue || claim.limit <= 0 || claim.groups) {
      const completed = await this.complete(queue, items, now);
      return { completed, claimed: await this.claim(claim) };
    }
    const args = this.claimArgs(claim);
    args.push(now);
    for (const i of items) args.push(i.id, i.token, i.result ?? '');
    const [done, claimed] = (await this.run('completeAndClaim', queue, S.completeAndClaim, args)) as [
      number[],
      Reply,
    ];
    return { completed: flags(done), claimed: await this.withGrouped(claim, decodeJobs(queue, claimed)) };
  }

  async fail(queue: string, items: readonly FailItem[], now: number): Promise<boolean[]> {
    if (items.length === 0) return [];
    const args: Arg[] = [now];
    for (const i of items) {
      const error = i.error ? JSON.stringify(i.error) : '';
      args.push(i.id, i.token, i.store, i.runAt, error, i.reason ?? i.error?.message ?? 'dead');
    }
    return flags(await this.run('fail', queue, S.fail, args));
  }

  async heartbeat(
    queue: string,
    items: readonly { id: string; token: number }[],
    leaseMs: number,
    now: number,
  ): Promise<boolean[]> {
    if (items.length === 0) return [];
    const args: Arg[] = [now + leaseMs];
    for (const i of items) args.push(i.id, i.token);
    return flags(await this.run('heartbeat', queue, S.heartbeat, args));
  }

  async update(
    queue: string,
    id: string,
    token: number,
    patch: { checkpoint?: string; progress?: string },
    now: number,
  ): Promise<boolean> {
    const args: Arg[] = [
      now,
      id,
      token,
      patch.checkpoint === undefined ? '0' : '1',
      patch.checkpoint ?? '',
      patch.progress === undefined ? '0' : '1',
      patch.progress ?? '',
    ];
    return (await this.run('update', queue, S.update, args)) === 1;
  }

  async reapExpired(queue: string, now: number, limit: number): Promise<ReapResult> {
    const [requeued, dead] = (await this.run('reap', queue, S.reap, [now, limit])) as [string[], string[]];
    return { requeued, dead };
  }

  async getJob(queue: string, id: string): Promise<StoredJob | null> {
    const key = this.ring(queue).job + id;
    const v = await this.command('getJob', () => this.client.hmget(key, ...FIELDS, 'do', 'g'));
    const job = decodeJob(queue, id, v);
    const deps = v[FIELDS.length];
    const group = v[FIELDS.length + 1];
    if (job && deps) job.dependsOn = JSON.parse(deps) as string[];
    if (job && group) job.group = group;
    return job;
  }

  async resolveDependants(queue: string, now: number, limit: number): Promise<ResolveResult> {
    const [ready, completed, dead, open] = (await this.run('resolveDependants', queue, S.resolve, [
      now,
      limit,
    ])) as [string[], string[], string[], number];
    return { ready, completed, dead, open: open === 1 };
  }

  async completeAfter(
    queue: string,
    item: CompleteItem,
    children: readonly string[],
    onDependencyDead: DeadDependency,
    now: number,
  ): Promise<StoredState | null> {
    const state = (await this.run('completeAfter', queue, S.completeAfter, [
      now,
      item.id,
      item.token,
      item.result ?? '',
      JSON.stringify(children),
      onDependencyDead,
    ])) as string;
    return state === '' ? null : (state as StoredState);
  }

  async getDependencies(queue: string, id: string): Promise<StoredJob[]> {
    return decodeJobs(queue, (await this.run('getDependencies', queue, S.dependencies, [id])) as Reply);
  }

  async list(queue: string, filter: ListFilter, now: number): Promise<StoredJob[]> {
    const search = filter.search !== undefined && filter.search !== '' ? filter.search : undefined;
    const args: Arg[] = [
      now,
      filter.order ?? 'desc',
      filter.offset ?? 0,
      filter.limit ?? 100,
      filter.states && filter.states.length > 0 ? [...new Set(filter.states)].join(',') : '',
      filter.correlationId === undefined ? '0' : '1',
      filter.correlationId ?? '',
      search === undefined ? '0' : '1',
      search ?? '',
    ];
    return decodeJobs(queue, (await this.run('list', queue, S.list, args)) as Reply);
  }

  async counts(queue: string, now: number): Promise<StateCounts> {
    const [waiting, delayed, active, completed, dead, cancelled, blocked] = (await this.run(
      'counts',
      queue,
      S.counts,
      [now],
    )) as number[];
    return {
      waiting: waiting!,
      delayed: delayed!,
      active: active!,
      completed: completed!,
      dead: dead!,
      cancelled: cancelled!,
      blocked: blocked!,
    };
  }

  async nextRunAt(queue: string): Promise<number | null> {
    const t = (await this.run('nextRunAt', queue, S.nextRunAt, [])) as string | null;
    return t === null ? null : Number(t);
  }

  async queues(): Promise<string[]> {
    const names = await this.command('queues', () => this.client.smembers(registryKey(this.prefix)));
    return names.sort();
  }

  async status(queue: string): Promise<QueueStatus> {
    const meta = this.ring(queue).meta;
    const v = await this.command('status', () => this.client.hmget(meta, 'paused', 'reason', 'throttled'));
    return {
      name: queue,
      paused: v[0] === '1',
      pauseReason: v[1] ?? null,
      throttledUntil: v[2] === null || v[2] === undefined ? 0 : Number(v[2]),
    };
  }

  async pause(queue: string, reason: string | null, _now: number): Promise<boolean> {
    const [r] = await Promise.all([
      this.run('pause', queue, S.pause, [reason ?? '', reason === null ? '0' : '1']),
      this.register(queue),
    ]);
    return r === 1;
  }

  async resume(queue: string, now: number): Promise<void> {
    await this.run('resume', queue, S.resume, [now]);
  }

  async throttle(queue: string, until: number): Promise<void> {
    await Promise.all([this.run('throttle', queue, S.throttle, [until]), this.register(queue)]);
  }

  async cancel(queue: string, ids: readonly string[], reason: string, now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    return (await this.run('cancel', queue, S.cancel, [now, reason, ...ids])) as string[];
  }

  async clear(queue: string): Promise<number> {
    return (await this.run('clear', queue, S.clear, [])) as number;
  }

  async replay(queue: string, ids: readonly string[] | undefined, now: number): Promise<string[]> {
    if (ids !== undefined && ids.length === 0) return [];
    const args: Arg[] = ids === undefined ? [now, 'all'] : [now, 'ids', ...ids];
    return (await this.run('replay', queue, S.replay, args)) as string[];
  }

  async purge(
    queue: string,
    states: readonly FinalState[],
    ids: readonly string[] | undefined,
  ): Promise<number> {
    if (states.length === 0 || (ids !== undefined && ids.length === 0)) return 0;
    const args: Arg[] = ids === undefined ? ['all', states.join(',')] : ['ids', states.join(','), ...ids];
    return (await this.run('purge', queue, S.purge, args)) as number;
  }

  async cleanup(queue: string, rules: readonly RetentionRule[], now: number): Promise<number> {
    let total = 0;
    for (const r of rules) {
      let n: number;
      do {
        n = (await this.run('cleanup', queue, S.cleanup, [
          now,
          r.state,
          r.maxAgeMs ?? '',
          r.maxCount ?? '',
          CLEANUP_CHUNK,
        ])) as number;
        total += n;
      } while (n === CLEANUP_CHUNK);
    }
    return total;
  }

  /** Runs a script on one key of the queue's slot (`{prefix:queue}:<name>`). */
  private runOn(op: string, queue: string, name: string, script: LuaScript, args: Arg[]): Promise<unknown> {
    const key = this.ring(queue).base + name;
    return this.command(op, () => runScript(this.client, script, [key], args));
  }

  async pauseGroup(queue: string, group: string, reason: string | null, _now: number): Promise<boolean> {
    return (await this.run('pauseGroup', queue, S.groupState, ['pause', group, reason ?? ''])) === 1;
  }

  async resumeGroup(queue: string, group: string, _now: number): Promise<void> {
    await this.run('resumeGroup', queue, S.groupState, ['resume', group, '']);
  }

  async throttleGroup(queue: string, group: string, until: number): Promise<void> {
    await this.run('throttleGroup', queue, S.groupState, ['throttle', group, until]);
  }

  async listGroups(
    queue: string,
    f: { paused?: boolean; throttledAfter?: number; limit: number; offset: number },
  ): Promise<GroupStatus[]> {
    const rows = (await this.run('listGroups', queue, S.groupList, [])) as [
      string,
      string | null,
      string,
      number,
      string,
    ][];
    return rows
      .map(([name, reason, throttled, active, ready]) => ({
        name,
        paused: reason !== null,
        pauseReason: reason === null || reason === '' ? null : reason,
        throttledUntil: Number(throttled),
        active,
        waiting: Math.max(0, Number(ready)),
      }))
      .filter(
        (g) =>
          (f.paused === undefined || g.paused === f.paused) &&
          (f.throttledAfter === undefined || g.throttledUntil > f.throttledAfter),
      )
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .slice(f.offset, f.offset + f.limit);
  }

  async saveSchedule(queue: string, key: string, spec: string, now: number): Promise<void> {
    await Promise.all([
      this.runOn('saveSchedule', queue, 'schedules', S.scheduleSave, [key, spec, now]),
      this.register(queue),
    ]);
  }

  async removeSchedule(queue: string, key: string): Promise<boolean> {
    return (await this.runOn('removeSchedule', queue, 'schedules', S.scheduleRemove, [key])) === 1;
  }

  async listSchedules(queue: string): Promise<StoredSchedule[]> {
    const h = this.ring(queue).base + 'schedules';
    const all = await this.command('listSchedules', () => this.client.hgetall(h));
    const out: StoredSchedule[] = [];
    for (const [field, spec] of Object.entries(all)) {
      if (!field.startsWith('s:')) continue;
      const key = field.slice(2);
      const lastTickAt = all[`t:${key}`];
      if (lastTickAt === undefined) continue;
      out.push({
        queue,
        key,
        spec,
        lastTickAt: Number(lastTickAt),
        createdAt: Number(all[`c:${key}`] ?? lastTickAt),
        updatedAt: Number(all[`u:${key}`] ?? lastTickAt),
      });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async markScheduleFired(queue: string, key: string, tickAt: number, now: number): Promise<boolean> {
    return (
      (await this.runOn('markScheduleFired', queue, 'schedules', S.scheduleFired, [key, tickAt, now])) === 1
    );
  }

  subscribe(queue: string, onReady: () => void): () => void {
    if (this.closing) return () => {};
    return this.waker.subscribe(this.ring(queue).marker, onReady);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The ARGV values of a job both add scripts start with (lua/add.ts, lua/features.ts). */
function pushJobArgs(args: Arg[], j: NewJob): void {
  args.push(
    j.id,
    j.name ?? '',
    j.priority,
    j.runAt,
    j.maxAttempts,
    encodeBackoff(j.backoff),
    j.timeoutMs ?? '',
    j.correlationId,
    j.metadata,
    j.payload,
    j.createdAt,
  );
}

const closedError = (): StoreError => new StoreClosedError('redis');

function wrap(op: string, e: unknown, where: string): StoreError {
  if (hasCode(e, 'STORE')) return e as StoreError;
  let message = e instanceof Error ? e.message : String(e);
  // ioredis's words for "no connection after a few reconnect attempts" / "no answer in time".
  if (e instanceof Error && e.name === 'MaxRetriesPerRequestError') message = 'the server is unreachable';
  else if (message === 'Command timed out') message = 'the server did not answer in time (commandTimeoutMs)';
  return new StoreError(`[bulwark] [redis ${where}] ${op} failed: ${message}`, { cause: e });
}

/** host:port of a client (a cluster names its first seed node). */
function serverOf(c: RedisClient): string {
  const o = (c as { options?: { host?: string; port?: number } }).options;
  const node = (c as { startupNodes?: { host?: string; port?: number }[] }).startupNodes?.[0];
  const h = o?.host ?? node?.host ?? '127.0.0.1';
  return `${h}:${o?.port ?? node?.port ?? 6379}`;
}
