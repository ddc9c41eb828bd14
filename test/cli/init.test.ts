import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnvText } from '../../src/core/env-file.js';
import { parseJson, workspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

describe('kinfra sandbox init (seed 001 scenario 2)', () => {
  it('turns an existing clone into a sandbox, and refuses a second time', async () => {
    ws = workspace();
    const clone = join(ws.dev, 'ktrdr-clone');
    ws.git(['clone', '-q', ws.repo, clone], ws.dev);
    const r = await ws.run(['sandbox', 'init', '--json'], { cwd: clone });
    expect(r.code).toBe(0);
    const doc = parseJson(r.stdout);
    expect(doc.data).toMatchObject({ instanceId: 'ktrdr--ktrdr-clone', slot: 1, path: clone, adopted: false });
    expect(parseEnvText(readFileSync(join(clone, '.env.sandbox'), 'utf8')).KTRDR_API_PORT).toBe('8001');
    const reg = JSON.parse(readFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), 'utf8'));
    expect(reg.instances['ktrdr--ktrdr-clone']).toMatchObject({ is_worktree: false, created_worktree: false, parent_repo: clone });

    const again = await ws.run(['sandbox', 'init'], { cwd: clone });
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('is already the sandbox ktrdr--ktrdr-clone (slot 1)');
  });

  it('honours --slot and --name', async () => {
    ws = workspace();
    const r = await ws.run(['sandbox', 'init', '-s', '7', '-n', 'Experiment']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Initialised sandbox ktrdr--experiment (slot 7)');
  });

  it('refuses a folder that is not a git checkout of a compose project', async () => {
    ws = workspace();
    const outside = await ws.run(['sandbox', 'init'], { cwd: ws.home });
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('is not inside a git repository');
    rmSync(join(ws.repo, 'docker-compose.yml'));
    const bare = await ws.run(['sandbox', 'init']);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('has no compose file');
  });

  it('re-registers a sandbox on the slot its .env.sandbox names when the registry lost it', async () => {
    ws = workspace();
    await ws.run(['sandbox', 'create', 'survivor', '-s', '4']);
    rmSync(join(ws.home, '.ktrdr'), { recursive: true, force: true });
    const path = join(ws.dev, 'ktrdr--survivor');
    // With the registry gone, create must not hand out slot 4 again ...
    const other = await ws.run(['sandbox', 'create', 'other', '-s', '4']);
    expect(other.code).toBe(4);
    expect(other.stderr).toContain('ktrdr--survivor (unregistered');
    // ... and init brings the sandbox back on its slot.
    const r = await ws.run(['sandbox', 'init', '--json'], { cwd: path });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).data).toMatchObject({ instanceId: 'ktrdr--survivor', slot: 4, adopted: true });
  });
});
