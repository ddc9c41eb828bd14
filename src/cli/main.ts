import { CommanderError } from 'commander';
import { KinfraError } from '../core/errors.js';
import { EXIT_CODES } from './exit-codes.js';
import { createOutput } from './output.js';
import { buildProgram } from './program.js';

// `kinfra ... | head`: the reader went away; stop quietly, as other tools do, instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const program = buildProgram();
  program.exitOverride();
  for (const cmd of [program, ...allCommands(program)]) {
    cmd.exitOverride();
    if (json) cmd.configureOutput({ writeErr: () => undefined });
  }
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      if (json) {
        const message = e.message.replace(/^error: /, '');
        createOutput({ json, verbose: false }).error(new KinfraError('usage', 'usage', message, 'Run the command with --help for its usage.'));
      }
      process.exitCode = EXIT_CODES.usage;
      return;
    }
    createOutput({ json, verbose: argv.includes('--verbose') }).error(e as Error);
    process.exitCode = EXIT_CODES.internal;
  }
}

function allCommands(cmd: import('commander').Command): import('commander').Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

await main(process.argv);
