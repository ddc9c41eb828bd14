import type { Command } from 'commander';
import type { SandboxSummary } from '../../app/sandbox-summary.js';
import { action, examples, wholeNumber } from '../action.js';
import type { Output } from '../output.js';
import { cleanedNotice, portsLine } from '../render.js';

export function summaryJson(s: SandboxSummary) {
  return {
    instanceId: s.instanceId,
    slot: s.slot,
    path: s.path,
    branch: s.branch ?? null,
    envFile: s.envFile,
    configSource: s.configSource,
    profile: s.profile ?? null,
    ports: Object.fromEntries(s.ports.map((p) => [p.name, p.port])),
    env: Object.fromEntries(s.ports.map((p) => [p.env, p.port])),
    cleaned: s.cleaned,
  };
}

export function renderSummary(io: Output, verb: string, s: SandboxSummary): void {
  cleanedNotice(io, s.cleaned);
  io.out(`${io.c.green(verb)} sandbox ${io.c.bold(s.instanceId)} (slot ${s.slot}${s.profile ? `, pool profile ${s.profile}` : ''})`);
  io.out(`  Path:   ${s.path}`);
  if (s.branch) io.out(`  Branch: ${s.branch}`);
  io.out(`  Ports:  ${portsLine(s.ports)}`);
  io.out(`  Config: ${s.configSource}`);
  io.out('');
  io.out(`Next: cd ${s.path} && kinfra sandbox up`);
}

export function registerCreate(sandbox: Command): void {
  sandbox
    .command('create')
    .summary('create a sandbox: a git worktree with its own port slot')
    .description(
      'Create a new sandbox instance using a git worktree.\n\n' +
        'Creates the folder ../<prefix>--<name> beside the main checkout (ktrdr--<name> by default), checks out ' +
        'a branch there, allocates the lowest free port slot (or the one given) and writes .env.sandbox. ' +
        'Run it anywhere in the repository, even inside another sandbox.',
    )
    .argument('<name>', "instance name: 'my-feature' creates ktrdr--my-feature")
    .option('-b, --branch <branch>', 'branch to check out; created from HEAD if it does not exist (default: a new branch named after the folder)')
    .option('-s, --slot <n>', 'use this port slot instead of the lowest free one', wholeNumber('--slot', 0, 999))
    .option('--profile <profile>', 'with a provisioned slot pool: claim the lowest free slot of at least this profile (light, standard, heavy)')
    .option('--unique', 'when the name is taken, add a numeric suffix (my-feature-2) instead of refusing')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples(
      'kinfra sandbox create my-feature',
      'kinfra sandbox create big-run --profile heavy    # claims a pool slot',
      'kinfra sandbox create bugfix --branch fix/issue-123',
      'kinfra sandbox create test --slot 5',
      'kinfra sandbox create spike --json',
    ))
    .action(action(async (io, ctx, name: string, opts: { branch?: string; slot?: number; profile?: string; unique?: boolean }) => {
      const { createSandbox } = await import('../../app/create.js');
      const s = await createSandbox(ctx, { name, branch: opts.branch, slot: opts.slot, profile: opts.profile, unique: Boolean(opts.unique) });
      io.result(summaryJson(s), () => renderSummary(io, 'Created', s));
    }));
}
