import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

const RUNNER = pathToFileURL(join(REPO_ROOT, 'scripts/test.mjs')).href;

/** Run scripts/test.mjs's runParts on `parts` (JSON) in a child node, as `npm test` would run its own. */
function runParts(parts: string) {
  const script = `import { runParts } from ${JSON.stringify(RUNNER)}; process.exitCode = runParts(${parts});`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
}

/** A part that appends test counts the way test/helpers/summary-reporter.ts does, then exits with `code`. */
const vitestLike = (name: string, counts: object, code: number) => {
  const body =
    `require('fs').appendFileSync(process.env.KINFRA_TEST_SUMMARY, ` +
    `${JSON.stringify(JSON.stringify(counts))} + '\\n'); ` +
    `console.log('${name} ran'); process.exit(${code})`;
  return `{ name: '${name}', command: [process.execPath, '-e', ${JSON.stringify(body)}] }`;
};

describe('npm test (scripts/test.mjs)', () => {
  it('runs every part even when one fails, names the failed parts, and totals the tests on the last line', () => {
    const r = runParts(`[
      { name: 'typecheck', command: [process.execPath, '-e', 'process.exit(2)'] },
      ${vitestLike('unit', { passed: 3, failed: 0, skipped: 1 }, 0)},
      ${vitestLike('e2e', { passed: 1, failed: 2, skipped: 0 }, 1)},
    ]`);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('unit ran');
    expect(r.stdout).toContain('e2e ran');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-2)).toBe('npm test: failed: typecheck (exit 2), e2e (exit 1).');
    // The type-check failure counts as one failed test: the line alone must not read as a pass.
    expect(lines.at(-1)).toBe('4 passed, 3 failed, 1 skipped');
  });

  it('exits 0 when every part passes', () => {
    const r = runParts(
      `[${vitestLike('unit', { passed: 2, failed: 0, skipped: 0 }, 0)}, { name: 'build', command: ` +
        `[process.execPath, '-e', ''] }]`,
    );
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n').slice(-2)).toEqual([
      'npm test: every part passed (unit, build).',
      '2 passed, 0 failed, 0 skipped',
    ]);
  });

  it(
    'is what `npm test` runs, with build, typecheck, lint, the format check, every test folder without Docker, ' +
      'then the Docker E2E suite',
    () => {
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
      expect(pkg.scripts.test).toBe('node scripts/test.mjs');
      const script =
        `import { PARTS } from ${JSON.stringify(RUNNER)}; console.log(JSON.stringify(PARTS.map((p) ` +
        `=> [p.name, p.command.slice(1).join(' ')])));`;
      const parts = new Map<string, string>(
        JSON.parse(spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).stdout),
      );
      expect([...parts.keys()]).toEqual(['build', 'typecheck', 'lint', 'format', 'tests', 'e2e (Docker)']);
      expect(parts.get('build')).toBe('run build');
      expect(parts.get('typecheck')).toBe('run typecheck');
      expect(parts.get('lint')).toBe('run lint');
      expect(parts.get('format')).toBe('run format:check');
      expect(parts.get('e2e (Docker)')).toMatch(/vitest\.mjs run test\/e2e$/);
      // Every folder of tests is in the run without Docker, so a new one cannot be left out silently.
      const folders = readdirSync(join(REPO_ROOT, 'test')).filter(
        (d) => statSync(join(REPO_ROOT, 'test', d)).isDirectory() && !['e2e', 'helpers', 'fixtures'].includes(d),
      );
      expect(parts.get('tests')!.split(' ').slice(2).sort()).toEqual(folders.map((d) => `test/${d}`).sort());
    },
  );

  it('the README lists everything the test command needs', () => {
    const setup = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').split('\n## Set-up')[1]!.split('\n## ')[0]!;
    for (const need of [
      '**git**',
      '**Node.js 20.12**',
      '**Docker Engine**',
      '**Compose v2**',
      '**v1**',
      '**zsh**',
      '**fish**',
      '**root**',
    ])
      expect(setup).toContain(need);
  });
});
