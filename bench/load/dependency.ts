/**
 * The simulated dependency of the `load` bench: an HTTP server on 127.0.0.1 that serves `capacity`
 * requests at once, each for `serviceMs`, and queues the rest first in, first out (so latency grows
 * with the queue, like a connection pool or a GPU in front of a model).
 *
 * It runs in its own process (`startDependency()` forks this file) so that the clients measured do
 * not share its event loop. Its capacity can change mid-run (`setCapacity`) over the IPC channel.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface DependencyOptions {
  /** Requests served at once. */
  capacity: number;
  /** Time to serve one request, in ms. */
  serviceMs: number;
}

export interface RunningDependency {
  readonly url: string;
  setCapacity(capacity: number): Promise<void>;
  close(): Promise<void>;
}

type Message = { type: 'listening'; port: number } | { type: 'capacity'; capacity: number };

/** The server side (runs in the child). */
function serve(options: DependencyOptions): void {
  let capacity = options.capacity;
  let running = 0;
  const line: ServerResponse[] = [];
  let head = 0;

  const start = (res: ServerResponse): void => {
    running++;
    setTimeout(() => {
      running--;
      if (!res.destroyed) res.end('ok');
      next();
    }, options.serviceMs);
  };
  const next = (): void => {
    while (running < capacity && head < line.length) {
      const res = line[head]!;
      line[head++] = undefined as unknown as ServerResponse;
      if (head > 4096) {
        line.splice(0, head);
        head = 0;
      }
      if (!res.destroyed) start(res);
    }
  };

  const server = createServer((req, res) => {
    req.resume();
    res.setHeader('content-type', 'text/plain');
    if (running < capacity) start(res);
    else line.push(res);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.send!({ type: 'listening', port } satisfies Message);
  });
  process.on('message', (m: Message) => {
    if (m.type === 'capacity') {
      capacity = m.capacity;
      next();
      process.send!({ type: 'capacity', capacity } satisfies Message);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Forks the simulated dependency and resolves once it listens on 127.0.0.1. */
export async function startDependency(options: DependencyOptions): Promise<RunningDependency> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const kill = (): void => {
    child.kill();
  };
  process.once('exit', kill);
  const next = (type: Message['type']): Promise<Message> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: Message): void => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m);
      };
      const onExit = (code: number | null): void => {
        child.off('message', onMessage);
        reject(new Error(`the simulated dependency exited (code ${code})`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const listening = (await next('listening')) as Extract<Message, { type: 'listening' }>;
  return {
    url: `http://127.0.0.1:${listening.port}/`,
    async setCapacity(capacity) {
      const ack = next('capacity');
      child.send({ type: 'capacity', capacity } satisfies Message);
      await ack;
    },
    async close() {
      process.off('exit', kill);
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect();
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  serve(JSON.parse(process.argv[2]!) as DependencyOptions);
}
