/** The logger of `bulwark start`: pino JSON lines, or pino-pretty's readable lines on a terminal. */
import { createLogger, LOG_LEVELS, type LogLevel } from '../observe/log.js';
import type { Logger as PinoLogger } from 'pino';
import { CliError, EXIT } from './exit.js';

export function parseLevel(text: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(text)) {
    throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`, EXIT.usage);
  }
  return text as LogLevel;
}

export async function cliLogger(level: LogLevel, pretty: boolean): Promise<PinoLogger> {
  if (!pretty) return createLogger({ level, name: 'bulwark' });
  const { default: prettyStream } = await import('pino-pretty');
  const destination = prettyStream({
    colorize: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname',
    sync: true,
  });
  return createLogger({ level, name: 'bulwark', destination });
}
