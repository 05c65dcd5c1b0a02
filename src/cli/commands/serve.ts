/** Long-running commands: `dashboard` (the one server over a store) and `start` (workers, and the server with --port). */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { Queue } from '../../core/queue.js';
import { Worker } from '../../core/worker/worker.js';
import type { Handler, WorkerOptions } from '../../core/worker/options.js';
import { coerceError } from '../../kernel/errors.js';
import { HealthMonitor } from '../../observe/health.js';
import { BulwarkMetrics } from '../../observe/metrics.js';
import { instrument } from '../../observe/instrument.js';
import { storeMetrics } from '../../server/metrics.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { CliError, EXIT, printError } from '../exit.js';
import { int, type Ctx } from '../context.js';
import { loadModule } from '../load.js';
import { cliLogger, parseLevel } from '../log.js';

type Run = (ctx: Ctx, ...args: unknown[]) => Promise<number>;
type Wire = (cmd: Command, run: Run) => Command;

interface ServeFlags {
  port?: number;
  host: string;
  token?: string;
  readOnly?: boolean;
}

const LOOPBACK = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');

function serveOptions(cmd: Command, portDefault?: number): Command {
  return cmd
    .option('--port <port>', 'HTTP port (0 picks a free one)', int('--port', 0, 65_535), portDefault)
    .option('--host <host>', 'address to listen on; anything but loopback needs a token', '127.0.0.1')
    .option('--token <token>', 'required on every request (default: BULWARK_TOKEN)')
    .option('--read-only', 'refuse and hide every change');
}

function token(f: ServeFlags): string | undefined {
  const t = f.token ?? process.env.BULWARK_TOKEN;
  if (!LOOPBACK(f.host) && t === undefined) {
    throw new CliError(
      `--host ${f.host} opens the server beyond this machine: give --token (or BULWARK_TOKEN)`,
      EXIT.usage,
    );
  }
  if (f.host !== 'localhost' && isIP(f.host) === 0)
    throw new CliError(`--host must be an IP address or localhost`, EXIT.usage);
  return t;
}

/** Resolves with the first SIGINT or SIGTERM. */
export function untilSignal(): { signal: Promise<NodeJS.Signals>; dispose(): void } {
  let on!: (s: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    on = (s) => resolve(s);
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
  return {
    signal,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

type HandlerSpec = Handler | { handler: Handler; options?: WorkerOptions };

export function registerServe(program: Command, wire: Wire): void {
  wire(
    serveOptions(
      program
        .command('dashboard')
        .description('serve the dashboard, its API, /healthz and /metrics until SIGTERM'),
      8787,
    ),
    async (ctx, o) => {
      const f = o as ServeFlags;
      const t = token(f);
      const store = await ctx.store();
      const metrics = storeMetrics(store);
      const server = await startServer({
        store,
        storeLabel: ctx.spec.label,
        port: f.port,
        host: f.host,
        token: t,
        readOnly: f.readOnly === true,
        metrics,
      });
      process.stdout.write(`dashboard listening on ${server.url}/${t ? ' (sign in with the token)' : ''}\n`);
      const { signal } = untilSignal();
      await signal;
      await server.close();
      metrics.close();
      return EXIT.ok;
    },
  );

  wire(
    serveOptions(
      program
        .command('start <module>')
        .description(
          'run workers: the module (.js, .mjs or .ts) default-exports { queue: handler | { handler, options } }; --port also serves the dashboard',
        ),
    ).option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info'),
    async (ctx, modulePath, o) => {
      const f = o as ServeFlags & { logLevel: string };
      const level = parseLevel(f.logLevel);
      const t = f.port === undefined ? undefined : token(f);
      const mod = await loadModule(modulePath as string);
      let spec = mod.default;
      // A .ts file outside an ESM package loads as CommonJS: its default export sits one level down.
      const inner = spec as { default?: unknown } | undefined;
      if (
        typeof inner === 'object' &&
        inner !== null &&
        typeof inner.default === 'object' &&
        Object.keys(inner).every((k) => k === 'default' || k === '__esModule')
      ) {
        spec = inner.default;
      }
      if (typeof spec !== 'object' || spec === null || Object.keys(spec).length === 0) {
        throw new CliError(
          `${String(modulePath)} must default-export { queueName: handler | { handler, options } }`,
          EXIT.usage,
        );
      }
      const { logger, flush } = await cliLogger(level, process.stdout.isTTY === true);
      const store = await ctx.store({ create: true });
      const monitor = new HealthMonitor();
      const metrics = new BulwarkMetrics({ monitor });
      let shuttingDown = false;
      let fatal: string | undefined;
      let stop!: (why: 'fatal') => void;
      const stopped = new Promise<'fatal'>((r) => (stop = r));
      const workers = Object.entries(spec as Record<string, HandlerSpec>).map(([name, s]) => {
        const { handler, options = {} } = typeof s === 'function' ? { handler: s, options: {} } : s;
        if (typeof handler !== 'function') {
          throw new CliError(`${String(modulePath)}: queue ${name} has no handler function`, EXIT.usage);
        }
        const w = new Worker(new Queue(name, { store }), handler, { logger, ...options });
        instrument(w, { monitor, metrics, logger });
        w.on('worker:stopping', ({ reason }) => {
          if (shuttingDown) return;
          fatal = reason;
          logger.fatal({ queue: name, reason }, 'a worker stopped on a fatal error: shutting down');
          stop('fatal');
        });
        return w;
      });
      let server: RunningServer | undefined;
      if (f.port !== undefined) {
        server = await startServer({
          store,
          storeLabel: ctx.spec.label,
          port: f.port,
          host: f.host,
          token: t,
          readOnly: f.readOnly === true,
          workers,
          monitor,
          metrics,
          logger,
        });
      }
      const summary = setInterval(() => {
        for (const p of monitor.snapshot().processors) {
          if (p.window.calls > 0)
            logger.info(
              { queue: p.name, status: p.status, successRate: p.window.successRate, calls: p.window.calls },
              'queue summary',
            );
        }
      }, 60_000);
      summary.unref();
      logger.info(
        { store: ctx.spec.label, queues: workers.map((w) => w.queue.name), url: server?.url },
        `started ${workers.length} worker(s)${server ? `; dashboard on ${server.url}/` : ''}`,
      );
      const signals = untilSignal();
      const why = await Promise.race([signals.signal, stopped]);
      shuttingDown = true;
      signals.dispose();
      clearInterval(summary);
      server?.setDraining(true);
      logger.info({ reason: why }, 'draining');
      const results = await Promise.allSettled(
        workers.map((w) => w.close({ reason: why === 'fatal' ? 'fatal error in another worker' : why })),
      );
      for (const r of results)
        if (r.status === 'rejected') logger.error({ err: coerceError(r.reason) }, 'a worker failed to close');
      await server?.close();
      flush();
      logger.info({}, 'stopped');
      logger.flush();
      if (fatal !== undefined) {
        printError(`a worker stopped on a fatal error: ${fatal}`, EXIT.failed, ctx.json);
        return EXIT.failed;
      }
      return EXIT.ok;
    },
  );
}
