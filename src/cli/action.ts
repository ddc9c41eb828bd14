import { InvalidArgumentError, type Command } from 'commander';
import type { AppContext } from '../app/context.js';
import { isKinfraError } from '../core/errors.js';
import { EXIT_CODES } from './exit-codes.js';
import { createOutput, type Output } from './output.js';

/**
 * Wraps a command body: builds the output (--json, --verbose) and the app
 * context, runs the body, and turns any failure into a message and exit code.
 */
export function action<A extends unknown[]>(
  body: (io: Output, ctx: AppContext, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.optsWithGlobals<{ json?: boolean; verbose?: boolean }>();
    const io = createOutput({ json: Boolean(opts.json), verbose: Boolean(opts.verbose) || Boolean(process.env.DEBUG) });
    try {
      // --json keeps stderr for the one error document.
      if (io.verbose && !io.json) (await import('../adapters/runner.js')).echoCommands((line) => io.err(io.c.dim(line)));
      // A silent minute behind another process's lock looks like a hang: say what it waits for.
      if (!io.json) (await import('../adapters/file-store.js')).noticeLockWaits((m) => io.err(io.c.dim(m)));
      const { appContext } = await import('../app/context.js');
      // Commander passes the arguments, the options, then the command itself (for global options).
      await body(io, appContext(), ...(args as A));
    } catch (e) {
      io.error(e as Error);
      process.exitCode = isKinfraError(e) ? EXIT_CODES[e.category] : EXIT_CODES.internal;
    }
  };
}

/** Commander option parser for whole numbers, with a message that says what is wanted. */
export function wholeNumber(what: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
