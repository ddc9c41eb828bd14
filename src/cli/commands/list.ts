import type { Command } from 'commander';
import { action, examples } from '../action.js';
import { cleanedNotice, table } from '../render.js';

export function registerList(sandbox: Command): void {
  sandbox
    .command('list')
    .alias('ls')
    .summary('list every registered sandbox')
    .description(
      'List every registered sandbox on this machine with its slot, API port, status from Docker ' +
        '(running, stopped, partial x/y; missing when its folder is gone) and folder. Entries whose folder no longer exists are ' +
        'removed first ("Cleaned N stale entries"). Compose projects carrying this kinfra\'s owner label that no entry ' +
        'owns are reported as orphans, with their volumes and networks; projects of another kinfra on the same engine ' +
        '(another user or HOME) are shown as theirs. Nothing is deleted.',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox list', 'kinfra sandbox list --json'))
    .action(action(async (io, ctx) => {
      const { listSandboxes } = await import('../../app/list.js');
      const r = await listSandboxes(ctx);
      io.result(r, () => {
        cleanedNotice(io, r.cleaned);
        if (r.engineError) io.err(`${io.c.yellow('Warning:')} status unknown: ${r.engineError.message} ${r.engineError.hint ?? ''}`.trim());
        if (r.instances.length === 0) io.out('No sandboxes. Create one with: kinfra sandbox create <name>');
        else {
          io.out(table(['Instance', 'Slot', 'API Port', 'Status', 'Path'],
            r.instances.map((i) => [i.instanceId, i.slot, i.apiPort ?? '-', i.state ? `${i.state}?` : i.status ?? '?', i.path]), io));
        }
        if (r.orphans.length > 0) {
          io.out('');
          io.out(`${io.c.yellow('Warning:')} found orphaned compose projects that no sandbox owns:`);
          for (const o of r.orphans) {
            io.out(`  ${o.project}: ${o.containers} container(s) (${o.running} running), ${o.volumes.length} volume(s), ${o.networks.length} network(s)`);
          }
          io.out('  They carry this kinfra\'s owner label and may be from deleted sandbox instances; nothing was removed.');
          io.out('  Re-register one with `kinfra sandbox init` in its folder, or remove it with: docker compose -p <project> down -v');
        }
        if (r.foreign.length > 0) {
          io.out('');
          io.out('Compose projects of this engine that are not this kinfra\'s (left alone):');
          for (const f of r.foreign) {
            const who = f.owner === 'other-kinfra' ? "another kinfra's sandbox" : 'unlabelled (an older kinfra or another tool)';
            io.out(`  ${f.project}: ${who}${f.path ? `, ${f.path}` : ''}; ${f.containers} container(s) (${f.running} running), ` +
              `${f.volumes.length} volume(s), ${f.networks.length} network(s)`);
          }
        }
      });
    }));
}
