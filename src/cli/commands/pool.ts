import type { Command } from 'commander';
import { action, examples, wholeNumber } from '../action.js';
import { table } from '../render.js';

export function registerPool(sandbox: Command): void {
  sandbox
    .command('provision')
    .summary('create the pre-provisioned slot pool')
    .description(
      'Create the slot pool: ~/.ktrdr/sandboxes/slot-N for every pool slot of the layout ' +
        '(slots 1-4 light, 5 standard, 6 heavy by default), each with .env.sandbox and a docker-compose.yml ' +
        'rendered for its profile. Running it again skips existing slots, refreshes unclaimed ones whose ' +
        'configuration changed, and never rewrites a claimed slot (a claimed slot\'s lost docker-compose.yml is written again).',
    )
    .option('--dry-run', 'show what would be created, writing nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox provision --dry-run', 'kinfra sandbox provision'))
    .action(action(async (io, ctx, opts: { dryRun?: boolean }) => {
      const { provisionPool } = await import('../../app/pool.js');
      const r = await provisionPool(ctx, { dryRun: Boolean(opts.dryRun) });
      io.result(r, () => {
        for (const s of r.slots) {
          const ports = `API ${s.ports.api ?? '-'}, DB ${s.ports.db ?? '-'}`;
          if (s.action === 'would-create') io.out(`Would create slot ${s.slot} (${s.profile}): ${ports}`);
          else if (s.action === 'created') io.out(`Created slot ${s.slot} (${s.profile}): ${ports}`);
          else if (s.action === 'refreshed') io.out(`Slot ${s.slot}: already exists, skipping (refreshed its files from the configuration)`);
          else if (s.action === 'blocked') io.out(`Slot ${s.slot}: ${s.reason}, skipping (destroy it first)`);
          else io.out(`Slot ${s.slot}: already exists, skipping`);
        }
        if (opts.dryRun) io.out(`\nDry run: nothing was written.`);
        if (r.created > 0) io.out(`\nCreated ${r.created} slot(s)`);
        if (r.skipped > 0) io.out(`${r.created > 0 ? '' : '\n'}Skipped ${r.skipped} existing slot(s)`);
      });
    }));

  sandbox
    .command('slots')
    .summary('show the slot pool: profile, API port, who claimed it, status')
    .description('Show every pool slot with its profile, API port, the sandbox that claimed it and its status from Docker.\nClaims whose worktree no longer exists are released, and said so.')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox slots', 'kinfra sandbox slots --json'))
    .action(action(async (io, ctx) => {
      const { listSlots } = await import('../../app/pool.js');
      const r = await listSlots(ctx);
      io.result(r, () => {
        for (const s of r.released) io.out(`Released stale claim: slot ${s.slot} was claimed by ${s.claimedBy}, whose worktree is gone`);
        if (r.slots.length === 0) {
          io.out('No slots provisioned. Create the pool with: kinfra sandbox provision');
          return;
        }
        io.out(table(['Slot', 'Profile', 'API Port', 'Claimed By', 'Status'],
          r.slots.map((s) => [s.slot, s.profile, s.apiPort ?? '-', s.claimedBy ?? '-', s.status ?? '?']), io));
      });
    }));

  sandbox
    .command('release')
    .summary('free a pool slot: stop it, remove its volumes')
    .description('Stop a pool slot\'s containers, remove its volumes (the next claim gets a fresh database) and free it.\nRefuses while the claiming worktree still exists, unless -f (that worktree then stops being a sandbox).\n' +
      'While it resets the slot, no claim takes it; a release that was killed is finished by kinfra sandbox doctor --repair.')
    .argument('<slot>', 'slot number', wholeNumber('slot', 1, 999))
    .option('-f, --force', 'release even though the claiming worktree still exists')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox release 5', 'kinfra sandbox release 5 -f'))
    .action(action(async (io, ctx, slot: number, opts: { force?: boolean }) => {
      const { releaseSlot } = await import('../../app/pool.js');
      const r = await releaseSlot(ctx, slot, Boolean(opts.force));
      io.result(r, () => io.out(`Released slot ${r.slot}${r.releasedFrom ? ` (was claimed by ${r.releasedFrom})` : ''}; its volumes were removed`));
    }));
}
