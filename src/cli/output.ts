// Everything the CLI prints goes through here. Human output goes to stdout; notices and errors to stderr. With
// --json, stdout carries exactly one document and errors are one JSON document on stderr. Colour only on a TTY,
// never with --json, off with NO_COLOR, on with FORCE_COLOR. The streams are given (process's, or a test's).
import { createColors } from 'picocolors';
import { isKinfraError, type KinfraError } from '../core/errors.js';
import { JSON_SCHEMA_VERSION } from '../core/json-output.js';
import type { Printer } from '../operations/operation.js';

export { JSON_SCHEMA_VERSION };

/** A stream the CLI writes to: process.stdout, or a test's capture. */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Where a run of the CLI reads and writes. */
export interface Terminal {
  stdout: OutStream;
  stderr: OutStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface Output extends Printer {
  json: boolean;
  verbose: boolean;
  terminal: Terminal;
  /** Print the command's result: the JSON document, or the human rendering. */
  result<T>(data: T, human: (data: T) => void): void;
  error(e: KinfraError | Error): void;
}

function colourEnabled(json: boolean, t: Terminal): boolean {
  if (json) return false;
  const env = t.env;
  if ('NO_COLOR' in env && env.NO_COLOR !== '') return false;
  if ('FORCE_COLOR' in env && env.FORCE_COLOR !== '0') return true;
  return Boolean(t.stdout.isTTY) && env.TERM !== 'dumb';
}

/**
 * The table renderer loads before an operation renders, not at every start: --version and every --json run never
 * draw one. `loadTables` is awaited by the CLI before it renders.
 */
let drawTable: typeof import('./render.js').table | undefined;
export async function loadTables(): Promise<void> {
  drawTable ??= (await import('./render.js')).table;
}
function tableOf(): typeof import('./render.js').table {
  if (!drawTable) throw new Error('tables drawn before loadTables()');
  return drawTable;
}

export function processTerminal(): Terminal {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

export function createOutput(opts: { json: boolean; verbose: boolean }, t: Terminal = processTerminal()): Output {
  const c = createColors(colourEnabled(opts.json, t));
  const o: Output = {
    json: opts.json,
    verbose: opts.verbose,
    terminal: t,
    tty: Boolean(t.stdout.isTTY),
    c,
    out: (line = '') => void t.stdout.write(line + '\n'),
    err: (line = '') => void t.stderr.write(line + '\n'),
    table: (head, rows) => tableOf()(head, rows, c.bold),
    result(data, human) {
      if (opts.json) o.out(JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ok: true, data }, null, 2));
      else human(data);
    },
    error(e) {
      const known = isKinfraError(e);
      const code = known ? e.code : 'internal-error';
      const message = known ? e.message : `kinfra hit an unexpected error: ${e.message}`;
      const hint = known ? e.hint : 'Run again with --verbose for the stack trace, and report it.';
      if (opts.json) {
        const details = known && e.details ? { details: e.details } : {};
        const error = { code, message, ...(hint ? { hint } : {}), ...details };
        o.err(JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ok: false, error }, null, 2));
        return;
      }
      o.err(`${c.red('Error:')} ${message}`);
      if (hint) o.err(`${c.dim('Hint:')} ${hint}`);
      if (opts.verbose && e.stack) o.err(c.dim(e.stack));
    },
  };
  return o;
}
