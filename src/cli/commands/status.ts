import type { Command } from 'commander';
import { action, examples } from '../action.js';

function size(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let n = bytes;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function registerStatus(sandbox: Command): void {
  sandbox
    .command('status')
    .summary('show what runs in this sandbox, with every URL')
    .description(
      'Show the sandbox that holds the current folder: slot, containers (running and healthy counted ' +
        'apart; only containers with a healthcheck can be healthy), every service URL, the workers and ' +
        'whether the backend has registered them, and the shared data folders.',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox status', 'kinfra sandbox status --json'))
    .action(action(async (io, ctx) => {
      const { sandboxStatus } = await import('../../app/status.js');
      const r = await sandboxStatus(ctx);
      io.result(r, () => {
        const c = r.containers;
        const colour = c.state === 'running' ? io.c.green : c.state === 'partial' ? io.c.yellow : io.c.red;
        io.out(`${io.c.bold('Instance:')} ${r.instanceId} (slot ${r.slot})${r.registered ? '' : io.c.yellow('  not registered: run kinfra sandbox init')}`);
        io.out(`${io.c.bold('Status:')} ${colour(c.state === 'partial' ? `partial (${c.running}/${c.total})` : c.state)}`);
        io.out(`${io.c.bold('Containers:')} ${c.running}/${c.total} running` +
          (c.withHealthcheck > 0
            ? `, ${c.healthy}/${c.withHealthcheck} healthy${c.unhealthy ? `, ${c.unhealthy} unhealthy` : ''}${c.starting ? `, ${c.starting} starting` : ''}`
            : ''));
        io.out('');
        io.out(io.c.bold('Services:'));
        const w = Math.max(0, ...r.services.map((s) => s.label.length)) + 1;
        for (const s of r.services) io.out(`  ${`${s.label}:`.padEnd(w)} ${s.url}`);
        if (r.absent.length > 0) io.out(`  (configured but not in this stack: ${r.absent.join(', ')})`);
        if (r.workers.length > 0) {
          io.out('');
          io.out(io.c.bold('Workers:'));
          for (const wk of r.workers) {
            const reg = wk.registered === null ? '' : wk.registered ? ', registered' : ', not registered';
            io.out(`  ${wk.service ?? `port ${wk.port}`}: ${wk.url} (${wk.state}${reg})`);
          }
        }
        if (r.shared) {
          io.out('');
          io.out(`${io.c.bold('Shared data:')} ${r.shared.root}`);
          for (const d of r.shared.dirs) {
            io.out(d.exists
              ? `  ${d.name}: ${d.files}${d.partial ? '+' : ''} files, ${size(d.bytes)}`
              : `  ${d.name}: missing (create it with: kinfra sandbox init-shared, or mkdir -p ${d.path})`);
          }
        }
      });
    }));
}
