import { type Command, CommanderError } from 'commander';
import { EXIT_CODES } from './exit-codes.js';
import { createOutput } from './output.js';
import { buildProgram } from './program.js';
import { commanderUsageError } from './usage-errors.js';

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
  // The command whose parsing failed, so the hint can name its --help.
  let refusedBy: Command | undefined;
  for (const cmd of [program, ...allCommands(program)]) {
    cmd.exitOverride();
    cmd.configureOutput({
      // Rejected command lines are printed below, in kinfra's Error/Hint form (or as the --json document).
      outputError: () => void (refusedBy = cmd),
      // Besides errors, commander writes to stderr only the help of a bare `kinfra` or `kinfra sandbox`:
      // help the user asked for by giving no command, so it goes where --help goes.
      writeErr: (text) => void process.stdout.write(text),
    });
  }
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      createOutput({ json, verbose: false }).error(commanderUsageError(e, refusedBy));
      process.exitCode = EXIT_CODES.usage;
      return;
    }
    createOutput({ json, verbose: argv.includes('--verbose') }).error(e as Error);
    process.exitCode = EXIT_CODES.internal;
  }
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

await main(process.argv);
