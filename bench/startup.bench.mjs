// Issue 2: `kinfra --version` and `kinfra sandbox list` (10 instances) against bare `node -e 0`.
import { kinfra, peakRssMb, scratch, timeInterleaved, CLI } from './lib.mjs';

export default function startup({ rounds }) {
  const ws = scratch();
  try {
    for (let i = 1; i <= 10; i++) kinfra(ws, ['sandbox', 'create', `bench-${i}`]);
    const opts = { cwd: ws.repo, env: ws.env };
    const [node, version, list] = timeInterleaved(
      [
        { name: 'node -e 0', argv: [process.execPath, '-e', '0'] },
        { name: 'kinfra --version', argv: [process.execPath, CLI, '--version'] },
        { name: 'kinfra sandbox list (10 instances)', argv: [process.execPath, CLI, 'sandbox', 'list'] },
      ],
      rounds,
      opts,
    );
    const rss = peakRssMb(['sandbox', 'list'], opts);
    const ratio = (x) => x.ms / node.ms;
    return [
      {
        name: version.name,
        measured: `${version.ms.toFixed(1)} ms`,
        baseline: `${node.ms.toFixed(1)} ms (node -e 0)`,
        ratio: `${ratio(version).toFixed(2)}x`,
        target: '-',
        met: true,
      },
      {
        name: list.name,
        measured: `${list.ms.toFixed(1)} ms`,
        baseline: `${node.ms.toFixed(1)} ms (node -e 0)`,
        ratio: `${ratio(list).toFixed(2)}x`,
        target: '< 2.5x',
        met: ratio(list) < 2.5,
      },
      {
        name: 'peak memory of sandbox list (10 instances)',
        measured: `${rss.toFixed(1)} MB`,
        baseline: '-',
        ratio: '-',
        target: '< 100 MB',
        met: rss < 100,
      },
    ];
  } finally {
    ws.cleanup();
  }
}
