/**
 * `bulwark start` through a PostgreSQL outage (a private server, stopped and started): the workers'
 * errors are logged bounded, the first of each kind and then one summary per window, not one line per
 * failed claim.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../helpers/wait.js';
import { buildCli, killAll, run, serve } from './cli.js';
import { PrivatePostgres } from '../helpers/pg-server.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-outage-'));
const server = PrivatePostgres.available() ? new PrivatePostgres({ tag: 'cli-pg' }) : undefined;

beforeAll(async () => {
  await buildCli();
  await server?.init();
}, 120_000);
afterAll(async () => {
  killAll();
  await server?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(server === undefined)('bulwark start during a store outage', () => {
  it('logs the first error of each kind, then a summary of the repeats, not one line per failure', async () => {
    const url = server!.url;
    expect((await run(['migrate', '--store', url])).code).toBe(0);
    const mod = join(dir, 'workers.mjs');
    writeFileSync(
      mod,
      `export default { a: { handler: () => 'ok', options: { pollIntervalMs: 20 } }, b: { handler: () => 'ok', options: { pollIntervalMs: 20 } } };\n`,
    );
    const s = await serve(['start', mod, '--store', url], /"msg":"started 2 worker\(s\)/);
    await server!.stopImmediate();
    await waitFor(() => /"during":"claim"/.test(s.output()), 'the first claim failure', 20_000);
    // Let the workers fail many more times while the server is away.
    await sleep(3000);
    await server!.start();
    s.child.kill('SIGTERM');
    expect(await s.exited()).toBe(0);
    const lines = s
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(
        (l) =>
          JSON.parse(l) as { level: number; msg: string; queue?: string; during?: string; repeated?: number },
      );
    const claims = lines.filter((l) => l.level >= 50 && l.during === 'claim');
    for (const q of ['a', 'b']) {
      const mine = claims.filter((l) => l.queue === q);
      // The first failure as it came, and the repeats summed up in one line.
      expect(mine[0]).toMatchObject({ msg: 'worker error' });
      expect(mine.length, JSON.stringify(mine)).toBeLessThanOrEqual(2);
      expect(mine.slice(1)).toEqual(
        mine.slice(1).map(() =>
          expect.objectContaining({
            msg: expect.stringMatching(/^worker error \(claim\) \d+ more times? in the last \d+ s/),
          }),
        ),
      );
    }
    expect(lines.filter((l) => l.level >= 50).length, s.output()).toBeLessThan(20);
  }, 90_000);
});
