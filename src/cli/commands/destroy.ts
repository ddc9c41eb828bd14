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

/** Unlabelled volumes: asked even with --yes (only --force skips it); without a terminal they are kept. */
async function askUnlabelled(io: Output, volumes: readonly string[]): Promise<boolean> {
  if (!process.stdin.isTTY || io.json) return false;
  io.err(`These volumes of its compose project carry no kinfra owner label (made before kinfra labelled its resources, or by someone else):`);
  for (const v of volumes) io.err(`  ${v}`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question('Remove them too? [y/N] ')).trim());
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
        'It never loses work: with uncommitted changes, git-ignored files that are not regenerable (data/, .env, ...), ' +
        'nested repositories, or commits that no branch, tag or remote reaches, it refuses unless --force, and says ' +
        'what would be lost; it looks again at the last moment before removing the folder. The branch itself is ' +
        'always kept. Folders kinfra did not create (made with init) are only unregistered, and lose their .env.sandbox.\n\n' +
        'It removes only the containers, volumes and networks that carry this kinfra\'s owner label for the sandbox; ' +
        'unlabelled volumes of its project are asked about even with --yes (--force removes them).',
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
        confirmUnlabelled: (volumes) => askUnlabelled(io, volumes),
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
        if (r.keptVolumes.length > 0) {
          io.out(`  Kept ${r.keptVolumes.length} unlabelled volume(s) nobody confirmed are its own: ${r.keptVolumes.join(', ')}`);
          io.out(`    (remove them with: docker volume rm ${r.keptVolumes.join(' ')}, or run destroy in a terminal to be asked)`);
        }
        if (r.removesFolder) io.out(`  Removed ${r.path}`);
        else io.out(`  Kept ${r.path}: ${r.keepReason}`);
        if (r.removesFolder && r.branch) io.out(`  Kept branch ${r.branch}`);
      });
    }));
}
