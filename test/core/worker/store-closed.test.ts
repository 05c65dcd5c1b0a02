/**
 * A store closed under a running worker never answers again: the worker gives up the outcome it
 * cannot write (another worker's reaper recovers the job) instead of retrying it for ever, which
 * also kept the process alive (the features bench hung at its teardown).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue, Worker, sqliteStore } from '../../../src/index.js';
import { isStoreClosed } from '../../../src/kernel/errors.js';
import { waitFor } from '../../helpers/wait.js';

describe('a store closed under a running worker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-closed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the outcome write is given up after one try, not retried for ever', async () => {
    const store = sqliteStore({ path: join(dir, 'a.db') });
    const queue = new Queue<number>('q', { store });
    await queue.add(1, { id: 'j1' });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started = false;
    const worker = new Worker(
      queue,
      async () => {
        started = true;
        await held;
      },
      { pollIntervalMs: 20 },
    );
    const settles: unknown[] = [];
    worker.on('worker:error', (e) => {
      if (e.during === 'settle') settles.push(e.error);
    });
    await waitFor(async () => started, 'the job to start');
    await store.close();
    release();
    await waitFor(async () => settles.length > 0, 'the failed write');
    // Retries of a write come 50, 100, 200, 400 ms… apart: within 1.5 s a retrying worker tries again.
    await new Promise((r) => setTimeout(r, 1500));
    expect(settles).toHaveLength(1);
    expect(isStoreClosed(settles[0])).toBe(true);
    await worker.close({ graceMs: 100 });
  });
});
