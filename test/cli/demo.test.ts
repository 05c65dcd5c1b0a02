import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo and CLI', () => {
  it('the demo settles every job, pauses and resumes on the 401 burst, and summarizes', async () => {
    let text = '';
    const out = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
    const r = await runDemo({ jobs: 120, out });
    expect(r.ok).toBe(true);
    expect(text).toMatch(/queue paused — auth: 401/);
    expect(text).toMatch(/queue paused {5}1×, resumed 1×/);
    expect(text).toMatch(/dead-lettered {4}\d+/);
    expect(text).toMatch(/validation \d+/);
    expect(text).toMatch(/throughput {7}\d+ jobs\/s/);
  }, 60_000);

  it('enqueues, lists and replays through the CLI', () => {
    const db = join(dir, 'cli.db');
    const cli = (...args: string[]): string =>
      execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--db', db], {
        encoding: 'utf8',
      });
    expect(cli('enqueue', 'emails', '{"to":"a@b.c"}', '--id', 'e1')).toMatch(/added e1 \(waiting\)/);
    const listed = JSON.parse(cli('jobs', 'emails', '--json')) as {
      counts: { waiting: number };
      jobs: { id: string }[];
    };
    expect(listed.counts.waiting).toBe(1);
    expect(listed.jobs[0]!.id).toBe('e1');
    expect(cli('dlq', 'emails', 'replay', 'e1')).toMatch(/\[\]/);
    let failed: { status?: number; stderr?: string } = {};
    try {
      cli('enqueue', 'emails', '{"x":1}', '--priority', 'high');
    } catch (e) {
      failed = e as typeof failed;
    }
    expect(failed.status).toBe(2);
    expect(failed.stderr).toMatch(/invalid job options.priority/);
  }, 30_000);
});
