// `npm test`: build, type-check, lint, the format check (prettier), the tests that need
// no Docker, then the Docker end-to-end tests. Every part runs whatever the others did (with `a && b`, a
// failing type-check or completion check hid the E2E results), then one line says
// which parts failed and the last line totals the tests of every part as
// `N passed, N failed, N skipped` (the line CI reads; test/helpers/summary-reporter.ts
// prints it per vitest run and hands its counts to this script).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');
/** The env variable naming the file where each vitest run appends its counts (one JSON line). */
export const SUMMARY_ENV = 'KINFRA_TEST_SUMMARY';

export const PARTS = [
  { name: 'build', command: ['npm', 'run', 'build'] },
  { name: 'typecheck', command: ['npm', 'run', 'typecheck'] },
  { name: 'lint', command: ['npm', 'run', 'lint'] },
  { name: 'format', command: ['npm', 'run', 'format:check'] },
  {
    name: 'tests',
    command: [
      process.execPath,
      VITEST,
      'run',
      'test/core',
      'test/adapters',
      'test/app',
      'test/operations',
      'test/cli',
      'test/mcp',
      'test/http',
      'test/docs',
      'test/scripts',
    ],
  },
  { name: 'e2e (Docker)', command: [process.execPath, VITEST, 'run', 'test/e2e'] },
];

/** Run every part in turn; returns the exit code (0 when every part passed). */
export function runParts(parts, { cwd = ROOT, log = (line) => process.stdout.write(line + '\n') } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kinfra-npm-test-'));
  const failed = [];
  const total = { passed: 0, failed: 0, skipped: 0 };
  try {
    for (const [i, part] of parts.entries()) {
      const file = join(dir, `part-${i}.jsonl`);
      log(`\n=== npm test: ${part.name} ===`);
      const r = spawnSync(part.command[0], part.command.slice(1), {
        cwd,
        stdio: 'inherit',
        env: { ...process.env, [SUMMARY_ENV]: file },
      });
      // Ctrl-C (or a kill) stops the whole run, as it would without this script.
      if (r.signal) {
        log(`\nnpm test: ${part.name} was stopped by ${r.signal}.`);
        return 130;
      }
      const counts = readCounts(file);
      for (const k of Object.keys(total)) total[k] += counts?.[k] ?? 0;
      if (r.status !== 0) {
        failed.push(`${part.name} (exit ${r.status ?? r.error?.message})`);
        // A part that ran no tests (build, typecheck, a vitest run that could not start) counts as one failure.
        if (!counts?.failed) total.failed++;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  log(
    failed.length
      ? `\nnpm test: failed: ${failed.join(', ')}.`
      : `\nnpm test: every part passed (${parts.map((p) => p.name).join(', ')}).`,
  );
  log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  return failed.length ? 1 : 0;
}

function readCounts(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const sum = { passed: 0, failed: 0, skipped: 0 };
  for (const line of text.split('\n').filter(Boolean)) {
    const c = JSON.parse(line);
    for (const k of Object.keys(sum)) sum[k] += c[k];
  }
  return sum;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = runParts(PARTS);
