/**
 * Processes sharing a file: while another process holds the write lock, a store call waits without
 * blocking the event loop (heartbeats and timers keep running), then succeeds once the lock is gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { holdLock } from './hold-lock.js';
import { Queue, isValidationError, sqliteStore } from '../../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-busy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlite: another process holds the lock', () => {
  it('waits for the lock asynchronously: timers keep running, then the write lands', async () => {
    const path = join(dir, 'busy.db');
    await using store = sqliteStore({ path });
    const queue = new Queue('busy', { store });
    await queue.add('warm-up');
    const { released } = await holdLock(path, 400);
    let ticks = 0;
    const tick = setInterval(() => ticks++, 5);
    const added = await queue.add('while-locked', { id: 'locked' });
    clearInterval(tick);
    await released;
    expect(added.id).toBe('locked');
    expect(ticks).toBeGreaterThan(3); // the event loop ran while the write waited
    expect((await queue.getJob('locked'))!.state).toBe('waiting');
  });

  it('gives up after busyTimeoutMs with a StoreError, writing nothing', async () => {
    const path = join(dir, 'timeout.db');
    await using store = sqliteStore({ path, busyTimeoutMs: 100 });
    const queue = new Queue('busy', { store });
    await queue.add('warm-up');
    const { released } = await holdLock(path, 1500);
    const error = await queue.add('x', { id: 'refused' }).catch((e: unknown) => e);
    await released;
    expect(error).toMatchObject({ name: 'StoreError', message: expect.stringMatching(/locked/) });
    expect(isValidationError(error)).toBe(false);
    expect(await queue.getJob('refused')).toBeNull();
  });
});
