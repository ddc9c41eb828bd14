// Command lines commander rejects, reworded into kinfra's Error/Hint form and usage exit code.

import type { Command, CommanderError } from 'commander';
import { usageError, type KinfraError } from '../core/errors.js';

/**
 * A command line commander rejected (unknown command or option, missing
 * argument, bad value), as a kinfra usage error: the same Error/Hint form and
 * exit code as every other mistake, with commander's "did you mean" moved into
 * the hint and the --help of the command that refused it.
 */
export function commanderUsageError(e: CommanderError, refusedBy: Command | undefined): KinfraError {
  // Commander's message: `error: <what>` and, on a line of its own, `(Did you mean <x>?)`.
  const [first = '', ...rest] = e.message.replace(/^error: /, '').split('\n');
  const suggestion = /^\((Did you mean .*\?)\)$/.exec(rest.join(' ').trim())?.[1];
  const what = first.charAt(0).toUpperCase() + first.slice(1);
  const message = /[.?!]$/.test(what) ? what : `${what}.`;
  const help = `Run \`${commandPath(refusedBy)} --help\` for its usage.`;
  return usageError('usage', message, suggestion ? `${suggestion} ${help}` : help);
}

function commandPath(cmd: Command | undefined): string {
  const names: string[] = [];
  for (let c = cmd; c; c = c.parent ?? undefined) names.unshift(c.name());
  return names.length ? names.join(' ') : 'kinfra';
}
