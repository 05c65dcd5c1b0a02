#!/usr/bin/env node
/** The `bulwark` command: one store URL for every command, exit codes in exit.ts. */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { runDemo } from './demo.js';
import { makeContext, int, type Ctx } from './context.js';
import { EXIT, describeError, exitCodeOf, printError, wantsJson } from './exit.js';
import { registerReads } from './commands/jobs.js';
import { registerWrites } from './commands/write.js';
import { registerServe } from './commands/serve.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

const STORE_HELP = `
Stores: --store <url> or BULWARK_STORE (default sqlite:./bulwark.db)
  sqlite:./bulwark.db   postgres://user@host:5432/db?schema=bulwark   redis://host:6379?prefix=bulwark

Exit codes: 0 done, 1 failed (UNHEALTHY, a fatal worker stop), 2 bad usage or input,
            3 store missing or unreachable, 4 no such job or queue`;

export async function main(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.ok;
  const json = wantsJson(argv);
  const program = new Command('bulwark')
    .description('resilient background jobs on SQLite, PostgreSQL or Redis')
    .version(pkg.version, '-v, --version')
    .option('--store <url>', 'the store (default: BULWARK_STORE, else sqlite:./bulwark.db)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', STORE_HELP)
    .showHelpAfterError(json ? false : '(run bulwark --help for usage)')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // With --json a usage error is a JSON object too: `error: unknown option '--x'` → { error }.
      outputError: (s, write) =>
        json ? printError(s.trim().replace(/^error:\s*/, ''), EXIT.usage, true) : write(s),
    });

  /** Gives a command its context, runs it, and closes the store whatever happens. */
  const wire = (cmd: Command, run: (ctx: Ctx, ...args: unknown[]) => Promise<number>): Command =>
    cmd.exitOverride().action(async (...args: unknown[]) => {
      const self = args[args.length - 1] as Command;
      const opts = self.optsWithGlobals<{ store?: string; json?: boolean }>();
      const ctx = makeContext(opts);
      try {
        code = await run(ctx, ...args.slice(0, -2), self.opts());
      } finally {
        await ctx.close();
      }
    });

  registerReads(program, wire);
  registerWrites(program, wire);
  registerServe(program, wire);
  program
    .command('demo')
    .description('the demo: a flaky API, every error class, a summary (a temporary SQLite file)')
    .option('--jobs <n>', 'how many jobs', int('--jobs', 1, 100_000), 500)
    .exitOverride()
    .action(async (o: { jobs: number }) => {
      code = (await runDemo({ jobs: o.jobs })).ok ? EXIT.ok : EXIT.failed;
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.version' ||
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.help'
      )
        return EXIT.ok;
      // Commander has printed the problem already.
      return EXIT.usage;
    }
    const exit = exitCodeOf(e);
    printError(describeError(e), exit, json);
    return exit;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    printError(describeError(e), EXIT.failed, wantsJson(process.argv));
    process.exitCode = EXIT.failed;
  },
);
