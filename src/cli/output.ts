import { createColors } from 'picocolors';
import { isKinfraError, type KinfraError } from '../core/errors.js';

/**
 * Everything the CLI prints goes through here. Human output goes to stdout;
 * notices and errors to stderr. With --json, stdout carries exactly one document
 * and errors are one JSON document on stderr. Colour only on a TTY, never with
 * --json, off with NO_COLOR, on with FORCE_COLOR.
 */
export const JSON_SCHEMA_VERSION = 1;

export interface Output {
  json: boolean;
  verbose: boolean;
  c: ReturnType<typeof createColors>;
  out(line?: string): void;
  err(line?: string): void;
  /** Print the command's result: the JSON document, or the human rendering. */
  result<T>(data: T, human: (data: T) => void): void;
  error(e: KinfraError | Error): void;
}

function colourEnabled(json: boolean): boolean {
  if (json) return false;
  const env = process.env;
  if ('NO_COLOR' in env && env.NO_COLOR !== '') return false;
  if ('FORCE_COLOR' in env && env.FORCE_COLOR !== '0') return true;
  return Boolean(process.stdout.isTTY) && env.TERM !== 'dumb';
}

export function createOutput(opts: { json: boolean; verbose: boolean }): Output {
  const c = createColors(colourEnabled(opts.json));
  const o: Output = {
    json: opts.json,
    verbose: opts.verbose,
    c,
    out: (line = '') => void process.stdout.write(line + '\n'),
    err: (line = '') => void process.stderr.write(line + '\n'),
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
        const error = { code, message, ...(hint ? { hint } : {}), ...(known && e.details ? { details: e.details } : {}) };
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
