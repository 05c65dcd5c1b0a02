import { describe, expect, it } from 'vitest';
import { dueTicks, loadSchedule, parseCron, tickJobId } from '../../src/core/schedule.js';

const at = (iso: string): number => Date.parse(iso);
const load = (cron: string, last: string, extra: Record<string, unknown> = {}) =>
  loadSchedule({
    queue: 'q',
    key: 'k',
    spec: JSON.stringify({
      cron,
      tz: 'UTC',
      payload: null,
      options: {},
      catchUp: 'none',
      catchUpLimit: 100,
      ...extra,
    }),
    lastTickAt: at(last),
    createdAt: 0,
    updatedAt: 0,
  })!;

describe('schedule ticks', () => {
  it('fires the ticks after the last one, up to now', () => {
    const s = load('*/10 * * * * *', '2026-01-01T00:00:00Z');
    expect(dueTicks(s, at('2026-01-01T00:00:25Z'))).toEqual({
      fire: [at('2026-01-01T00:00:10Z'), at('2026-01-01T00:00:20Z')],
      upTo: at('2026-01-01T00:00:20Z'),
    });
    expect(dueTicks(s, at('2026-01-01T00:00:09.999Z'))).toBeNull();
  });

  it('reads the expression in its time zone, across a DST change', () => {
    const s = loadSchedule({
      queue: 'q',
      key: 'k',
      spec: JSON.stringify({
        cron: '0 9 * * *',
        tz: 'Europe/Paris',
        payload: null,
        options: {},
        catchUp: 'all',
        catchUpLimit: 5,
      }),
      lastTickAt: at('2026-03-28T00:00:00Z'),
      createdAt: 0,
      updatedAt: 0,
    })!;
    // 9:00 in Paris is 08:00 UTC before the change (29 March 2026) and 07:00 UTC after.
    expect(dueTicks(s, at('2026-03-30T12:00:00Z'))!.fire).toEqual([
      at('2026-03-28T08:00:00Z'),
      at('2026-03-29T07:00:00Z'),
      at('2026-03-30T07:00:00Z'),
    ]);
  });

  it('bounds catch-up and skips missed ticks under none', () => {
    const all = load('* * * * *', '2026-01-01T00:00:00Z', { catchUp: 'all', catchUpLimit: 3 });
    const late = at('2026-01-02T00:00:40Z');
    expect(dueTicks(all, late)!.fire).toHaveLength(3);
    const none = load('* * * * *', '2026-01-01T00:00:00Z');
    expect(dueTicks(none, late)).toEqual({ fire: [], upTo: at('2026-01-02T00:00:00Z') });
    expect(dueTicks(none, at('2026-01-02T00:00:20Z'))!.fire).toEqual([at('2026-01-02T00:00:00Z')]);
  });

  it('refuses 7 fields and unknown zones with a ValidationError', () => {
    expect(() => parseCron('0 0 0 1 1 * 2027', 'UTC')).toThrow(
      expect.objectContaining({ code: 'VALIDATION' }),
    );
    expect(() => parseCron('* * * * *', 'Nowhere/Land')).toThrow(/time zone/);
  });

  it('derives the job id from the key and the tick', () => {
    expect(tickJobId('daily', at('2026-01-01T03:00:00Z'))).toBe('schedule:daily:2026-01-01T03:00:00.000Z');
  });
});
