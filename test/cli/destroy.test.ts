import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson, appWorkspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

describe('kinfra sandbox destroy', () => {
  it('removes the worktree and the entry, keeps the branch, and frees the slot', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'feat']);
    const path = join(ws.dev, 'ktrdr--feat');
    const r = await ws.run(['sandbox', 'destroy', '--yes'], { cwd: path });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Destroyed sandbox ktrdr--feat (slot 1 is free again)');
    expect(r.stdout).toContain('Kept branch ktrdr--feat');
    expect(existsSync(path)).toBe(false);
    expect(ws.git(['worktree', 'list', '--porcelain'])).not.toContain('ktrdr--feat');
    expect(ws.git(['branch', '--list', 'ktrdr--feat'])).toContain('ktrdr--feat');
    const next = await ws.run(['sandbox', 'create', 'next', '--json']);
    expect(parseJson(next.stdout).data.slot).toBe(1);
  });

  it('refuses to lose uncommitted or untracked work without --force, and says what would be lost', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'wip']);
    const path = join(ws.dev, 'ktrdr--wip');
    writeFileSync(join(path, 'notes.txt'), 'unsaved\n');
    writeFileSync(join(path, 'README.md'), 'changed\n');
    const r = await ws.run(['sandbox', 'destroy', 'wip', '--yes']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('uncommitted: notes.txt');
    expect(r.stderr).toContain('uncommitted: README.md');
    expect(r.stderr).toContain('--force');
    expect(existsSync(join(path, 'notes.txt'))).toBe(true);
    expect(parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout).data.instances).toHaveLength(1);

    const forced = await ws.run(['sandbox', 'destroy', 'wip', '--force']);
    expect(forced.code).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it(
    'keeps the branch, so its commits are not at risk; refuses to drop commits no ' + 'branch reaches (detached HEAD)',
    async () => {
      ws = appWorkspace();
      await ws.run(['sandbox', 'create', 'commits']);
      const path = join(ws.dev, 'ktrdr--commits');
      writeFileSync(join(path, 'feature.txt'), 'work\n');
      ws.git(['add', 'feature.txt'], path);
      ws.git(['commit', '-qm', 'precious work'], path);
      const sha = ws.git(['rev-parse', 'HEAD'], path);
      // Everyday local commits on the sandbox's branch: destroy keeps the branch, so nothing is lost.
      const ok = await ws.run(['sandbox', 'destroy', 'commits', '--yes']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ws.git(['rev-parse', 'ktrdr--commits'])).toBe(sha);

      await ws.run(['sandbox', 'create', 'detached']);
      const other = join(ws.dev, 'ktrdr--detached');
      ws.git(['checkout', '-q', '--detach'], other);
      writeFileSync(join(other, 'loose.txt'), 'work\n');
      ws.git(['add', 'loose.txt'], other);
      ws.git(['commit', '-qm', 'commit on no branch'], other);
      const loose = ws.git(['rev-parse', 'HEAD'], other);
      const r = await ws.run(['sandbox', 'destroy', 'detached', '--yes']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/commit on no other branch or remote: [0-9a-f]+ commit on no branch/);
      const forced = await ws.run(['sandbox', 'destroy', 'detached', '--force']);
      expect(forced.code, forced.stderr).toBe(0);
      expect(ws.git(['cat-file', '-t', loose])).toBe('commit');
    },
  );

  it('--keep-worktree only unregisters; folders made with init are never removed', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'keep']);
    const path = join(ws.dev, 'ktrdr--keep');
    const r = await ws.run(['sandbox', 'destroy', 'keep', '--keep-worktree', '--yes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Kept ${path}: --keep-worktree`);
    // A kept folder cannot run on the slot it gave back.
    expect(existsSync(join(path, '.env.sandbox'))).toBe(false);

    // init that folder again (kinfra did not create it this time), then destroy: kept.
    expect((await ws.run(['sandbox', 'init'], { cwd: path })).code).toBe(0);
    const d = await ws.run(['sandbox', 'destroy', '--yes'], { cwd: path });
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('kinfra did not create this folder');
    expect(existsSync(path)).toBe(true);
  });

  it('never destroys a folder that is not a registered sandbox', async () => {
    ws = appWorkspace();
    const main = await ws.run(['sandbox', 'destroy', '--force']);
    expect(main.code).toBe(5);
    expect(main.stderr).toContain(`${ws.repo} is not a registered sandbox`);
    mkdirSync(join(ws.dev, 'ktrdr--ghost'));
    const ghost = await ws.run(['sandbox', 'destroy', 'ghost', '--force']);
    expect(ghost.code).toBe(5);
    expect(ghost.stderr).toContain('No sandbox named ghost is registered');
    expect(existsSync(join(ws.dev, 'ktrdr--ghost'))).toBe(true);
    expect(existsSync(ws.repo)).toBe(true);
  });

  it('asks for confirmation: refuses without a terminal unless --yes, and --json never prompts', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'ask']);
    const r = await ws.run(['sandbox', 'destroy', 'ask']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('needs confirmation');
    expect(r.stderr).toContain('--yes');
    const j = await ws.run(['sandbox', 'destroy', 'ask', '--json']);
    expect(j.code).toBe(1);
    expect(parseJson(j.stderr).error.code).toBe('confirmation-required');
    expect(existsSync(join(ws.dev, 'ktrdr--ask'))).toBe(true);
    const ok = await ws.run(['sandbox', 'destroy', 'ask', '--yes', '--json']);
    expect(parseJson(ok.stdout).data).toMatchObject({
      instanceId: 'ktrdr--ask',
      removesFolder: true,
      cancelled: false,
    });
  });
});
