import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { action, examples } from '../action.js';
import type { Output } from '../output.js';

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function askOverwrite(io: Output, count: number, sample: string[]): Promise<boolean> {
  if (!process.stdin.isTTY || io.json) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = await rl.question(`${count} file(s) in the shared folder differ from the source (${sample.join(', ')}...). Overwrite them? [y/N] `);
    return /^y(es)?$/i.test(a.trim());
  } finally {
    rl.close();
  }
}

export function registerShared(sandbox: Command): void {
  sandbox
    .command('init-shared')
    .summary('create the shared data folders, optionally copied from an environment')
    .description(
      'Create the shared data folders every sandbox mounts (~/.ktrdr/shared/{data,models,strategies} by ' +
        'default; see `shared` in kinfra.yaml). With --from, copy each folder from an existing environment, ' +
        'showing progress and what was skipped. Files that differ in the target are kept unless you confirm ' +
        'or pass --force. An interrupted copy resumes where it stopped when run again.',
    )
    .option('--from <path>', 'copy data/, models/, strategies/ from this folder (e.g. ../ktrdr2)')
    .option('--minimal', 'only create the empty folders')
    .option('-f, --force', 'overwrite files that differ, without asking')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox init-shared --minimal', 'kinfra sandbox init-shared --from ../ktrdr2', 'kinfra sandbox init-shared --from /backup/ktrdr --force'))
    .action(action(async (io, ctx, opts: { from?: string; minimal?: boolean; force?: boolean }) => {
      const { initShared } = await import('../../app/shared-data.js');
      const live = process.stderr.isTTY && !io.json;
      let lastDir = '';
      const r = await initShared(ctx, {
        from: opts.from,
        minimal: Boolean(opts.minimal),
        force: Boolean(opts.force),
        confirmOverwrite: (n, sample) => askOverwrite(io, n, sample),
        onProgress: (p) => {
          if (live) process.stderr.write(`\r\x1b[2KCopying ${p.dir}: ${p.files}/${p.totalFiles} files, ${mb(p.bytes)}/${mb(p.totalBytes)}`);
          else if (!io.json && p.dir !== lastDir) io.err(`Copying ${p.dir}: ${p.totalFiles} files, ${mb(p.totalBytes)}`);
          lastDir = p.dir;
        },
      }).finally(() => { if (live && lastDir) process.stderr.write('\n'); });
      io.result(r, () => {
        io.out(`Shared data: ${r.root}`);
        for (const d of r.dirs) {
          const parts = [d.created ? 'created' : 'exists'];
          if (r.from) {
            if (d.missingInSource) parts.push(`skipped: no ${d.name}/ in ${r.from}`);
            else parts.push(`${d.copiedFiles} file(s) copied (${mb(d.copiedBytes)})`);
            if (d.alreadyThere) parts.push(`${d.alreadyThere} already there`);
            if (d.overwritten) parts.push(`${d.overwritten} overwritten`);
            if (d.skippedSpecial.length) parts.push(`${d.skippedSpecial.length} link(s)/special file(s) skipped`);
          }
          if (d.removedPartials) parts.push(`${d.removedPartials} partial file(s) of an interrupted copy removed`);
          io.out(`  ${d.name}/: ${parts.join(', ')}`);
        }
      });
    }));
}

export function registerVerify(sandbox: Command): void {
  sandbox
    .command('verify')
    .summary('check that a compose file is safe to run as many sandboxes')
    .argument('[file]', 'compose file (default: the one sandboxes use here)')
    .description(
      'Check a compose file for sandbox safety and say what to fix: every published host port is a ' +
        'configured variable whose default is the main checkout\'s port; no container_name; no fixed host ' +
        'port; shared mounts have fallbacks; container ports stay fixed. Warns (without failing) about ' +
        'ports published on all interfaces instead of 127.0.0.1. Exit 10 when there is a problem.',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('kinfra sandbox verify', 'kinfra sandbox verify docker-compose.yml --json'))
    .action(action(async (io, ctx, file: string | undefined) => {
      const { verifyComposeFile } = await import('../../app/verify.js');
      const r = await verifyComposeFile(ctx, file);
      io.result(r, () => {
        for (const f of r.findings) io.out(`  ! ${f.service}: ${f.message}\n    fix: ${f.fix}`);
        io.out(`${io.c.green('✓')} ${r.file} is sandbox-safe${r.warnings ? ` (${r.warnings} warning(s))` : ''}`);
      });
    }));
}
