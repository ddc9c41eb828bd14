import type { Command } from 'commander';
import type { Finding } from '../../core/doctor.js';
import { action, examples } from '../action.js';
import { EXIT_CODES } from '../exit-codes.js';
import type { Output } from '../output.js';

export function registerDoctor(sandbox: Command): void {
  sandbox
    .command('doctor')
    .summary('check kinfra\'s state on this machine, and repair what is safe to repair')
    .description(
      'Check everything kinfra relies on and say how to fix each problem: the Docker engine and Compose, ' +
        'the registry against the disk (entries without folders, sandbox folders without entries, found by ' +
        'their .env.sandbox or the Engine\'s labels), creates and destroys that were killed midway, pool claims ' +
        'of missing sandboxes, orphaned compose projects, volumes and networks, sandbox ports held by something ' +
        'else, shared data folders, .env.sandbox files that disagree with the registry, and the Python tool\'s ' +
        'registry (imported, changed since, unreadable).\n\n' +
        'With --repair, fix what can be fixed without losing anything (rebuild an unreadable or lost registry, in one ' +
        'step, from what is left of it and the sandboxes on disk; finish interrupted creates, release stale claims, ' +
        'write a lost .env.sandbox again) ' +
        'and list what is left for you. It never removes a folder with work in it, and never a volume.\n\n' +
        'Exit 0 when no problem is left, 11 when one is (warnings alone do not fail).',
    )
    .option('--repair', 'fix what is safe to fix, then check again')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox doctor', 'kinfra sandbox doctor --repair', 'kinfra sandbox doctor --json'))
    .action(action(async (io, ctx, opts: { repair?: boolean }) => {
      let findings: Finding[];
      let repairs: { check: string; message: string; done: boolean; note: string }[] | undefined;
      if (opts.repair) {
        const { repairAll } = await import('../../app/doctor-repair.js');
        const r = await repairAll(ctx);
        findings = r.findings;
        repairs = r.repairs.map((x) => ({ check: x.finding.check, message: x.finding.message, done: x.done, note: x.note }));
      } else {
        const { diagnoseAll } = await import('../../app/doctor.js');
        findings = await diagnoseAll(ctx);
      }
      const problems = findings.filter((f) => f.status === 'problem').length;
      const warnings = findings.filter((f) => f.status === 'warn').length;
      const data = {
        healthy: problems === 0,
        problems,
        warnings,
        findings: findings.map(({ repair, ...f }) => ({ ...f, repairable: repair !== undefined })),
        ...(repairs ? { repairs } : {}),
      };
      io.result(data, () => renderDoctor(io, findings, repairs, problems, warnings));
      if (problems > 0) process.exitCode = EXIT_CODES.unhealthy;
    }));
}

function renderDoctor(io: Output, findings: Finding[], repairs: { done: boolean; note: string }[] | undefined, problems: number, warnings: number): void {
  if (repairs && repairs.length > 0) {
    io.out(io.c.bold('Repairs:'));
    for (const r of repairs) io.out(`  ${r.done ? io.c.green('✓') : io.c.yellow('!')} ${r.note}`);
    io.out('');
  }
  const mark = { ok: io.c.green('✓'), warn: io.c.yellow('!'), problem: io.c.red('✗') } as const;
  for (const f of findings) {
    io.out(`  ${mark[f.status]} ${f.check.padEnd(12)} ${f.message}`);
    if (f.status !== 'ok' && f.fix) io.out(`  ${' '.repeat(14)} fix: ${f.fix}`);
  }
  io.out('');
  const repairable = findings.filter((f) => f.repair).length;
  if (problems === 0 && warnings === 0) io.out(io.c.green('Everything is in order.'));
  else {
    io.out(`${problems} problem(s), ${warnings} warning(s).` +
      (repairable > 0 && !repairs ? ` Run \`kinfra sandbox doctor --repair\` to fix ${repairable} of them.` : repairs ? ' Left for you: see the fixes above.' : ''));
  }
}
