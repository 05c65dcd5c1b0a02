/** The job-hash codec: compact backoff encoding gives back the exact text; error history lines. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, resolveBackoff } from '../../../src/resilience/index.js';
import { decodeBackoff, decodeErrors, encodeBackoff } from '../../../src/store/redis/codec.js';

describe('redis codec', () => {
  it('stores the usual backoff compactly and gives back the exact same text', () => {
    for (const b of [
      DEFAULT_BACKOFF,
      resolveBackoff({ type: 'linear', delayMs: 5, jitter: 'none' }),
      resolveBackoff({ factor: 1.5, maxDelayMs: 0 }),
    ]) {
      const text = JSON.stringify(b);
      const code = encodeBackoff(text);
      expect(code.startsWith('~')).toBe(true);
      expect(code.length).toBeLessThan(64);
      expect(decodeBackoff(code)).toBe(text);
    }
  });

  it('stores any other text as it is', () => {
    for (const text of [
      '{"delayMs":1000,"type":"exponential","maxDelayMs":300000,"factor":2,"jitter":"full"}',
      '{"type":"exponential","delayMs":1000,"maxDelayMs":300000,"factor":2,"jitter":"full","extra":1}',
      '{"type":"a|b","delayMs":1,"maxDelayMs":1,"factor":1,"jitter":"none"}',
      'not json',
    ]) {
      expect(encodeBackoff(text)).toBe(text);
      expect(decodeBackoff(text)).toBe(text);
    }
  });

  it('reads the error history stored one JSON record per line', () => {
    const a = {
      attempt: 1,
      category: 'transient',
      action: 'retry',
      name: 'E',
      message: 'line\nbreak',
      at: 1,
    };
    const b = { ...a, attempt: 2 };
    expect(decodeErrors(`${JSON.stringify(a)}\n${JSON.stringify(b)}`)).toEqual([a, b]);
    expect(decodeErrors(null)).toEqual([]);
  });
});
