/**
 * The logger of `bulwark start`: pino JSON lines, or pino-pretty's readable lines on a terminal.
 *
 * A store outage makes every worker fail the same way many times a second (`worker error`, during
 * `claim`, `heartbeat`, …). Such repeats are bounded: the first line of a kind is written as it
 * comes, later ones within `repeatWindowMs` are counted, and one line at the end of the window says
 * how many there were and what the last one said ("worker error (claim) 45 more times in the last
 * 10 s: …"). A kind is the message, the `during` field and the logger's queue; lines about one job
 * (with a `jobId`) are never held back.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { jobMixin, LOG_LEVELS, type LogLevel } from '../observe/log.js';
import { CliError, EXIT, describeError } from './exit.js';

export function parseLevel(text: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(text)) {
    throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`, EXIT.usage);
  }
  return text as LogLevel;
}

export interface CliLogger {
  logger: PinoLogger;
  /** Writes the summaries of repeats still counted (at shutdown). */
  flush(): void;
}

/** pino's level numbers: warn is 40; repeats of warn and above are bounded. */
const WARN = 40;

interface Repeats {
  logger: PinoLogger;
  level: number;
  msg: string;
  during: unknown;
  count: number;
  last: string;
  since: number;
  timer: NodeJS.Timeout;
}

export async function cliLogger(
  level: LogLevel,
  pretty: boolean,
  o: { repeatWindowMs?: number; destination?: DestinationStream } = {},
): Promise<CliLogger> {
  const windowMs = o.repeatWindowMs ?? 10_000;
  let destination: DestinationStream = o.destination ?? pino.destination({ dest: 1, sync: false });
  if (pretty && o.destination === undefined) {
    const { default: prettyStream } = await import('pino-pretty');
    destination = prettyStream({
      colorize: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname',
      sync: true,
    });
  }
  const kinds = new Map<string, Repeats>();
  let summarizing = false;

  const summarize = (key: string, r: Repeats, again: boolean): void => {
    if (r.count === 0) {
      kinds.delete(key);
      clearTimeout(r.timer);
      return;
    }
    const seconds = Math.max(1, Math.round((Date.now() - r.since) / 1000));
    const label = typeof r.during === 'string' ? `${r.msg} (${r.during})` : r.msg;
    const method = (pino.levels.labels[r.level] ?? 'error') as 'error';
    summarizing = true;
    try {
      r.logger[method](
        {
          ...(r.during === undefined ? {} : { during: r.during }),
          repeated: r.count,
          windowMs: Date.now() - r.since,
        },
        `${label} ${r.count} more time${r.count === 1 ? '' : 's'} in the last ${seconds} s${r.last === r.msg ? '' : `: ${r.last}`}`,
      );
    } finally {
      summarizing = false;
    }
    r.count = 0;
    r.since = Date.now();
    if (again) {
      r.timer = setTimeout(() => summarize(key, r, true), windowMs);
      r.timer.unref();
    } else kinds.delete(key);
  };

  const logger = pino(
    {
      level,
      name: 'bulwark',
      mixin: jobMixin,
      hooks: {
        logMethod(args, method, lvl) {
          const obj =
            typeof args[0] === 'object' && args[0] !== null
              ? (args[0] as Record<string, unknown>)
              : undefined;
          const msg = obj === undefined ? args[0] : args[1];
          if (summarizing || lvl < WARN || typeof msg !== 'string' || obj?.jobId !== undefined) {
            return method.apply(this, args);
          }
          const queue = (this.bindings() as { queue?: unknown }).queue;
          const key = JSON.stringify([lvl, msg, obj?.during, queue]);
          const seen = kinds.get(key);
          const err = obj?.err;
          const text =
            err instanceof Error ? describeError(err) : typeof obj?.reason === 'string' ? obj.reason : msg;
          if (seen === undefined) {
            const r: Repeats = {
              logger: this,
              level: lvl,
              msg,
              during: obj?.during,
              count: 0,
              last: text,
              since: Date.now(),
              timer: setTimeout(() => summarize(key, r, true), windowMs),
            };
            r.timer.unref();
            kinds.set(key, r);
            return method.apply(this, args);
          }
          seen.count++;
          seen.last = text;
        },
      },
    },
    destination,
  );
  return {
    logger,
    flush() {
      for (const [key, r] of [...kinds]) {
        clearTimeout(r.timer);
        summarize(key, r, false);
      }
      logger.flush();
    },
  };
}
