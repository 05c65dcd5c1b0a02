/**
 * SQLite store calls outside a transaction (found by the chaos suite): every write waits for another
 * process's lock like the transactional ones do (progress and checkpoints, resume, throttle, clear
 * failed with a raw SQLITE_BUSY after 5 ms), and a driver error comes out as a StoreError naming the
 * file, classified from its code (a full disk gave a raw SqliteError).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { holdLock } from './hold-lock.js';
import { Queue, StoreError, sqliteStore } from '../../../src/index.js';
import { classify } from '../../../src/resilience/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-writes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlite: writes outside a transaction', () => {
  it('progress, resume, throttle and clear wait for another process to let go of the lock', async () => {
    const path = join(dir, 'busy.db');
    await using store = sqliteStore({ path });
    const queue = new Queue('w', { store });
    await queue.add('a', { id: 'a' });
    await queue.add('b', { id: 'b', delayMs: 60_000 });
    const now = Date.now();
    const [claimed] = await store.claim({ queue: 'w', workerId: 'me', limit: 1, leaseMs: 60_000, now });
    const { released } = await holdLock(path, 300);
    // Each of these used to throw SQLITE_BUSY while the other process held the lock.
    const results = await Promise.allSettled([
      store.update('w', 'a', claimed!.fence, { progress: '"half"' }, Date.now()),
      queue.resume(),
      queue.throttle(Date.now() - 1),
      queue.clear(),
    ]);
    await released;
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
    ]);
    expect((await queue.getJob('a'))!.progress).toBe('half');
    expect(await queue.getJob('b')).toBeNull();
  });

  it('a full disk is a StoreError naming the file, classified as resource, and writes nothing', async () => {
    const path = join(dir, 'full.db');
    await using store = sqliteStore({ path });
    const queue = new Queue<string>('full', { store });
    await queue.add('warm-up');
    // The file may not grow by a page: what a full disk looks like to SQLite.
    const db = (store as unknown as { db: Database.Database }).db;
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const before = await queue.counts();
    const big = 'x'.repeat(64 * 1024);
    const error = await queue
      .addBulk(Array.from({ length: 20 }, (_, i) => ({ payload: big, options: { id: `big-${i}` } })))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(/full/);
    expect(classify(error).category).toBe('resource');
    expect(await queue.counts()).toEqual(before);
  });
});
