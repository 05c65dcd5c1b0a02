/**
 * The public API is explicit: every entry point's exports (values and types) are pinned in
 * exports.snapshot.txt, so a name added or removed shows up in review. Update it with
 * `npx vitest run test/api -u` when the change is meant.
 */
import { resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as bulwark from '../../src/index.js';
import { ENTRIES } from './entries.js';

const root = resolve(import.meta.dirname, '../..');

function exportList(): string {
  const files = Object.values(ENTRIES).map((f) => resolve(root, f));
  const parsed = ts.getParsedCommandLineOfConfigFile(
    resolve(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => {},
    },
  )!;
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const lines: string[] = [];
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const source = program.getSourceFile(resolve(root, file))!;
    const symbol = checker.getSymbolAtLocation(source)!;
    const names = checker.getExportsOfModule(symbol).map((s) => {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      return `${target.flags & ts.SymbolFlags.Value ? 'value' : 'type '} ${s.getName()}`;
    });
    lines.push(
      `# ${entry} (${names.length})`,
      ...names.sort((a, b) => (a.slice(6) < b.slice(6) ? -1 : 1)),
      '',
    );
  }
  return lines.join('\n');
}

describe('public API', () => {
  it('exports exactly the pinned names from every entry point', async () => {
    await expect(exportList()).toMatchFileSnapshot('./exports.snapshot.txt');
  }, 60_000);

  it('gives every error a stable code and a name, checked without instanceof', () => {
    const e = new bulwark.RateLimitError('x', { retryAfterMs: 5 });
    expect(e).toMatchObject({
      name: 'RateLimitError',
      code: 'RATE_LIMITED',
      category: 'rate_limit',
      retryAfterMs: 5,
    });
    expect(bulwark.isRateLimitError({ code: 'RATE_LIMITED' })).toBe(true);
    expect(bulwark.isValidationError(new Error('x'))).toBe(false);
    expect(bulwark.coerceError('boom').message).toBe('non-error thrown: boom');
  });
});
