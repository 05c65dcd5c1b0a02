/** The web dashboard: mount `createDashboard(...).handle` into a server, or `startDashboard` its own. */
import { createServer, type Server } from 'node:http';
import { ValidationError } from '../kernel/errors.js';
import { createDashboard, type Dashboard, type DashboardOptions } from './api.js';

export {
  createDashboard,
  type Dashboard,
  type DashboardOptions,
  type Overview,
  type QueueOverview,
} from './api.js';

export interface StartDashboardOptions extends DashboardOptions {
  /** @default 8787; 0 picks a free port */
  port?: number;
  /** @default '127.0.0.1' (only this machine can reach it) */
  host?: string;
}

export interface RunningDashboard {
  url: string;
  dashboard: Dashboard;
  server: Server;
  close(): Promise<void>;
}

/** Starts an HTTP server that serves the dashboard page and its API. */
export async function startDashboard(options: StartDashboardOptions): Promise<RunningDashboard> {
  const { port = 8787, host = '127.0.0.1', ...rest } = options ?? ({} as StartDashboardOptions);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ValidationError('[bulwark] dashboard port must be an integer from 0 to 65535', {
      path: 'port',
    });
  }
  const dashboard = createDashboard(rest);
  const server = createServer((req, res) => {
    void dashboard.handle(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'not found' }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    dashboard,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        dashboard.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
