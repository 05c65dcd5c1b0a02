/** close() runs to its end in a process that has nothing else to do. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue, sqliteStore } from '../../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-close-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('worker.close() in a process with nothing else on the event loop', () => {
  it('aborts a hung handler after the grace period and gives its job back with its attempt', async () => {
    const path = join(dir, 'close.db');
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'close-hung.ts'), path],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(out).toContain('closed {"zombies":1,"unwritten":0}');
    await using store = sqliteStore({ path });
    const job = await new Queue('hung', { store }).getJob('hung');
    expect(job).toMatchObject({ state: 'waiting', attempts: 0, snoozes: 0 });
    expect(job!.errors.at(-1)).toMatchObject({ action: 'shutdown' });
  });
});
