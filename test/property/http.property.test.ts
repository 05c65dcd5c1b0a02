/**
 * Property: the dashboard's JSON API on every store. Arbitrary actions (pause, resume, replay, cancel,
 * purge of one job or of the dead-letter queue) and reads (a job, a page of jobs with filters) with
 * arbitrary queue names and job ids in the path (any code points, NUL, invalid UTF-8 percent-encoding)
 * and arbitrary JSON bodies (reasons and ids of any type and text, lone surrogates as JSON escapes)
 * all get an answer below 500; an action refused with a 4xx changes nothing; the server stays up; and
 * the jobs the actions put back reach a final state through a Worker. (Raw request lines, headers and
 * mounts in frameworks are test/server/robust.test.ts's.)
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError, type Store } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { storeCases } from '../dashboard/stores.js';
import { Driver, fingerprint, params, text } from './harness.js';

const cases = await storeCases('prop-http');

/**
 * Percent-encodes any string as a path segment or query value, byte for byte: a lone surrogate
 * becomes the three bytes WTF-8 would give it (invalid UTF-8, which the server must refuse).
 */
function pct(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
        .join('');
    } else out += encodeURIComponent(ch);
  }
  return out;
}

/** Any JSON value, with strings of every code unit (a lone surrogate travels as a JSON escape). */
const json: fc.Arbitrary<unknown> = fc.oneof(
  text({ long: 600 }),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(null, true, 0, -1, 1e308, [], {}),
);

const SEEDED = ['w1', 'w2', 'd1', 'd2', 'd3', 'c1', 'id with space', 'é😀', 'a/b', 'x\u2028y'];

describe.each(cases)('dashboard JSON API on $name', (c) => {
  let store: Store;
  let server: RunningServer;
  let driver: Driver;

  beforeAll(async () => {
    if (!c.available) return;
    store = c.create();
    await store.init();
    // Jobs of every kind to act on: dead ones to replay or purge, waiting ones to cancel, one done.
    driver = new Driver(store, 'mail', { defaults: { maxAttempts: 1 } });
    for (const id of SEEDED) {
      driver.plan(id, () => {
        if (id.startsWith('d') || id === 'a/b') throw new ValidationError(`bad ${id}`);
        return 'sent';
      });
      if (!id.startsWith('w')) {
        await driver.queue.add({ id }, { id });
        await driver.final(id);
      }
    }
    await driver.close();
    for (const id of ['w1', 'w2']) await driver.queue.add({ id }, { id });
    server = await startServer({ port: 0, store, intervalMs: 200 });
  }, 60_000);
  afterAll(async () => {
    if (!c.available) return;
    await server?.close();
    await store?.close();
    await c.cleanup();
  });

  it.skipIf(!c.available)(
    'actions and reads with any path and body: an answer below 500, a refusal changes nothing',
    async () => {
      const queueName = fc.oneof(
        { weight: 6, arbitrary: fc.constant('mail') },
        { weight: 1, arbitrary: fc.constantFrom('nope', 'MAIL', 'mail ', 'mail.x') },
        { weight: 2, arbitrary: text({ maxLength: 12 }) },
      );
      const jobId = fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...SEEDED) },
        { weight: 3, arbitrary: text({ long: 700 }) },
      );
      const idsValue = fc.oneof(
        fc.array(jobId, { maxLength: 4 }),
        fc.array(json, { maxLength: 3 }),
        fc.constantFrom<unknown>(
          [],
          null,
          'd1',
          5,
          {},
          Array.from({ length: 10_001 }, (_, i) => `d${i}`),
        ),
      );
      const body = fc.oneof(
        { weight: 2, arbitrary: fc.constant(undefined) },
        {
          weight: 3,
          arbitrary: fc.record({ reason: json }, { requiredKeys: [] }),
        },
        { weight: 3, arbitrary: fc.record({ ids: idsValue }, { requiredKeys: [] }) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
        {
          weight: 1,
          arbitrary: fc.constantFrom('{', 'not json', '[1,2]', '"text"', '{"reason":"\\ud800"}', '\u0000'),
        },
      );
      const request = fc.oneof(
        fc.record({
          method: fc.constant('POST'),
          path: fc
            .tuple(queueName, fc.constantFrom('pause', 'resume', 'dlq/replay', 'dlq/purge'))
            .map(([q, action]) => `/api/queues/${pct(q)}/${action}`),
          body,
        }),
        fc.record({
          method: fc.constant('POST'),
          path: fc
            .tuple(queueName, jobId, fc.constantFrom('replay', 'cancel', 'purge'))
            .map(([q, id, action]) => `/api/queues/${pct(q)}/jobs/${pct(id)}/${action}`),
          body,
        }),
        fc.record({
          method: fc.constant('GET'),
          path: fc.tuple(queueName, jobId).map(([q, id]) => `/api/queues/${pct(q)}/jobs/${pct(id)}`),
          body: fc.constant(undefined),
        }),
        fc.record({
          method: fc.constant('GET'),
          path: fc
            .tuple(
              queueName,
              fc.dictionary(
                fc.constantFrom('state', 'name', 'search', 'from', 'to', 'limit', 'offset', 'deep', 'other'),
                fc.oneof(
                  text({ maxLength: 8 }),
                  jobId,
                  fc.constantFrom('dead', 'waiting', '0', '1', '-1', '50', 'NaN'),
                ),
                { maxKeys: 3 },
              ),
            )
            .map(
              ([q, query]) =>
                `/api/queues/${pct(q)}/jobs?${Object.entries(query)
                  .map(([k, v]) => `${k}=${pct(v)}`)
                  .join('&')}`,
            ),
          body: fc.constant(undefined),
        }),
      );
      let refusals = 0;
      let answers = 0;
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const now = Date.now();
          const before = await fingerprint(store, 'mail', now);
          const res = await fetch(`${server.url}${r.path}`, {
            method: r.method,
            headers: r.body === undefined ? {} : { 'content-type': 'application/json' },
            body:
              r.body === undefined ? undefined : typeof r.body === 'string' ? r.body : JSON.stringify(r.body),
            signal: AbortSignal.timeout(10_000),
          });
          const text = await res.text();
          expect(res.status, `${r.method} ${r.path.slice(0, 200)}: ${text.slice(0, 300)}`).toBeLessThan(500);
          expect(res.status).toBeGreaterThanOrEqual(200);
          expect(() => JSON.parse(text), 'the API answers JSON').not.toThrow();
          answers++;
          if (res.status >= 400 && r.method === 'POST') {
            refusals++;
            expect(
              await fingerprint(store, 'mail', now),
              `${r.path}: a refused action changed the store`,
            ).toBe(before);
          }
        }),
        params(1401, 250),
      );
      expect(answers).toBeGreaterThan(0);
      expect(refusals).toBeGreaterThan(0);
      // The server is up, and every job the actions put back (replayed, resumed) reaches a final state.
      expect((await fetch(`${server.url}/livez`)).status).toBe(200);
      expect((await fetch(`${server.url}/api/overview`)).status).toBe(200);
      await driver.queue.resume();
      const runner = new Driver(store, 'mail', { defaults: { maxAttempts: 1 } });
      try {
        for (const id of SEEDED) {
          runner.plan(id, () => 'sent');
          const job = await runner.queue.getJob(id);
          if (job) expect(['completed', 'dead', 'cancelled']).toContain((await runner.final(id))!.state);
        }
      } finally {
        await runner.close();
      }
    },
    240_000,
  );
});
