/**
 * One dedicated connection per store that LISTENs on the schema's channel and hands each
 * notification (its payload is a queue name) to that queue's subscribers. When the connection drops
 * it reconnects with capped exponential backoff and full jitter, then wakes every subscriber once:
 * notifications sent while it was down are lost, and the workers' claim finds what they announced.
 */
import type { ClientBase, Notification } from 'pg';
import { coerceError } from '../../kernel/errors.js';

/** A connection for the listener, and how to let go of it for good. */
export interface ListenConnection {
  client: ClientBase;
  /** Closes the connection (it is never reused: it holds a LISTEN). */
  release(): void;
}

export class NotifyListener {
  private readonly subscribers = new Map<string, Set<() => void>>();
  private current: ListenConnection | undefined;
  private connecting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly connect: () => Promise<ListenConnection>,
    /** Quoted channel identifier. */
    private readonly channel: string,
    private readonly maxDelayMs: number,
    private readonly onError: (error: Error) => void,
  ) {}

  /** True while the LISTEN is in place. */
  get listening(): boolean {
    return this.current !== undefined;
  }

  subscribe(queue: string, onReady: () => void): () => void {
    let set = this.subscribers.get(queue);
    if (!set) this.subscribers.set(queue, (set = new Set()));
    set.add(onReady);
    if (!this.closed && !this.current && !this.connecting && !this.retryTimer) this.open();
    return () => {
      set.delete(onReady);
      if (set.size === 0 && this.subscribers.get(queue) === set) this.subscribers.delete(queue);
    };
  }

  private dispatch(queue: string | undefined): void {
    const set = queue === undefined ? undefined : this.subscribers.get(queue);
    if (set) for (const fn of set) safeCall(fn);
  }

  private wakeAll(): void {
    for (const set of this.subscribers.values()) for (const fn of set) safeCall(fn);
  }

  private open(): void {
    this.connecting = this.establish().finally(() => {
      this.connecting = undefined;
    });
  }

  private async establish(): Promise<void> {
    let conn: ListenConnection | undefined;
    try {
      conn = await this.connect();
      const c = conn.client;
      let dropped = false;
      const drop = (e?: unknown): void => {
        if (dropped) return;
        dropped = true;
        c.removeAllListeners('notification');
        if (this.current === conn) this.current = undefined;
        conn!.release();
        if (e !== undefined) this.onError(coerceError(e));
        this.scheduleRetry();
      };
      c.on('notification', (m: Notification) => this.dispatch(m.payload));
      c.on('error', drop);
      c.on('end', () => drop(new Error('[bulwark] [postgres] the listener connection ended')));
      await c.query(`LISTEN ${this.channel}`);
      if (this.closed || dropped) {
        if (!dropped) conn.release();
        return;
      }
      this.current = conn;
      this.failures = 0;
      this.wakeAll();
    } catch (e) {
      conn?.release();
      this.onError(coerceError(e));
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const cap = Math.min(this.maxDelayMs, 50 * 2 ** Math.min(this.failures++, 16));
    const delay = Math.max(10, Math.random() * cap);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed && !this.current && !this.connecting) this.open();
    }, delay);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.connecting;
    const c = this.current;
    this.current = undefined;
    if (c) {
      c.client.removeAllListeners('end');
      c.client.removeAllListeners('notification');
      c.release();
    }
    this.subscribers.clear();
  }
}

function safeCall(fn: () => void): void {
  try {
    fn();
  } catch {
    // A subscriber's failure must not stop the others from waking.
  }
}
