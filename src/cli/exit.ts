/**
 * The CLI's exit codes, one meaning each (the README lists them):
 *
 *   0  done (or drained cleanly after SIGINT / SIGTERM)
 *   1  failed: the health verdict is UNHEALTHY, a worker stopped on a fatal error, or an unexpected error
 *   2  bad usage or input: an unknown option, a bad store URL, invalid JSON, a ValidationError
 *   3  the store cannot be used: the SQLite file does not exist, the server does not answer
 *   4  not found: no such job or queue
 */
import { hasCode } from '../kernel/errors.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, store: 3, notFound: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports with its own exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export function exitCodeOf(e: unknown): ExitCode {
  if (e instanceof CliError) return e.exitCode;
  if (hasCode(e, 'VALIDATION')) return EXIT.usage;
  if (hasCode(e, 'NOT_FOUND')) return EXIT.notFound;
  if (hasCode(e, 'STORE') || hasCode(e, 'CLOSED')) return EXIT.store;
  if ((e as { status?: unknown })?.status === 404) return EXIT.notFound;
  return EXIT.failed;
}

/** One line per error, without the `[bulwark]` tag the library puts on its messages. */
export function describeError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/^(\[bulwark\]\s*)+/, '');
}
