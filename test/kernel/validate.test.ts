import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../src/kernel/errors.js';
import { assertJson, parseOptions, toJsonText } from '../../src/kernel/validate.js';

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

describe('parseOptions messages', () => {
  const schema = z.strictObject({
    timeoutMs: z.number().int().positive().optional(),
    mode: z.enum(['a', 'b']).optional(),
    limit: z.union([z.number().int().positive(), z.literal(Infinity)]).optional(),
    backoff: z
      .union([
        z.strictObject({
          type: z.literal('custom'),
          delay: z.custom((f) => typeof f === 'function', 'expected a function'),
        }),
        z.strictObject({ type: z.enum(['constant', 'linear']).optional(), delayMs: z.number().optional() }),
      ])
      .optional(),
    window: z
      .discriminatedUnion('type', [
        z.strictObject({ type: z.literal('count'), size: z.number() }),
        z.strictObject({ type: z.literal('time'), ms: z.number() }),
      ])
      .optional(),
    need: z.strictObject({ id: z.string() }).optional(),
  });
  const message = (value: unknown): string => {
    try {
      parseOptions(schema, value, 'opts');
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      return (e as Error).message;
    }
    throw new Error('expected a ValidationError');
  };

  it.each([
    [
      { timeoutMS: 5 },
      'invalid opts.timeoutMS: unknown option (did you mean timeoutMs?); the options are timeoutMs, mode, limit, backoff, window, need',
    ],
    [{ mode: 'c' }, 'invalid opts.mode: Invalid option: expected one of "a"|"b", got "c"'],
    [{ limit: NaN }, 'invalid opts.limit: expected number or Infinity, got NaN'],
    [{ limit: 1.5 }, 'invalid opts.limit: expected an integer or Infinity, got 1.5'],
    [{ backoff: { delayMs: 'x' } }, 'invalid opts.backoff.delayMs: expected number, got "x"'],
    [{ backoff: { type: 'custom' } }, 'invalid opts.backoff.delay: expected a function, got undefined'],
    [
      { backoff: { delayMs: 1, dealy: 2 } },
      'invalid opts.backoff.dealy: unknown option; the options are type, delayMs',
    ],
    [{ backoff: 5 }, 'invalid opts.backoff: expected object, got 5'],
    [{ window: { type: 'x' } }, 'invalid opts.window.type: expected one of "count" | "time", got "x"'],
    [{ need: {} }, 'invalid opts.need.id: is required (expected string)'],
    [{ timeoutMs: -1 }, 'invalid opts.timeoutMs: Too small: expected number to be >0, got -1'],
    ['x', 'invalid opts: expected object, got "x"'],
  ])('%j', (value, expected) => {
    const m = message(value);
    expect(m).toBe(`[bulwark] ${expected}`);
    expect(m).not.toContain('Invalid input');
  });
});
