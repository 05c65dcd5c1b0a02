/**
 * A worker's timers: heartbeats that extend the leases of held attempts (running, or waiting for
 * their outcome to be written), the reaper that recovers
 * jobs whose lease expired (a dead worker's), and retention cleanup. Each task never overlaps itself;
 * its errors become `worker:error` events.
 */
import type { RetentionRule } from '../../store/types.js';
import { ensureInit } from '../wake.js';
import type { Attempt } from './attempt.js';
import type { Claimer, WorkerEnv } from './claimer.js';

export interface UpkeepSettings {
  leaseMs: number;
  heartbeatMs: number;
  reapIntervalMs: number;
  cleanupIntervalMs: number;
  retention: readonly RetentionRule[] | false;
}

export class Upkeep {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly env: WorkerEnv,
    private readonly claimer: Claimer,
    /** How to tell a running attempt it lost its lease. */
    private readonly loseLease: (attempt: Attempt) => void,
    private readonly settings: UpkeepSettings,
  ) {}

  start(): void {
    const s = this.settings;
    const { store, queue, clock } = this.env;
    this.every(s.heartbeatMs, 'heartbeat', () => this.heartbeat());
    // Its own timer: a heartbeat that hangs (a partition) must not hold this check up.
    const expiry = setInterval(() => this.expire(), Math.max(10, Math.min(s.heartbeatMs, s.leaseMs / 4)));
    expiry.unref();
    this.timers.push(expiry);
    this.every(s.reapIntervalMs, 'reap', () => this.reap());
    const retention = s.retention;
    if (retention !== false && retention.length > 0) {
      this.every(s.cleanupIntervalMs, 'cleanup', () => store.cleanup(queue.name, retention, clock.now()));
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  private every(ms: number, during: string, task: () => Promise<unknown>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      // Not before the store is set up (a new file or schema): the tables may not exist yet.
      ensureInit(this.env.store)
        .then(task)
        .catch((e: unknown) => this.env.reportError(e, during))
        .finally(() => {
          busy = false;
        });
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /**
   * Gives up the attempts whose lease has run out by this worker's clock (the store sets a lease's end
   * from the worker's own clock, at the claim and at each heartbeat): no heartbeat got through in time
   * (the store unreachable, a partition, the process paused), and another worker may have the job by
   * now. Their signals abort and nothing is written for them; buffered jobs go back.
   */
  private expire(): void {
    const now = this.env.clock.now();
    for (const a of this.claimer.pending) {
      const until = a.job.leaseExpiresAt;
      if (!a.settling && a.cause === undefined && until !== null && until <= now) this.loseLease(a);
    }
    this.claimer.releaseExpired(now);
  }

  private async heartbeat(): Promise<void> {
    // Running attempts, settled ones whose outcome is not written yet (a write is being retried), and
    // jobs waiting in the prefetch buffer: their leases must hold until they are done with.
    const attempts = [...this.claimer.pending].filter((a) => a.cause !== 'lease_lost');
    const buffered = this.claimer.bufferedJobs();
    if (attempts.length === 0 && buffered.length === 0) return;
    const { store, queue, clock } = this.env;
    const items = attempts.map((a) => ({ id: a.job.id, token: a.job.fence }));
    for (const j of buffered) items.push({ id: j.id, token: j.fence });
    const at = clock.now();
    const until = at + this.settings.leaseMs;
    const ok = await store.heartbeat(queue.name, items, this.settings.leaseMs, at);
    ok.forEach((alive, i) => {
      const a = attempts[i];
      if (alive) {
        // The lease now runs until `until` (the store computed it from the same instant).
        if (a !== undefined) a.job.leaseExpiresAt = until;
        else buffered[i - attempts.length]!.leaseExpiresAt = until;
        return;
      }
      if (a === undefined) this.claimer.drop(items[i]!.id);
      else if (!a.settling) this.loseLease(a);
    });
  }

  private async reap(): Promise<void> {
    const { store, queue, clock, log, emitter } = this.env;
    const r = await store.reapExpired(queue.name, clock.now(), 1000);
    if (r.requeued.length === 0 && r.dead.length === 0) return;
    log.warn({ requeued: r.requeued.length, dead: r.dead.length }, 'recovered stalled jobs');
    emitter.emit('job:stalled', { queue: queue.name, ...r });
    if (r.requeued.length > 0) this.claimer.wake();
  }
}
