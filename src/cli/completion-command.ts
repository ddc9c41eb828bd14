// `kinfra completion <shell>` prints a completion script built from the program (so from the catalogue), and the
// hidden `kinfra __complete <kind>` lists values at completion time. The values come from src/app; this file only
// describes the commands and prints.
import { Argument, type Command } from 'commander';
import { CATALOGUE } from '../operations/catalogue.js';
import type { Input } from '../operations/operation.js';
import {
  completionScript,
  DYNAMIC_KINDS,
  fromCommander,
  SHELLS,
  type CompletionBindings,
  type DynamicKind,
  type Shell,
} from './completion/index.js';
import type { ValueSource } from './completion/spec.js';
import { createOutput } from './output.js';
import { examples, longFlag, type RunState } from './operation-command.js';

function valueSource(i: Input): ValueSource | undefined {
  if (!i.complete) return undefined;
  return i.complete === 'files' ? { kind: 'files' } : { kind: 'dynamic', source: i.complete };
}

/** Where each argument and option completes from, as the catalogue declares it. */
export function completionBindings(): CompletionBindings {
  const args: Record<string, (ValueSource | undefined)[]> = {};
  const options: Record<string, ValueSource> = {};
  for (const op of CATALOGUE) {
    const path = op.group === 'program' ? op.name : `sandbox ${op.name}`;
    const inputs = Object.values(op.inputs);
    const positional = inputs.filter((i) => i.in === 'arg').map(valueSource);
    if (positional.some((v) => v !== undefined)) args[path] = positional;
    for (const i of inputs) {
      const v = valueSource(i);
      const long = i.in === 'option' ? longFlag(i.flags) : undefined;
      if (v && long) options[long] = v;
    }
  }
  return { args, options };
}

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

export function addCompletion(program: Command, state: RunState): void {
  program
    .command('completion')
    .summary('print the shell completion script (bash, zsh or fish)')
    .description(
      'Print a completion script for your shell. Commands, options and their values ' +
        'come from this version of kinfra; at completion time the script asks kinfra ' +
        'for sandbox names (destroy), the services of the sandbox you are in (logs, ' +
        'shell) and pool slots (release, --slot).',
    )
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(SHELLS))
    .addHelpText(
      'after',
      examples(
        'kinfra completion bash > ~/.local/share/bash-completion/completions/kinfra',
        "echo 'source <(kinfra completion zsh)' >> ~/.zshrc      # after compinit",
        'kinfra completion fish > ~/.config/fish/completions/kinfra.fish',
      ),
    )
    .action((shell: Shell, _opts: unknown, cmd: Command) => {
      const io = createOutput({ json: false, verbose: false }, state.terminal);
      io.out(completionScript(shell, fromCommander(rootOf(cmd), completionBindings())).trimEnd());
    });

  program
    .command('__complete', { hidden: true })
    .description(
      `Print completion values, one a line: ${DYNAMIC_KINDS.join(', ')}. Used by the completion scripts;\n` +
        'prints nothing and exits 0 on any failure.',
    )
    .argument('[kind]', `what to list: ${DYNAMIC_KINDS.join(', ')}`)
    .argument('[args...]', 'ignored (room for what the scripts may pass later)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (kind: string | undefined) => {
      const stdout = state.terminal.stdout;
      try {
        if (!(DYNAMIC_KINDS as readonly string[]).includes(kind ?? '')) return;
        const { completionValues } = await import('../app/completion-values.js');
        const { appContext } = await import('../app/context.js');
        const ctx = appContext(state.cwd, state.terminal.env.HOME);
        const values = (await completionValues(ctx, kind as DynamicKind)).filter((v) => v !== '' && !/\s/.test(v));
        if (values.length) stdout.write(`${values.join('\n')}\n`);
      } catch {
        // Completion never prints errors: no registry, not in a sandbox, no Docker... means no values.
      } finally {
        state.exitCode = 0;
      }
    });
}
