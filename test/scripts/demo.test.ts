import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

/**
 * `npm run demo` builds the example images once, quietly, before the two
 * sandboxes come up. A fake `docker` on PATH stands in for the engine: it
 * logs how it was called and prints a build's worth of output.
 */
let dir: string | undefined;
afterEach(() => void (dir && rmSync(dir, { recursive: true, force: true })));

const FAKE_DOCKER = `#!/bin/sh
echo "$PWD: $*" >> "$FAKE_LOG"
if [ "$1 $2" = "compose version" ]; then echo "Docker Compose version v2.30.0"; exit 0; fi
i=0; while [ $i -lt 500 ]; do echo "#$i [backend 2/5] RUN pip install something"; i=$((i+1)); done >&2
exit "\${FAKE_EXIT:-0}"
`;

function buildImages(exit: number) {
  // Importing a demo.mjs without the step (or without its run-as-a-script guard) would run the whole demo.
  const source = readFileSync(join(REPO_ROOT, 'scripts/demo.mjs'), 'utf8');
  expect(source).toMatch(/^export function buildImages\(/m);
  expect(source).toMatch(
    /^if \(process\.argv\[1\] && resolve\(process\.argv\[1\]\) === fileURLToPath\(import\.meta\.url\)\) \{$/m,
  );
  dir = mkdtempSync(join(tmpdir(), 'kinfra-demo-test-'));
  const bin = join(dir, 'bin');
  const repo = join(dir, 'repo');
  mkdirSync(bin);
  mkdirSync(repo);
  writeFileSync(join(bin, 'docker'), FAKE_DOCKER);
  chmodSync(join(bin, 'docker'), 0o755);
  const demo = pathToFileURL(join(REPO_ROOT, 'scripts/demo.mjs')).href;
  const script =
    `import { buildImages } from ${JSON.stringify(demo)}; process.exitCode = (await ` +
    `buildImages(${JSON.stringify(repo)}, process.env)) ? 0 : 1;`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}${delimiter}${process.env.PATH}`,
    FAKE_LOG: join(dir, 'log'),
    FAKE_EXIT: String(exit),
  };
  delete env.KINFRA_COMPOSE;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  const calls = readFileSync(join(dir, 'log'), 'utf8').trim().split('\n');
  return { ...r, repo, calls };
}

describe('npm run demo: the example images', () => {
  it('are built once, with one progress line and none of the build output', () => {
    const r = buildImages(0);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Building the example images once, for both sandboxes \.\.\. done \(\d+s\)\n$/);
    expect(r.stderr).toBe('');
    expect(r.calls.filter((c) => c.endsWith(' build'))).toEqual([
      `${r.repo}: compose --ansi never -p kinfra-build -f docker-compose.yml build`,
    ]);
  });

  it('show the whole build output when the build fails', () => {
    const r = buildImages(1);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\.\.\. failed \(exit 1\) \(\d+s\)\n$/);
    expect(r.stderr).toContain('#0 [backend 2/5]');
    expect(r.stderr).toContain('#499 [backend 2/5]');
  });

  it('are built before the sandboxes come up, and `up` does not build again', () => {
    const demo = readFileSync(join(REPO_ROOT, 'scripts/demo.mjs'), 'utf8');
    const body = demo.slice(demo.indexOf('async function up()'));
    expect(body.indexOf('await buildImages(')).toBeGreaterThan(0);
    expect(body.indexOf('await buildImages(')).toBeLessThan(body.indexOf("['sandbox', 'up'"));
    expect(body).not.toMatch(/'--build'/);
  });
});
