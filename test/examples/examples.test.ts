/** Every example under examples/ runs to the end and exits 0 (the server-backed ones when their server answers). */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { serviceAvailable } from '../helpers/services.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(
  example: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples', example)], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

const postgres = await serviceAvailable('postgres');

describe('examples', () => {
  it('schedules.ts: one job per tick with two workers', async () => {
    const { code, out } = await run('schedules.ts');
    expect(code, out).toBe(0);
    expect(out).toMatch(/ticks run: (\d+), distinct: \1/);
  });

  it('unique.ts: every outcome of an add', async () => {
    const { code, out } = await run('unique.ts');
    expect(code, out).toBe(0);
    for (const outcome of ['created', 'existing', 'dropped', 'debounced', 'throttled'])
      expect(out).toContain(outcome);
  });

  it('progress.ts: progress events and getJob', async () => {
    const { code, out } = await run('progress.ts');
    expect(code, out).toBe(0);
    expect(out).toContain('percent: 100');
  });

  it('groups.ts: fair across tenants, each held to its limit, a 429 throttles one tenant', async () => {
    const { code, out } = await run('groups.ts');
    expect(code, out).toBe(0);
    expect(out).toContain('group startup throttled');
    expect(out).toMatch(/in flight \(limit 2\): [12]\n/);
  });

  it.skipIf(!postgres)(
    'documents.ts: parse, split, micro-batched embeds across documents, a join per document (Postgres)',
    async () => {
      const { code, out } = await run('documents.ts');
      expect(code, out).toBe(0);
      expect(out).toMatch(/alpha: complete, 8 chunk results/);
      expect(out).toMatch(/gamma: complete, 14 chunk results/);
    },
  );
});

export { run, serviceAvailable };
