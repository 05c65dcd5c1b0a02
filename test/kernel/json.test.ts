/** The one check at the boundary: what is accepted reads back equal on every store; the rest is refused. */
import { describe, expect, it } from 'vitest';
import { isStorableText, storableText, toJsonText } from '../../src/kernel/validate.js';
import { isValidationError } from '../../src/index.js';

const refused = (value: unknown): string => {
  try {
    toJsonText(value, 'payload');
  } catch (e) {
    expect(isValidationError(e), String(e)).toBe(true);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${String(value)}`);
};

describe('toJsonText', () => {
  it('judges an object with toJSON by what toJSON returns', () => {
    expect(toJsonText({ at: new Date(0) }, 'payload')).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
    expect(refused({ at: new Date(NaN) })).toMatch(/payload\.at is an invalid Date/);
    expect(refused({ x: { toJSON: () => 10n } })).toMatch(/payload\.x\.toJSON\(\) is a bigint/);
    expect(refused({ x: { toJSON: () => undefined } })).toMatch(/toJSON\(\) that returns undefined/);
    expect(refused({ x: { toJSON: () => () => 1 } })).toMatch(/is a function/);
    expect(refused({ x: { toJSON: () => NaN } })).toMatch(/is NaN/);
    expect(refused({ x: { toJSON: () => new Map() } })).toMatch(/is a Map, not a plain object/);
    expect(
      refused({
        x: {
          toJSON() {
            throw new Error('nope');
          },
        },
      }),
    ).toMatch(/toJSON\(\) threw: nope/);
    const cyclic: { self?: unknown; toJSON(): unknown } = { toJSON: () => cyclic };
    expect(refused(cyclic)).toMatch(/cycle/);
  });

  it('refuses symbol keys, which JSON would drop', () => {
    expect(refused({ [Symbol('s')]: 1, a: 2 })).toMatch(/symbol keys/);
  });

  it('keeps strings with NUL and lone surrogates inside JSON data exactly (escaped)', () => {
    const value = { s: 'a\u0000b\ud800c\udc00' };
    expect(JSON.parse(toJsonText(value, 'payload'))).toEqual(value);
  });
});

describe('storable text', () => {
  it('tells keys every store keeps exactly from those it would not', () => {
    expect(isStorableText('plain ✓ 😀')).toBe(true);
    expect(isStorableText('nul\u0000')).toBe(false);
    expect(isStorableText('lone \ud800')).toBe(false);
    expect(isStorableText('lone \udc00 low')).toBe(false);
    expect(storableText('a\u0000b\ud800')).toBe('a\uFFFDb\uFFFD');
  });
});
