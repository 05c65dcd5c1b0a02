/**
 * `startServer`: the one HTTP server (probes, /healthz, /metrics, the dashboard, its API and live
 * feed) on 127.0.0.1 unless told otherwise. `startHealthServer` and `healthHandler` are the same
 * server and handler without a store.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { parseOptions } from '../kernel/validate.js';
import { createHandler, type BulwarkHandler, type ServerOptions } from './handler.js';
import type { HealthEndpointsOptions } from './health.js';

export interface StartServerOptions extends ServerOptions {
  /** 0 picks a free port. @default 8787 */
  port?: number;
  /** Only this machine can reach the default; give '0.0.0.0' (with a token) to open it. @default '127.0.0.1' */
  host?: string;
}

export interface StartHealthServerOptions extends HealthEndpointsOptions {
  /** 0 picks a free port. */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
}

export interface RunningServer {
  readonly server: Server;
  readonly handler: BulwarkHandler;
  /** The address it listens on, e.g. 127.0.0.1. */
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:8787 */
  readonly url: string;
  setDraining(draining?: boolean): void;
  readonly draining: boolean;
  /** Ends the live streams, stops listening and closes every connection. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** @deprecated the same as RunningServer */
export type HealthServer = RunningServer;
/** @deprecated the same as BulwarkHandler */
export type HealthHandler = BulwarkHandler;

const zListen = z
  .object({
    port: z.number().int().min(0).max(65_535).optional(),
    host: z.string().min(1).max(255).optional(),
  })
  .passthrough();

/** Starts the server: the dashboard with a store, the probes and metrics always. */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const {
    port = 8787,
    host = '127.0.0.1',
    ...rest
  } = parseOptions(zListen, options, 'server options') as StartServerOptions;
  const handler = createHandler(rest);
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 20_000 }, (req, res) =>
    handler(req, res),
  );
  // Malformed HTTP never reaches the handler: answer it here instead of leaving the socket open.
  server.on('clientError', (_err, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    handler.close();
    throw e;
  }
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve, reject) => {
      handler.close();
      server.close((e) => (e ? reject(e) : resolve()));
      server.closeIdleConnections();
      // Requests still running get a moment to answer; then every connection goes.
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    }));
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    handler,
    host: address.address,
    port: address.port,
    url: `http://${urlHost}:${address.port}`,
    setDraining: (d?: boolean) => handler.setDraining(d),
    get draining() {
      return handler.draining;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The probes and metrics on a server of their own: `startServer` without a store. */
export async function startHealthServer(options: StartHealthServerOptions): Promise<RunningServer> {
  parseOptions(z.object({ port: z.number() }).passthrough(), options, 'health server options');
  return startServer(options);
}

/** The probes and metrics as a handler to mount: `createHandler` without a store. */
export function healthHandler(options: HealthEndpointsOptions = {}): BulwarkHandler {
  return createHandler(options);
}
