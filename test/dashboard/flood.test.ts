/**
 * An SSE flood: hundreds of live streams at once, on every store. The server keeps answering its
 * probes and API while they are open, every stream gets the events, and once they leave every
 * handle is freed (streams, sockets, the feed's timer). Speed under the flood is measured in
 * `npm run bench -- dashboard`, not here.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { startServer } from '../../src/server/index.js';
import { waitFor } from '../helpers/wait.js';
import { storeCases } from './stores.js';

const cases = await storeCases('dash-flood');
afterAll(async () => {
  for (const c of cases) await c.cleanup();
});

const STREAMS = 300;

const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

interface Stream {
  req: ClientRequest;
  text: string;
}

function open(url: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const s: Stream = { req: undefined as unknown as ClientRequest, text: '' };
    s.req = request(`${url}/api/events?queue=flood`, { agent: false }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        s.text += d;
        if (s.text.includes('event: hello')) resolve(s);
      });
      res.on('error', () => {});
    });
    s.req.on('error', reject);
    s.req.end();
  });
}

describe.each(cases)('SSE flood on $name', (c) => {
  it.skipIf(!c.available)(
    `${STREAMS} streams: the server answers, every stream hears the change, every handle is freed after`,
    async () => {
      const store = c.create();
      const queue = new Queue('flood', { store });
      await queue.add({ n: 0 }, { id: 'f0' });
      const server = await startServer({ port: 0, store, intervalMs: 250 });
      const baseline = { sockets: sockets(), timers: timers() };
      const streams: Stream[] = [];
      try {
        for (let i = 0; i < STREAMS; i += 50) {
          streams.push(...(await Promise.all(Array.from({ length: 50 }, () => open(server.url)))));
        }
        expect(server.handler.dashboard!.streams).toBe(STREAMS);
        for (let i = 0; i < 10; i++) {
          expect((await fetch(`${server.url}/livez`)).status).toBe(200);
          const o = await fetch(`${server.url}/api/overview`);
          expect(o.status).toBe(200);
          await o.arrayBuffer();
        }
        await queue.add({ n: 1 }, { id: 'f1' });
        await waitFor(
          () => streams.every((s) => /event: queue\n.*"waiting":2/.test(s.text)),
          'every stream to hear the new job',
          20_000,
        );
        for (const s of streams) s.req.destroy();
        await waitFor(() => server.handler.dashboard!.streams === 0, 'the streams to be released', 20_000);
        await waitFor(
          async () => {
            const n = await new Promise<number>((r) => server.server.getConnections((_e, count) => r(count)));
            return n === 0 && sockets() <= baseline.sockets && timers() <= baseline.timers;
          },
          'sockets and timers back to their baseline',
          20_000,
        );
        expect((await fetch(`${server.url}/livez`)).status).toBe(200);
      } finally {
        for (const s of streams) s.req.destroy();
        await server.close();
        await store.close();
      }
    },
    90_000,
  );
});
