/**
 * A TCP proxy between some clients and a server, for partitions. `blackhole()` stops forwarding in both
 * directions without closing anything (no RST, no FIN: what a dropped link looks like to both ends,
 * whose kernels keep the unsent bytes), and holds new connections unanswered; `heal()` lets everything
 * through again, in order, as TCP would once the link is back.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  /** Bytes read from one side while the link was down, for the other. */
  toUpstream: Buffer[];
  toClient: Buffer[];
}

export class Proxy {
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  private down = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get blackholed(): boolean {
    return this.down;
  }

  async listen(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  private accept(client: Socket): void {
    const pair: Pair = { client, upstream: undefined, toUpstream: [], toClient: [] };
    this.pairs.add(pair);
    client.setNoDelay(true);
    client.on('data', (d: Buffer) => {
      if (this.down || pair.upstream?.readyState !== 'open') {
        pair.toUpstream.push(d);
        if (this.down) client.pause();
      } else pair.upstream.write(d);
    });
    const end = (): void => this.drop(pair);
    client.on('error', end);
    client.on('close', end);
    if (this.down) client.pause();
    else this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    const up = connect(this.targetPort, this.targetHost);
    pair.upstream = up;
    up.setNoDelay(true);
    up.on('connect', () => {
      if (this.down) return;
      for (const d of pair.toUpstream.splice(0)) up.write(d);
    });
    up.on('data', (d: Buffer) => {
      if (this.down) {
        pair.toClient.push(d);
        up.pause();
      } else pair.client.write(d);
    });
    const end = (): void => this.drop(pair);
    up.on('error', end);
    up.on('close', end);
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  }

  /** The link goes silent: nothing passes either way, new connections get no answer. */
  blackhole(): void {
    this.down = true;
    for (const p of this.pairs) {
      p.client.pause();
      p.upstream?.pause();
    }
  }

  /** The link is back: what was held is delivered in order, held connections reach the server. */
  heal(): void {
    this.down = false;
    for (const p of this.pairs) {
      if (!p.upstream) {
        this.connectUpstream(p);
      } else if (p.upstream.readyState === 'open') {
        for (const d of p.toUpstream.splice(0)) p.upstream.write(d);
        p.upstream.resume();
      }
      for (const d of p.toClient.splice(0)) p.client.write(d);
      p.client.resume();
    }
  }

  async close(): Promise<void> {
    for (const p of [...this.pairs]) this.drop(p);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
