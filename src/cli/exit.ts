/**
 * The CLI's exit codes, one meaning each (the README lists them):
 *
 *   0  done (or drained cleanly after SIGINT / SIGTERM)
 *   1  failed: the health verdict is UNHEALTHY, a worker stopped on a fatal error, or an unexpected error
 *   2  bad usage or input: an unknown option, a bad store URL, invalid JSON, a ValidationError
 *   3  the store cannot be used: the SQLite file does not exist or cannot be opened, no server answers
 *   4  not found: no such job or queue, or ids a command could not act on
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

/** Error codes of a SQLite file that cannot be opened or used, and of the file system under it. */
const OPEN_FAILURE =
  /^(SQLITE_(CANTOPEN|NOTADB|CORRUPT|IOERR|READONLY|PERM|AUTH|FULL)|EACCES|EPERM|EISDIR|ENOENT|ENOTDIR|EROFS)/;

export function exitCodeOf(e: unknown): ExitCode {
  if (e instanceof CliError) return e.exitCode;
  if (hasCode(e, 'VALIDATION')) return EXIT.usage;
  if (hasCode(e, 'NOT_FOUND')) return EXIT.notFound;
  if (hasCode(e, 'STORE') || hasCode(e, 'CLOSED')) return EXIT.store;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && OPEN_FAILURE.test(code)) return EXIT.store;
  if ((e as { status?: unknown })?.status === 404) return EXIT.notFound;
  return EXIT.failed;
}

/**
 * One line per error, without the `[bulwark]` tag the library puts on its messages. A store's own tag
 * (`[bulwark] [postgres host:port/db] cannot connect: …`) becomes the CLI's one format for store
 * failures, `postgres host:port/db: cannot connect: …`, the format the CLI's own checks use too.
 */
export function describeError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message
    .replace(/^(\[bulwark\]\s*)+/, '')
    .replace(/^\[((?:postgres|redis|sqlite)(?: [^\]]*)?)\]\s*/, '$1: ');
}

/** The stable name of an exit code, the `code` of a `--json` error. */
const CODE_NAMES: Record<ExitCode, string> = {
  0: 'OK',
  1: 'FAILED',
  2: 'USAGE',
  3: 'STORE',
  4: 'NOT_FOUND',
};

/**
 * Reports an error on stderr: `bulwark: <message>`, or with `--json` one JSON object,
 * `{"error":{"code":"STORE","message":"…"}}`, so that scripts reading JSON never parse prose.
 */
export function printError(message: string, exitCode: ExitCode, json: boolean): void {
  process.stderr.write(
    json
      ? `${JSON.stringify({ error: { code: CODE_NAMES[exitCode], message } })}\n`
      : `bulwark: ${message}\n`,
  );
}

/** Whether the command line asks for `--json` (before a `--` that ends the options). */
export function wantsJson(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--json') return true;
  }
  return false;
}
