import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cliEnv, parseJson, appWorkspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

const shared = (w: Workspace) => join(w.home, '.ktrdr/shared');

/** An environment to copy from: data/ with many files, models/ with one, no strategies/. */
function source(w: Workspace, files = 400): string {
  const from = join(w.root, 'ktrdr-old');
  mkdirSync(join(from, 'data/sub'), { recursive: true });
  mkdirSync(join(from, 'models'), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(from, 'data/sub', `f${i}.csv`), `row,${i}\n`.repeat(2000));
  writeFileSync(join(from, 'models', 'm.bin'), 'model');
  return from;
}

function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe('kinfra sandbox init-shared (seed 001 milestone 5)', () => {
  it('--minimal creates the empty folders', async () => {
    ws = appWorkspace();
    const r = await ws.run(['sandbox', 'init-shared', '--minimal']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(shared(ws)).sort()).toEqual(['data', 'models', 'strategies']);
  });

  it('--from copies every folder with progress and reports what it skipped', async () => {
    ws = appWorkspace();
    const from = source(ws, 20);
    const r = await ws.run(['sandbox', 'init-shared', '--from', from]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Copying data: 20 files, [\d.]+ MB/);
    expect(r.stdout).toContain('data/: created, 20 file(s) copied');
    expect(r.stdout).toContain(`strategies/: created, skipped: no strategies/ in ${from}`);
    expect(tree(join(shared(ws), 'data'))).toEqual(tree(join(from, 'data')));
    expect(readFileSync(join(shared(ws), 'models/m.bin'), 'utf8')).toBe('model');
  });

  it('never overwrites differing data without --force, says so, and copies the rest', async () => {
    ws = appWorkspace();
    const from = source(ws, 3);
    mkdirSync(join(shared(ws), 'models'), { recursive: true });
    writeFileSync(join(shared(ws), 'models/m.bin'), 'my own model');
    const r = await ws.run(['sandbox', 'init-shared', '--from', from, '--json']);
    expect(r.code).toBe(4);
    const err = parseJson(r.stderr).error;
    expect(err.code).toBe('shared-data-differs');
    expect(err.message).toContain('models/m.bin');
    expect(err.hint).toContain('--force');
    expect(readFileSync(join(shared(ws), 'models/m.bin'), 'utf8')).toBe('my own model');
    expect(tree(join(shared(ws), 'data'))).toEqual(tree(join(from, 'data')));

    const forced = await ws.run(['sandbox', 'init-shared', '--from', from, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('1 overwritten');
    expect(readFileSync(join(shared(ws), 'models/m.bin'), 'utf8')).toBe('model');
  });

  it('resumes an interrupted copy: killed midway, run again, everything arrives once and intact', async () => {
    ws = appWorkspace();
    const from = source(ws, 1500);
    const child = spawn(process.execPath, [CLI, 'sandbox', 'init-shared', '--from', from], {
      cwd: ws.repo,
      env: cliEnv(ws.home),
    });
    await new Promise<void>((resolve) => {
      child.stderr.on('data', () => resolve());
      child.on('close', () => resolve());
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const dataDir = join(shared(ws), 'data/sub');
    const copiedBefore = existsSync(dataDir) ? readdirSync(dataDir).filter((f) => f.endsWith('.csv')).length : 0;
    expect(copiedBefore).toBeLessThan(1500);

    const again = await ws.run(['sandbox', 'init-shared', '--from', from, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const data = parseJson(again.stdout).data.dirs.find((d: { name: string }) => d.name === 'data');
    expect(data.alreadyThere + data.copiedFiles).toBe(1500);
    expect(data.alreadyThere).toBeGreaterThanOrEqual(copiedBefore - 1);
    expect(tree(join(shared(ws), 'data'))).toEqual(tree(join(from, 'data')));
    for (const f of ['f0.csv', 'f777.csv', 'f1499.csv']) {
      expect(readFileSync(join(dataDir, f), 'utf8')).toBe(readFileSync(join(from, 'data/sub', f), 'utf8'));
    }
  });

  it('rejects a missing --from, and --from with --minimal', async () => {
    ws = appWorkspace();
    expect((await ws.run(['sandbox', 'init-shared', '--from', join(ws.root, 'nope')])).code).toBe(1);
    expect((await ws.run(['sandbox', 'init-shared', '--from', ws.root, '--minimal'])).code).toBe(1);
  });
});

describe('kinfra sandbox verify (seed 001 milestone 6)', () => {
  it('passes the example stack and fails a bad file with exit 10 and every fix', async () => {
    ws = appWorkspace();
    const { REPO_ROOT } = await import('../helpers/cli.js');
    const ok = await ws.run(['sandbox', 'verify', join(REPO_ROOT, 'examples/stack/docker-compose.yml')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('is sandbox-safe');
    const bad = await ws.run(['sandbox', 'verify', join(REPO_ROOT, 'test/fixtures/compose/bad.yml')]);
    expect(bad.code).toBe(10);
    // What would break the main checkout or collide is a problem; what kinfra moves or drops itself is information.
    expect(bad.stderr).toContain('not sandbox-safe: 4 problem(s)');
    expect(bad.stderr).toContain('fix: write ${KTRDR_DB_PORT:-5432}');
    expect(bad.stderr).toContain("i api: host port 8000 is fixed: kinfra moves it to KTRDR_API_PORT's port");
    expect(bad.stderr).toContain(
      'i api: host port variable SOMETHING_ELSE is not in the layout: kinfra sets it per sandbox',
    );
    const warn = await ws.run([
      'sandbox',
      'verify',
      join(REPO_ROOT, 'test/fixtures/compose/good-all-interfaces.yml'),
      '--json',
    ]);
    expect(warn.code).toBe(0);
    expect(parseJson(warn.stdout).data).toMatchObject({ errors: 0, warnings: 2 });
  });
});
