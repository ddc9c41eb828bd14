import type { Command } from 'commander';
import { action, examples } from '../action.js';
import { cleanedNotice, table } from '../render.js';

export function registerList(sandbox: Command): void {
  sandbox
    .command('list')
    .alias('ls')
    .summary('list every registered sandbox')
    .description(
      'List every registered sandbox on this machine with its slot, API port and folder.\n' +
        'Entries whose folder no longer exists are removed first ("Cleaned N stale entries").',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox list', 'kinfra sandbox list --json'))
    .action(action(async (io, ctx) => {
      const { listSandboxes } = await import('../../app/list.js');
      const r = await listSandboxes(ctx);
      io.result(r, () => {
        cleanedNotice(io, r.cleaned);
        if (r.instances.length === 0) {
          io.out('No sandboxes. Create one with: kinfra sandbox create <name>');
          return;
        }
        io.out(table(['Instance', 'Slot', 'API Port', 'Path'],
          r.instances.map((i) => [i.instanceId, i.slot, i.apiPort ?? '-', i.path]), io));
      });
    }));
}
