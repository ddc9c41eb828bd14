import { Command } from 'commander';
import { registerCreate } from './commands/create.js';
import { registerDestroy } from './commands/destroy.js';
import { registerInit } from './commands/init.js';
import { registerList } from './commands/list.js';
import { registerDown, registerGate, registerLogs, registerUp } from './commands/run.js';
import { registerApi, registerExec, registerUrl } from './commands/target.js';
import { registerShared, registerVerify } from './commands/shared.js';
import { registerPool } from './commands/pool.js';
import { registerStatus } from './commands/status.js';
import { registerDoctor } from './commands/doctor.js';
import { examples } from './action.js';
import { registerCompletion } from './commands/completion.js';

declare const __KINFRA_VERSION__: string;
/** From package.json, put in by the build (scripts/build.mjs): no version string lives in the source. */
export const VERSION = typeof __KINFRA_VERSION__ === 'string' ? __KINFRA_VERSION__ : 'dev';

export function buildProgram(): Command {
  const program = new Command('kinfra')
    .description('Run many isolated copies of a Docker Compose development stack side by side, one per git worktree.')
    .version(VERSION, '-V, --version', 'print the kinfra version')
    .option('--verbose', 'show stack traces and the commands kinfra runs')
    .option('-u, --url <url>', 'backend URL for commands that talk to the API (overrides everything)')
    .option('-p, --port <port>', 'backend port on localhost (shorthand for --url http://localhost:PORT)')
    .addHelpText('after', examples('kinfra sandbox create my-feature', 'kinfra sandbox list', 'kinfra sandbox --help'));

  const sandbox = program
    .command('sandbox')
    .summary('create, run and inspect isolated sandboxes of your stack')
    .description(
      'Isolated development sandboxes: one copy of the compose stack per git worktree, each on its ' +
        'own port slot (slot N publishes the API on 8000+N, the database on 5432+N, ...).',
    )
    .addHelpText('after', examples(
      'kinfra sandbox create my-feature      # ../ktrdr--my-feature on the lowest free slot',
      'kinfra sandbox list',
      'cd ../ktrdr--my-feature && kinfra sandbox destroy',
    ));

  sandbox.commandsGroup('Lifecycle:');
  registerCreate(sandbox);
  registerInit(sandbox);
  registerUp(sandbox);
  registerDown(sandbox);
  registerDestroy(sandbox);
  sandbox.commandsGroup('Inspection:');
  registerList(sandbox);
  registerStatus(sandbox);
  registerGate(sandbox);
  registerLogs(sandbox);
  registerDoctor(sandbox);
  sandbox.commandsGroup('Pool:');
  registerPool(sandbox);
  sandbox.commandsGroup('Utilities:');
  registerUrl(sandbox);
  registerExec(sandbox);
  registerShared(sandbox);
  registerVerify(sandbox);
  registerApi(program);
  registerCompletion(program);
  return program;
}
