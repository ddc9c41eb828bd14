// The commander program, built from the operation catalogue: `kinfra sandbox <operation>` for the sandbox groups,
// `kinfra <operation>` for the program's own, plus the CLI's own `completion` (and the hidden `__complete` its
// scripts call), which describe this surface and so have no place on another.
import { Command } from 'commander';
import { CATALOGUE } from '../operations/catalogue.js';
import { addCompletion } from './completion-command.js';
import { addGlobalOptions, addOperation, examples, type RunState } from './operation-command.js';
import { processTerminal } from './output.js';

declare const __KINFRA_VERSION__: string;
/** From package.json, put in by the build (scripts/build.mjs): no version string lives in the source. */
export const VERSION = typeof __KINFRA_VERSION__ === 'string' ? __KINFRA_VERSION__ : 'dev';

const SANDBOX_GROUPS = ['Lifecycle:', 'Inspection:', 'Pool:', 'Utilities:'] as const;

export function buildProgram(
  state: RunState = { exitCode: 0, terminal: processTerminal(), cwd: process.cwd() },
): Command {
  const program = new Command('kinfra')
    .description('Run many isolated copies of a Docker Compose development stack side by side, one per git worktree.')
    .version(VERSION, '-V, --version', 'print the kinfra version')
    .option('--verbose', 'show stack traces and the commands kinfra runs');
  addGlobalOptions(program, CATALOGUE);
  program.addHelpText(
    'after',
    examples('kinfra sandbox create my-feature', 'kinfra sandbox list', 'kinfra sandbox --help'),
  );

  const sandbox = program
    .command('sandbox')
    .summary('create, run and inspect isolated sandboxes of your stack')
    .description(
      'Isolated development sandboxes: one copy of the compose stack per git worktree, each on its ' +
        'own port slot (slot N publishes the API on 8000+N, the database on 5432+N, ...).',
    )
    .addHelpText(
      'after',
      examples(
        'kinfra sandbox create my-feature      # ../ktrdr--my-feature on the lowest free slot',
        'kinfra sandbox list',
        'cd ../ktrdr--my-feature && kinfra sandbox destroy',
      ),
    );
  for (const group of SANDBOX_GROUPS) {
    sandbox.commandsGroup(group);
    for (const op of CATALOGUE.filter((o) => o.group === group)) addOperation(sandbox, op, state);
  }
  for (const op of CATALOGUE.filter((o) => o.group === 'program')) addOperation(program, op, state);
  addCompletion(program, state);
  return program;
}
