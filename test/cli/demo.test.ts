import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo', () => {
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
});
