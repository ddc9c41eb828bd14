import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson, workspace, type Workspace } from '../helpers/cli.js';

/**
 * Issue 6: a full disk or a read-only registry folder while kinfra writes. The
 * tests run as root (chmod would not stop a write), so kinfra's state folder
 * is a small tmpfs of its own: filled up, then remounted read-only.
 */
function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

describe('a full disk or a read-only registry folder', () => {
  let ws: Workspace;
  let mounted: string | undefined;
  afterEach(() => {
    if (mounted) spawnSync('umount', [mounted]);
    mounted = undefined;
    ws?.cleanup();
  });

  it(
    'leaves the previous registry intact, says what is wrong and what to do (exit 6), ' + 'and works again once fixed',
    async () => {
      ws = workspace();
      const state = join(ws.home, '.ktrdr');
      mkdirSync(state);
      sh('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', state]);
      mounted = state;
      expect((await ws.run(['sandbox', 'create', 'first'])).code).toBe(0);
      const registryFile = join(state, 'sandboxes/registry.json');
      const before = readFileSync(registryFile, 'utf8');

      // Fill the file system to the last byte.
      const filler = join(state, 'filler');
      spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { encoding: 'utf8' });
      const full = await ws.run(['sandbox', 'create', 'second', '--json']);
      expect(full.code, full.stderr).toBe(6);
      const error = parseJson(full.stderr).error;
      expect(error.message).toMatch(/the disk is full/);
      expect(error.hint).toMatch(/Free some disk space and run the command again; the previous file is unchanged/);
      expect(readFileSync(registryFile, 'utf8')).toBe(before);
      expect(existsSync(join(ws.dev, 'ktrdr--second'))).toBe(false); // nothing half-made beside it
      expect(
        readdirSync(join(state, 'sandboxes')).filter(
          (n) => n.startsWith('registry.json.') && n !== 'registry.json.lock',
        ),
      ).toEqual([]);

      // Read-only: the same, with the reason named.
      rmSync(filler);
      sh('mount', ['-o', 'remount,ro', state]);
      const ro = await ws.run(['sandbox', 'create', 'second', '--json']);
      expect(ro.code, ro.stderr).toBe(6);
      expect(parseJson(ro.stderr).error.message).toMatch(/read-only/);
      expect(readFileSync(registryFile, 'utf8')).toBe(before);
      // Reading still works.
      const list = await ws.run(['sandbox', 'list', '--json']);
      expect(list.code, list.stderr).toBe(0);
      expect(parseJson(list.stdout).data.instances.map((i: { instanceId: string }) => i.instanceId)).toEqual([
        'ktrdr--first',
      ]);

      // Writable again: the next command works.
      sh('mount', ['-o', 'remount,rw', state]);
      const again = await ws.run(['sandbox', 'create', 'second']);
      expect(again.code, again.stderr).toBe(0);
      expect(Object.keys(JSON.parse(readFileSync(registryFile, 'utf8')).instances).sort()).toEqual([
        'ktrdr--first',
        'ktrdr--second',
      ]);
      writeFileSync(join(ws.root, 'done'), '');
    },
  );
});
