/**
 * Wake-ups across processes: a script that makes jobs ready pushes a few tokens on the queue's
 * marker list; each subscribed queue has one dedicated connection blocked in BLPOP on it, so an idle
 * worker hears about a new job at once instead of polling. The connection is its own (a blocked
 * connection can run nothing else); it reconnects by itself and the loop re-issues its wait.
 */
import type { RedisClient } from './scripts.js';

interface Loop {
  conn: RedisClient;
  listeners: Set<() => void>;
  stopped: boolean;
}

/** Seconds one BLPOP waits before it is re-issued (a blocked call is not a poll: it costs nothing). */
const BLOCK_SECONDS = 5;
const RETRY_MS = 250;

export class Waker {
  private readonly loops = new Map<string, Loop>();

  constructor(private readonly connect: () => RedisClient) {}

  subscribe(marker: string, onReady: () => void): () => void {
    let loop = this.loops.get(marker);
    if (!loop) {
      const conn = this.connect();
      const l: Loop = { conn, listeners: new Set(), stopped: false };
      loop = l;
      this.loops.set(marker, l);
      conn.on('error', () => {
        // Reported to the workers through their own commands; reconnecting is automatic.
      });
      // Back after a dropped connection: tokens pushed meanwhile may be gone, so look once.
      conn.on('ready', () => fire(l));
      void this.run(marker, l);
    }
    const current = loop;
    current.listeners.add(onReady);
    return () => {
      current.listeners.delete(onReady);
      if (current.listeners.size === 0 && this.loops.get(marker) === current) {
        this.loops.delete(marker);
        stop(current);
      }
    };
  }

  close(): void {
    for (const l of this.loops.values()) stop(l);
    this.loops.clear();
  }

  private async run(marker: string, loop: Loop): Promise<void> {
    while (!loop.stopped) {
      try {
        const got = await loop.conn.blpop(marker, BLOCK_SECONDS);
        if (got && !loop.stopped) fire(loop);
      } catch {
        if (loop.stopped) return;
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    }
  }
}

function fire(loop: Loop): void {
  if (loop.stopped) return;
  for (const fn of loop.listeners) fn();
}

function stop(loop: Loop): void {
  loop.stopped = true;
  loop.conn.disconnect();
}
