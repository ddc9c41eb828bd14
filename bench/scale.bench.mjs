// Issue 6: `list` and `status` with 50 registered instances against the same commands with 1.
import { join } from 'node:path';
import { kinfra, scratch, timeInterleaved, CLI } from './lib.mjs';

// 50 sandboxes need 50 slots: the built-in layout has 10, so this layout allows 60 (ports stay distinct).
const LAYOUT =
  'prefix: ktrdr\nslots: { max: 60 }\nports:\n  api: { env: KTRDR_API_PORT, base: 18000 }\n  db: { env: KTRDR_DB_PORT, base: 15432 }\n';

export default function scale({ rounds }) {
  const many = scratch({ 'kinfra.yaml': LAYOUT });
  const small = scratch({ 'kinfra.yaml': LAYOUT });
  try {
    for (let i = 1; i <= 50; i++) kinfra(many, ['sandbox', 'create', `scale-${i}`]);
    kinfra(small, ['sandbox', 'create', 'scale-1']);
    const sandboxOf = (ws) => join(ws.root, 'dev', 'ktrdr--scale-1');
    const runIn = (ws, cwd) => ({ cwd, env: ws.env });
    const [list1, list50, status1, status50, doctor1, doctor50] = timeInterleaved(
      [
        { name: 'list (1)', argv: [process.execPath, CLI, 'sandbox', 'list'], opts: runIn(small, small.repo) },
        { name: 'list (50)', argv: [process.execPath, CLI, 'sandbox', 'list'], opts: runIn(many, many.repo) },
        {
          name: 'status (1)',
          argv: [process.execPath, CLI, 'sandbox', 'status'],
          opts: runIn(small, sandboxOf(small)),
        },
        { name: 'status (50)', argv: [process.execPath, CLI, 'sandbox', 'status'], opts: runIn(many, sandboxOf(many)) },
        { name: 'doctor (1)', argv: [process.execPath, CLI, 'sandbox', 'doctor'], opts: runIn(small, small.repo) },
        { name: 'doctor (50)', argv: [process.execPath, CLI, 'sandbox', 'doctor'], opts: runIn(many, many.repo) },
      ],
      Math.max(5, Math.round(rounds / 3)),
    );
    const row = (name, a, b, target, limit) => {
      const ratio = b.ms / a.ms;
      return {
        name,
        measured: `${b.ms.toFixed(0)} ms`,
        baseline: `${a.ms.toFixed(0)} ms (1 instance)`,
        ratio: `${ratio.toFixed(2)}x`,
        target,
        met: limit === undefined || ratio < limit,
      };
    };
    return [
      row('`list` with 50 registered instances vs 1', list1, list50, '< 2x', 2),
      row('`status` with 50 registered instances vs 1', status1, status50, '< 2x', 2),
      row('`doctor` with 50 registered instances vs 1', doctor1, doctor50, '-', undefined),
    ];
  } finally {
    many.cleanup();
    small.cleanup();
  }
}
