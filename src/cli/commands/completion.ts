import { readFileSync } from 'node:fs';
import { Argument, type Command } from 'commander';
import { statePaths } from '../../adapters/paths.js';
import { action, examples } from '../action.js';
import { completionScript, DYNAMIC_KINDS, fromCommander, SHELLS, type CompletionBindings, type DynamicKind, type Shell } from '../completion/index.js';

/**
 * Values commander cannot know, by command path. Everything else (commands,
 * aliases, options, argument choices) comes from the program itself.
 */
export const COMPLETION_BINDINGS: CompletionBindings = {
  args: {
    'sandbox destroy': [{ kind: 'dynamic', source: 'instances' }],
    'sandbox logs': [{ kind: 'dynamic', source: 'services' }],
    'sandbox shell': [{ kind: 'dynamic', source: 'services' }],
    'sandbox release': [{ kind: 'dynamic', source: 'slots' }],
    'sandbox verify': [{ kind: 'files' }],
  },
  options: {
    '--slot': { kind: 'dynamic', source: 'slots' },
  },
};

/** Give up on services after this long: a completion must never hang the shell. */
const SERVICES_TIMEOUT_MS = 5000;

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/**
 * The registry as plain JSON, without the store (and its locking) or any
 * validation: completion only needs the keys, and must stay fast.
 */
function registryKeys(field: 'instances' | 'slots'): string[] {
  const data: unknown = JSON.parse(readFileSync(statePaths().registry, 'utf8'));
  const map = data && typeof data === 'object' ? (data as Record<string, unknown>)[field] : undefined;
  return map && typeof map === 'object' ? Object.keys(map) : [];
}

/** Services of the compose project of the sandbox holding cwd. Reads the registry without ever writing it. */
async function services(): Promise<string[]> {
  const [{ appContext }, { resolveSandbox }, { composeServices }, { RegistryStore }] = await Promise.all([
    import('../../app/context.js'),
    import('../../app/the-sandbox.js'),
    import('../../adapters/compose.js'),
    import('../../adapters/registry-store.js'),
  ]);
  // read() would settle a missing or corrupt registry under the lock (moving a corrupt one aside); peek() writes nothing.
  class PeekingStore extends RegistryStore {
    override read() {
      return this.peek();
    }
  }
  const ctx = appContext();
  // Compose or Docker stuck: print nothing rather than hang the shell (the timer does not keep us alive otherwise).
  setTimeout(() => process.exit(0), SERVICES_TIMEOUT_MS).unref();
  const sandbox = await resolveSandbox({ ...ctx, registry: new PeekingStore(ctx.paths) });
  return (await composeServices(sandbox.project)).sort();
}

export async function completionValues(kind: DynamicKind): Promise<string[]> {
  switch (kind) {
    case 'instances': return registryKeys('instances').sort();
    case 'slots': return registryKeys('slots').filter((s) => /^\d+$/.test(s)).sort((a, b) => Number(a) - Number(b));
    case 'services': return services();
  }
}

export function registerCompletion(program: Command): void {
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
    .addHelpText('after', examples(
      'kinfra completion bash > ~/.local/share/bash-completion/completions/kinfra',
      "echo 'source <(kinfra completion zsh)' >> ~/.zshrc      # after compinit",
      'kinfra completion fish > ~/.config/fish/completions/kinfra.fish',
    ))
    .action(action(async (io, _ctx, shell: Shell, _opts: unknown, cmd: Command) => {
      io.out(completionScript(shell, fromCommander(rootOf(cmd), COMPLETION_BINDINGS)).trimEnd());
    }));

  program
    .command('__complete', { hidden: true })
    .description(`Print completion values, one a line: ${DYNAMIC_KINDS.join(', ')}. Used by the completion scripts;\nprints nothing and exits 0 on any failure.`)
    .argument('[kind]', `what to list: ${DYNAMIC_KINDS.join(', ')}`)
    .argument('[args...]', 'ignored (room for what the scripts may pass later)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (kind: string | undefined) => {
      // The shell may stop reading early; that is no error worth printing either.
      process.stdout.on('error', () => undefined);
      try {
        if (!(DYNAMIC_KINDS as readonly string[]).includes(kind ?? '')) return;
        const values = (await completionValues(kind as DynamicKind)).filter((v) => v !== '' && !/\s/.test(v));
        if (values.length) process.stdout.write(`${values.join('\n')}\n`);
      } catch {
        // Completion never prints errors: no registry, not in a sandbox, no Docker... means no values.
      } finally {
        process.exitCode = 0;
      }
    });
}
