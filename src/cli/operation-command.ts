// A catalogue operation as a commander command: its arguments and options from the declared inputs, its help from
// the summary, description and examples, --json when it has a result. The action runs the handler, renders the value
// (or the JSON document) and maps the outcome to an exit code through the one table.
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import { isKinfraError } from '../core/errors.js';
import type { AnyOperation, ArgInput, Input, OptionInput, Outcome } from '../operations/operation.js';
import { EXIT_CODES } from './exit-codes.js';
import { createOutput, loadTables, type Output, type Terminal } from './output.js';

/** What a run of the CLI ended with: set by the action, read by main. */
export interface RunState {
  exitCode: number;
  terminal: Terminal;
  cwd: string;
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** Commander value parser for whole numbers, with a message that says what is wanted. */
export function wholeNumber(what: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

/** The long spelling of an option's flags: `-s, --slot <n>` is `--slot`. */
export function longFlag(flags: string): string {
  return /--[\w-]+/.exec(flags)?.[0] ?? flags;
}

function argumentOf(input: ArgInput): Argument {
  const a = new Argument(input.usage, input.description);
  if (input.choices) a.choices(input.choices);
  if (input.type === 'int')
    a.argParser(wholeNumber(input.label ?? input.usage, input.min ?? 0, input.max ?? Number.MAX_SAFE_INTEGER));
  return a;
}

function optionOf(input: OptionInput): Option {
  const o = new Option(input.flags, input.description);
  if (input.type === 'int')
    o.argParser(wholeNumber(longFlag(input.flags), input.min ?? 0, input.max ?? Number.MAX_SAFE_INTEGER));
  return o;
}

/** The program-wide options the operations declare (`-u`, `-p`), each once, in declaration order. */
export function globalOptions(ops: readonly AnyOperation[]): OptionInput[] {
  const seen = new Map<string, OptionInput>();
  for (const op of ops) {
    for (const i of Object.values(op.inputs))
      if (i.in === 'option' && i.global && !seen.has(i.flags)) seen.set(i.flags, i);
  }
  return [...seen.values()];
}

export function addGlobalOptions(program: Command, ops: readonly AnyOperation[]): void {
  for (const i of globalOptions(ops)) program.addOption(optionOf(i));
}

/** The handler's input from commander's parse: arguments by position, options by their attribute name. */
function inputFrom(
  op: AnyOperation,
  args: unknown[],
  cmd: Command,
  options: Map<string, Option>,
): Record<string, unknown> {
  const own = cmd.opts<Record<string, unknown>>();
  const globals = cmd.optsWithGlobals<Record<string, unknown>>();
  const input: Record<string, unknown> = {};
  let position = 0;
  for (const [key, spec] of Object.entries(op.inputs) as [string, Input][]) {
    let value: unknown;
    if (spec.in === 'arg') value = args[position++];
    else if (spec.global) value = globals[new Option(spec.flags).attributeName()];
    else value = own[options.get(key)!.attributeName()];
    if (value === undefined && spec.in === 'option' && spec.default !== undefined) value = spec.default;
    if (value !== undefined) input[key] = value;
  }
  return input;
}

/** The exit code of an outcome; a KinfraError outcome is reported first. */
function exitCodeOf(outcome: Outcome, io: Output): number {
  if (outcome === 'ok') return EXIT_CODES.ok;
  if (isKinfraError(outcome)) {
    io.error(outcome);
    return EXIT_CODES[outcome.category];
  }
  return 'exit' in outcome ? EXIT_CODES[outcome.exit] : outcome.exitCode;
}

async function runOperation(
  op: AnyOperation,
  input: Record<string, unknown>,
  io: Output,
  state: RunState,
): Promise<number> {
  const { terminalSession } = await import('./session.js');
  const session = terminalSession(io);
  try {
    const [{ echoCommands }, { noticeLockWaits }, { startCommand }] = await Promise.all([
      import('../adapters/runner.js'),
      import('../adapters/file-store.js'),
      import('../adapters/engine-deadline.js'),
    ]);
    startCommand();
    // Set (or unset) for every run: a run in the same process must not inherit the last one's.
    // --json keeps stderr for the one error document.
    echoCommands(io.verbose && !io.json ? (line) => io.err(io.c.dim(line)) : undefined);
    // A silent minute behind another process's lock looks like a hang: say what it waits for.
    noticeLockWaits(io.json ? undefined : (m) => io.err(io.c.dim(m)));
    const { appContext } = await import('../app/context.js');
    const value = await op.run(appContext(state.cwd, state.terminal.env.HOME), input, session);
    session.close();
    if (!io.json && op.render) await loadTables();
    const render = op.render;
    if (op.result) io.result(value, (v) => render?.(v, io, input));
    else render?.(value, io, input);
    return exitCodeOf(op.outcome?.(value) ?? 'ok', io);
  } catch (e) {
    session.close();
    io.error(e as Error);
    return isKinfraError(e) ? EXIT_CODES[e.category] : EXIT_CODES.internal;
  }
}

/** Adds the operation to `parent` as a command. */
export function addOperation(parent: Command, op: AnyOperation, state: RunState): Command {
  const cmd = parent.command(op.name, op.hidden ? { hidden: true } : {});
  if (op.alias) cmd.alias(op.alias);
  cmd.summary(op.summary).description(op.description);
  const options = new Map<string, Option>();
  for (const [key, input] of Object.entries(op.inputs) as [string, Input][]) {
    if (input.in === 'arg') cmd.addArgument(argumentOf(input));
    else if (!input.global) {
      const o = optionOf(input);
      options.set(key, o);
      cmd.addOption(o);
    }
  }
  // The words after a pass-through argument are the child's, options included.
  if (Object.values(op.inputs).some((i) => i.in === 'arg' && i.passThrough)) cmd.allowUnknownOption();
  if (op.result) cmd.option('--json', 'print the result as JSON');
  if (op.examples.length > 0) cmd.addHelpText('after', examples(...op.examples));
  cmd.action(async (...args: unknown[]) => {
    const c = args[args.length - 1] as Command;
    const flags = c.optsWithGlobals<{ json?: boolean; verbose?: boolean }>();
    const verbose = Boolean(flags.verbose) || Boolean(state.terminal.env.DEBUG);
    const io = createOutput({ json: Boolean(flags.json), verbose }, state.terminal);
    state.exitCode = await runOperation(op, inputFrom(op, args, c, options), io, state);
  });
  return cmd;
}
