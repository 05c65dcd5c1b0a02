import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/kernel/id.js';

describe('uuidv7', () => {
  it('is a version 7 UUID, and ids made one after another sort in the order they were made', () => {
    const ids = Array.from({ length: 10_000 }, () => uuidv7());
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carries the time, and keeps the order when the clock stands still or steps back', () => {
    const t = Date.UTC(2030, 0, 1);
    const a = uuidv7(t);
    expect(parseInt(a.replaceAll('-', '').slice(0, 12), 16)).toBe(t);
    const same = Array.from({ length: 5000 }, () => uuidv7(t)); // more than 4096 in one millisecond
    const back = uuidv7(t - 60_000);
    const all = [a, ...same, back];
    expect([...all].sort()).toEqual(all);
  });
});
