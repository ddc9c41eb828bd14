// The CLI: `runCli(args, terminal, cwd)` runs one command line and returns its exit code, in this process (tests call
// it directly); the entry point at the bottom runs it on the process's own streams when this file is the program.
import { CommanderError, type Command } from 'commander';
import { EXIT_CODES } from './exit-codes.js';
import { createOutput, type Terminal } from './output.js';
import { buildProgram } from './program.js';
import type { RunState } from './operation-command.js';
import { commanderUsageError } from './usage-errors.js';

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** Runs one command line (the words after `kinfra`) and returns its exit code. */
export async function runCli(args: readonly string[], terminal: Terminal, cwd: string): Promise<number> {
  const json = args.includes('--json');
  const state: RunState = { exitCode: EXIT_CODES.ok, terminal, cwd };
  const program = buildProgram(state);
  // The command whose parsing failed, so the hint can name its --help.
  let refusedBy: Command | undefined;
  for (const cmd of [program, ...allCommands(program)]) {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (text) => void terminal.stdout.write(text),
      // Rejected command lines are printed below, in kinfra's Error/Hint form (or as the --json document).
      outputError: () => void (refusedBy = cmd),
      // Besides errors, commander writes to stderr only the help of a bare `kinfra` or `kinfra sandbox`:
      // help the user asked for by giving no command, so it goes where --help goes.
      writeErr: (text) => void terminal.stdout.write(text),
      // Commander's own rule (the terminal's width, 80 in a pipe), for the given streams.
      getOutHelpWidth: () => (terminal.stdout.isTTY ? terminal.stdout.columns : undefined) as number,
      getErrHelpWidth: () => (terminal.stdout.isTTY ? terminal.stdout.columns : undefined) as number,
    });
  }
  try {
    await program.parseAsync([...args], { from: 'user' });
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        return EXIT_CODES.ok;
      }
      createOutput({ json, verbose: false }, terminal).error(commanderUsageError(e, refusedBy));
      return EXIT_CODES.usage;
    }
    createOutput({ json, verbose: args.includes('--verbose') }, terminal).error(e as Error);
    return EXIT_CODES.internal;
  }
}
