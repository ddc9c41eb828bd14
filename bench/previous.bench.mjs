// This build against the previous main's, built side by side in the same run: `--version` and `sandbox list` with
// 10 instances, each at most 5% slower (issue 13). The previous main is KINFRA_BENCH_BASE (a git revision; default:
// the main before issue 13 reshaped the CLI), built from `git archive` in a scratch folder with this node_modules.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, kinfra, ROOT, scratch, timeInterleaved } from './lib.mjs';

const BASE = process.env.KINFRA_BENCH_BASE ?? '4faf8c1';

function buildBase() {
  const dir = mkdtempSync(join(tmpdir(), 'kinfra-bench-base-'));
  const archive = spawnSync('sh', ['-c', `git -C "$0" archive "$1" | tar -x -C "$2"`, ROOT, BASE, dir], {
    encoding: 'utf8',
  });
  if (archive.status !== 0) throw new Error(`git archive ${BASE} failed: ${archive.stderr}`);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: dir, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building ${BASE} failed: ${build.stderr}`);
  return dir;
}

export default function previous({ rounds }) {
  const base = buildBase();
  const ws = scratch();
  try {
    for (let i = 1; i <= 10; i++) kinfra(ws, ['sandbox', 'create', `bench-${i}`]);
    const opts = { cwd: ws.repo, env: ws.env };
    const old = join(base, 'dist/kinfra.js');
    const [oldVersion, newVersion, oldList, newList] = timeInterleaved(
      [
        { name: 'previous --version', argv: [process.execPath, old, '--version'] },
        { name: 'kinfra --version', argv: [process.execPath, CLI, '--version'] },
        { name: 'previous list', argv: [process.execPath, old, 'sandbox', 'list'] },
        { name: 'kinfra list', argv: [process.execPath, CLI, 'sandbox', 'list'] },
      ],
      rounds,
      opts,
    );
    const row = (name, now, before) => {
      const ratio = now.ms / before.ms;
      return {
        name,
        measured: `${now.ms.toFixed(1)} ms`,
        baseline: `${before.ms.toFixed(1)} ms (main at ${BASE})`,
        ratio: `${ratio.toFixed(2)}x`,
        target: '<= 1.05x',
        met: ratio <= 1.05,
      };
    };
    return [
      row('kinfra --version vs the previous main', newVersion, oldVersion),
      row('kinfra sandbox list (10 instances) vs the previous main', newList, oldList),
    ];
  } finally {
    ws.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
}
