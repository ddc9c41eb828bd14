import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import type { DestroyPlan } from '../../app/destroy.js';
import { usageError } from '../../core/errors.js';
import { action, examples } from '../action.js';
import type { Output } from '../output.js';

async function ask(io: Output, plan: DestroyPlan): Promise<boolean> {
  if (!process.stdin.isTTY || io.json) {
    throw usageError('confirmation-required', `Destroying ${plan.instanceId} needs confirmation, and there is no terminal to ask.`,
      `Pass --yes to confirm (or --force to also skip the unsaved-work check): kinfra sandbox destroy ${plan.instanceId} --yes`);
  }
  const what = plan.removesFolder ? `remove ${plan.path} and unregister ${plan.instanceId}` : `unregister ${plan.instanceId} (keeping ${plan.path})`;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`This will ${what}. Continue? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function registerDestroy(sandbox: Command): void {
  sandbox
    .command('destroy')
    .summary('unregister a sandbox and remove its worktree')
    .description(
      'Destroy a sandbox: unregister it and remove the git worktree kinfra created for it. ' +
        'Without a name, destroys the sandbox that holds the current folder.\n\n' +
        'It never loses work: with uncommitted changes, or commits that are on no other branch, ' +
        'tag or remote, it refuses unless --force, and says what would be lost. The branch itself is ' +
        'always kept. Folders kinfra did not create (made with init) are only unregistered.',
    )
    .argument('[name]', 'instance id or name (default: the sandbox of the current folder)')
    .option('--keep-worktree', 'only unregister; keep the folder and its files')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-f, --force', 'do not ask, and remove the worktree even with unsaved work')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples(
      'kinfra sandbox destroy                 # inside ../ktrdr--my-feature',
      'kinfra sandbox destroy my-feature --yes',
      'kinfra sandbox destroy my-feature --keep-worktree --yes',
      'kinfra sandbox destroy my-feature --force   # even with uncommitted changes',
    ))
    .action(action(async (io, ctx, name: string | undefined, opts: { keepWorktree?: boolean; yes?: boolean; force?: boolean }) => {
      const force = Boolean(opts.force);
      const { destroySandbox } = await import('../../app/destroy.js');
      const r = await destroySandbox(ctx, {
        name,
        keepWorktree: Boolean(opts.keepWorktree),
        force,
        confirm: (plan) => (force || opts.yes ? Promise.resolve(true) : ask(io, plan)),
      });
      io.result(r, () => {
        if (r.cancelled) {
          io.out('Cancelled; nothing was changed.');
          return;
        }
        if (r.engineWarning) io.err(`${io.c.yellow('Warning:')} ${r.engineWarning}`);
        io.out(`${io.c.green('Destroyed')} sandbox ${io.c.bold(r.instanceId)} (slot ${r.slot} is free again)`);
        if (r.removed && (r.removed.containers || r.removed.volumes)) {
          io.out(`  Removed ${r.removed.containers} container(s) and ${r.removed.volumes} volume(s)`);
        }
        if (r.removesFolder) io.out(`  Removed ${r.path}`);
        else io.out(`  Kept ${r.path}: ${r.keepReason}`);
        if (r.removesFolder && r.branch) io.out(`  Kept branch ${r.branch}`);
      });
    }));
}
