// docs/commands.md: the command table, generated from the operation catalogue (what `npm run docs` writes; a test
// fails when the committed copy is out of date).
import { CATALOGUE } from '../operations/catalogue.js';
import type { AnyOperation, Input } from '../operations/operation.js';

function usage(op: AnyOperation): string {
  const words = [op.group === 'program' ? `kinfra ${op.name}` : `kinfra sandbox ${op.name}`];
  for (const i of Object.values(op.inputs) as Input[]) {
    if (i.in === 'arg') words.push(i.usage);
    else if (!i.global) words.push(`[${i.flags.split(', ').pop()}]`);
  }
  if (op.result) words.push('[--json]');
  return words.join(' ');
}

const EFFECT = { reads: 'reads', changes: 'changes state', destroys: 'destroys' } as const;
const TARGET = {
  current: 'the current folder',
  named: 'a name (or the current folder)',
  slot: 'a pool slot',
  none: '-',
};
const STREAMS = { result: 'result', progress: 'progress, then result', terminal: 'the terminal (a child process)' };

export function commandsMarkdown(): string {
  const rows = CATALOGUE.filter((o) => !o.hidden).map(
    (op) =>
      `| \`${usage(op)}\` | ${op.summary} | ${EFFECT[op.effect]} | ${TARGET[op.target]} | ${STREAMS[op.streams]} |`,
  );
  return [
    '# Commands',
    '',
    'Generated from the operation catalogue (`src/operations/`) by `npm run docs`; a test fails if this file is out',
    'of date. Every command is one declaration there: its help, `--json` schema ([json-output.md](json-output.md),',
    '`schema/json-output.schema.json`), completion and this table come from it. *Effect* says what it does to the',
    'world, *acts on* which sandbox, *reports* whether it streams before its result.',
    '',
    '| Command | What it does | Effect | Acts on | Reports |',
    '|---|---|---|---|---|',
    ...rows,
    '| `kinfra completion <shell>` | print the shell completion script (bash, zsh or fish) | reads | - | result |',
    '',
  ].join('\n');
}
