import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

/**
 * The README's first command, run as a newcomer would in a fresh clone, leaves
 * a `kinfra` that runs. npm's prefix points into a scratch folder, so the real
 * global folder is never touched; node_modules is copied from this checkout and
 * npm runs offline (no download), but the install, the build and the link are npm's own.
 */
const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const setup = readme.split('\n## Set-up')[1]!.split('\n## ')[0]!;
const firstCommand = /```bash\n([^\n]*)/
  .exec(setup)![1]!
  .replace(/\s+#.*$/, '')
  .trim();

const scratch = mkdtempSync(join(tmpdir(), 'kinfra-install-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the README's set-up", () => {
  it('its first command puts a working kinfra on PATH, from a fresh clone', () => {
    // It must install kinfra's command, not only build the project (or start the demo).
    expect(firstCommand).toMatch(/\bnpm (link|install (-g|--global))\b/);
    const clone = join(scratch, 'kinfra');
    const prefix = join(scratch, 'prefix');
    expect(spawnSync('git', ['clone', '-q', REPO_ROOT, clone], { encoding: 'utf8' }).status).toBe(0);
    cpSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    const npmEnv = {
      ...process.env,
      npm_config_prefix: prefix,
      npm_config_cache: join(scratch, 'npm-cache'),
      npm_config_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    };
    const install = spawnSync('sh', ['-c', firstCommand], { cwd: clone, env: npmEnv, encoding: 'utf8' });
    expect(install.status, `${firstCommand}\n${install.stdout}\n${install.stderr}`).toBe(0);

    const bin = join(prefix, 'bin');
    // A link into the clone, not a copy of something else.
    expect(realpathSync(join(bin, 'kinfra'))).toBe(join(realpathSync(clone), 'dist/kinfra.js'));
    // As a user runs it: by name, found on PATH, from anywhere.
    const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` };
    const version = spawnSync('kinfra', ['--version'], { cwd: scratch, env, encoding: 'utf8' });
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
    expect(spawnSync('kinfra', ['sandbox', '--help'], { cwd: scratch, env, encoding: 'utf8' }).stdout).toMatch(
      /^Usage: kinfra sandbox/,
    );
  }, 90_000);
});
