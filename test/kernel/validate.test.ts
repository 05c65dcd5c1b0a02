import { describe, expect, it } from 'vitest';
import { assertJson, toJsonText } from '../../src/kernel/validate.js';

describe('JSON validation', () => {
  it('accepts plain data, Dates and objects with toJSON', () => {
    expect(() =>
      assertJson({ a: [1, 'x', null, true, { b: new Date(0) }], u: undefined }, 'p'),
    ).not.toThrow();
    expect(() => assertJson(Object.create(null) as object, 'p')).not.toThrow();
  });

  it('names the bad path', () => {
    expect(() => assertJson({ a: { b: [1, 2n] } }, 'payload')).toThrow(/payload\.a\.b\[1\] is a bigint/);
    expect(() => assertJson({ f() {} }, 'payload')).toThrow(/payload\.f is a function/);
    expect(() => assertJson(new Set([1]), 'payload')).toThrow(/Set, not a plain object/);
    expect(() => assertJson([NaN], 'payload')).toThrow(/NaN/);
  });

  it('allows shared (non-cyclic) references and rejects cycles', () => {
    const shared = { x: 1 };
    expect(() => assertJson({ a: shared, b: shared }, 'p')).not.toThrow();
    const a: unknown[] = [];
    a.push(a);
    expect(() => assertJson(a, 'p')).toThrow(/cycle/);
  });

  it('enforces the byte limit in UTF-8 bytes', () => {
    expect(toJsonText('é'.repeat(10), 'p', 22)).toBe(`"${'é'.repeat(10)}"`);
    expect(() => toJsonText('é'.repeat(11), 'p', 22)).toThrow(/24 bytes, over the limit of 22/);
  });
});
