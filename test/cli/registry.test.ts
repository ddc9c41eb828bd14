import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson, workspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

const regDir = (w: Workspace) => join(w.home, '.ktrdr/sandboxes');
const regFile = (w: Workspace) => join(regDir(w), 'registry.json');

describe('the registry', () => {
  it(
    'never treats an unreadable registry as empty: stops, names the file, ' + 'moves it aside, says how to rebuild',
    async () => {
      ws = workspace();
      await ws.run(['sandbox', 'create', 'precious']);
      writeFileSync(regFile(ws), '{"version": 2, "instances": {"ktrdr--precious": {"slot": 1,');
      const r = await ws.run(['sandbox', 'create', 'next']);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain(`The sandbox registry ${regFile(ws)} cannot be read`);
      expect(r.stderr).toContain('kinfra sandbox doctor --repair');
      expect(existsSync(join(ws.dev, 'ktrdr--next'))).toBe(false);
      const aside = readdirSync(regDir(ws)).filter((f) => f.startsWith('registry.json.corrupt-'));
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(regDir(ws), aside[0]!), 'utf8')).toContain('ktrdr--precious');

      // The bad file is aside now, and the registry is lost, not empty: even list stops until it is rebuilt.
      const json = await ws.run(['sandbox', 'list', '--json']);
      expect(json.code).toBe(6);
      expect(parseJson(json.stderr).error.code).toBe('registry-lost');
      expect((await ws.run(['sandbox', 'doctor', '--repair'])).code).toBe(0);
      const list = parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout);
      expect(list.data.instances).toMatchObject([{ instanceId: 'ktrdr--precious', slot: 1 }]);
    },
  );

  it('reports a registry of an unknown version instead of overwriting it', async () => {
    ws = workspace();
    mkdirSync(regDir(ws), { recursive: true });
    writeFileSync(regFile(ws), JSON.stringify({ version: 3, instances: {}, slots: {} }));
    const r = await ws.run(['sandbox', 'list', '--json']);
    expect(r.code).toBe(6);
    expect(parseJson(r.stderr).error).toMatchObject({ code: 'registry-corrupt' });
    expect(r.stderr).toContain('version 3');
  });

  it.each([
    [
      'port 70000',
      (e: any) => {
        e.ports.api = 70000;
      },
      'instances.ktrdr--a.ports.api: expected a port number (1-65535), got 70000',
    ],
    [
      'slot 100',
      (e: any) => {
        e.slot = 100;
      },
      'instances.ktrdr--a.slot: expected a slot number (0-99), got 100',
    ],
  ])(
    'reports a hand-edited %s as unreadable data, naming the field, instead of using it',
    async (_label, edit, reason) => {
      ws = workspace();
      await ws.run(['sandbox', 'create', 'a']);
      const reg = JSON.parse(readFileSync(regFile(ws), 'utf8'));
      edit(reg.instances['ktrdr--a']);
      writeFileSync(regFile(ws), JSON.stringify(reg, null, 2));
      const seen = await ws.run(['sandbox', 'doctor', '--json']);
      expect(seen.code).toBe(11);
      expect(parseJson(seen.stdout).data.findings.find((f: any) => f.check === 'registry').message).toContain(reason);
      const r = await ws.run(['sandbox', 'list', '--json']);
      expect(r.code).toBe(6);
      expect(parseJson(r.stderr).error).toMatchObject({ code: 'registry-corrupt' });
      expect(parseJson(r.stderr).error.message).toContain(reason);
    },
  );

  it('migrates a version 1 registry on first use, keeps a backup, and loses nothing', async () => {
    ws = workspace();
    await ws.run(['sandbox', 'create', 'legacy']);
    const v2 = JSON.parse(readFileSync(regFile(ws), 'utf8'));
    const path = v2.instances['ktrdr--legacy'].path;
    const v1 = {
      version: 1,
      instances: {
        'ktrdr--legacy': {
          slot: 1,
          path,
          created_at: '2024-01-15T10:30:00Z',
          is_worktree: true,
          parent_repo: ws.repo,
          python_only_field: 'kept',
        },
      },
    };
    mkdirSync(join(ws.home, '.ktrdr/sandbox'), { recursive: true });
    const v1Text = JSON.stringify(v1, null, 2);
    writeFileSync(join(ws.home, '.ktrdr/sandbox/instances.json'), v1Text);
    writeFileSync(regFile(ws), ''); // force: remove v2 below
    await import('node:fs').then((fs) => fs.rmSync(regFile(ws)));

    const r = await ws.run(['sandbox', 'list', '--json']);
    expect(r.code).toBe(0);
    const doc = parseJson(r.stdout);
    expect(doc.data.instances).toHaveLength(1);
    expect(doc.data.instances[0]).toMatchObject({
      instanceId: 'ktrdr--legacy',
      slot: 1,
      apiPort: 8001,
      createdAt: '2024-01-15T10:30:00Z',
    });
    const migrated = JSON.parse(readFileSync(regFile(ws), 'utf8'));
    expect(migrated).toMatchObject({ version: 2, slots: {} });
    expect(migrated.instances['ktrdr--legacy']).toEqual(v1.instances['ktrdr--legacy']);
    expect(readFileSync(join(regDir(ws), 'instances.v1.backup.json'), 'utf8')).toBe(v1Text);
    expect(readFileSync(join(ws.home, '.ktrdr/sandbox/instances.json'), 'utf8')).toBe(v1Text);
    // Migrated entries keep their slot: the next create takes slot 2.
    expect(parseJson((await ws.run(['sandbox', 'create', 'new', '--json'])).stdout).data.slot).toBe(2);
  });

  it(
    '20 parallel creates end with exactly 10 sandboxes on 10 distinct slots and ' + '10 clean exhaustion errors',
    async () => {
      ws = workspace();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => ws.run(['sandbox', 'create', `agent-${i}`, '--json'])),
      );
      const ok = results.filter((r) => r.code === 0);
      const failed = results.filter((r) => r.code !== 0);
      expect(ok).toHaveLength(10);
      expect(failed).toHaveLength(10);
      for (const f of failed) {
        expect(f.code, f.stderr).toBe(4);
        expect(parseJson(f.stderr).error.code).toBe('slots-exhausted');
      }
      const slots = ok.map((r) => parseJson(r.stdout).data.slot).sort((a: number, b: number) => a - b);
      expect(slots).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

      const reg = JSON.parse(readFileSync(regFile(ws), 'utf8'));
      expect(Object.keys(reg.instances)).toHaveLength(10);
      const list = parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout);
      expect(list.data.instances.map((i: { slot: number }) => i.slot)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // Every worktree that exists is registered, and no failed create left one behind.
      const worktrees = ws
        .git(['worktree', 'list', '--porcelain'])
        .split('\n')
        .filter((l) => l.startsWith('worktree ')).length;
      expect(worktrees).toBe(11);
      expect(readdirSync(ws.dev).filter((d) => d.startsWith('ktrdr--'))).toHaveLength(10);
    },
  );
});
