/**
 * The CLI as a clone or an installed folder gets it: `npm install` builds dist/ (the prepare script),
 * bin/bulwark.js says how to build when dist/ is missing, and the README names the Nodes `engines` names.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  engines: { node: string };
  bin: Record<string, string>;
};
const tmp = mkdtempSync(join(tmpdir(), 'bulwark-bin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the CLI package', () => {
  it('npm install (and npm ci, npm pack, npm install <folder>) builds dist/ through prepare', () => {
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(pkg.scripts.build).toMatch(/^tsc -p tsconfig\.build\.json/);
    expect(pkg.bin.bulwark).toBe('./bin/bulwark.js');
  });

  it('bin/bulwark.js without dist/ says how to build, and exits 1', async () => {
    cpSync(join(root, 'bin'), join(tmp, 'bin'), { recursive: true });
    cpSync(join(root, 'package.json'), join(tmp, 'package.json'));
    const r = await new Promise<{ code: number; stderr: string }>((done) =>
      execFile(process.execPath, [join(tmp, 'bin', 'bulwark.js'), '--help'], (error, _out, stderr) =>
        done({ code: typeof error?.code === 'number' ? error.code : 0, stderr }),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bulwark: the CLI is not built: run `npm run build` in /);
  });

  it('the README names the Node versions engines names (what CI tests)', () => {
    expect(pkg.engines.node).toBe('^20.20.0 || ^24.18.1');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('Node.js 20 (≥ 20.20) and 24 (≥ 24.18.1)');
    expect(readme).not.toMatch(/20\.19/);
    expect(readFileSync(join(root, 'CHANGELOG.md'), 'utf8')).not.toMatch(/>=\s*20\.19/);
  });
});
