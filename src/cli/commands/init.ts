import type { Command } from 'commander';
import { action, examples, wholeNumber } from '../action.js';
import { renderSummary, summaryJson } from './create.js';

export function registerInit(sandbox: Command): void {
  sandbox
    .command('init')
    .summary('make the current clone or worktree a sandbox')
    .description(
      'Turn the checkout that holds the current folder (an existing clone or worktree) into a sandbox: ' +
        'allocate a port slot, write .env.sandbox and register it. Nothing else in the folder changes. ' +
        'If the folder already has a .env.sandbox but is not registered (for example after the registry ' +
        'was lost), it is registered again on the slot its file names, when that slot is still free.',
    )
    .option('-s, --slot <n>', 'use this port slot instead of the lowest free one', wholeNumber('--slot', 0, 999))
    .option('-n, --name <name>', 'instance name: the id is <prefix>--<name>, as with create (default: the folder name)')
    .option('--profile <profile>', 'with a provisioned slot pool: claim the lowest free slot of at least this profile')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples(
      'cd ~/dev/ktrdr-clone && kinfra sandbox init',
      'kinfra sandbox init --slot 3 --name experiment',
    ))
    .action(action(async (io, ctx, opts: { slot?: number; name?: string; profile?: string }) => {
      const { initSandbox } = await import('../../app/init.js');
      const s = await initSandbox(ctx, { slot: opts.slot, name: opts.name, profile: opts.profile });
      io.result({ ...summaryJson(s), adopted: s.adopted }, () =>
        renderSummary(io, s.adopted ? 'Re-registered' : 'Initialised', s));
    }));
}
