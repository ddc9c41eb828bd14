import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson, appWorkspace, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

describe('kinfra sandbox list', () => {
  it('shows Instance, Slot, API Port, Status and Path for every sandbox, ordered by slot', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'beta', '-s', '3']);
    await ws.run(['sandbox', 'create', 'alpha']);
    const r = await ws.run(['sandbox', 'list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Instance\s+Slot\s+API Port\s+Status\s+Path$/);
    // Nothing was started: Docker knows no containers of either.
    expect(lines[1]).toMatch(new RegExp(`^ktrdr--alpha\\s+1\\s+8001\\s+stopped\\s+${join(ws.dev, 'ktrdr--alpha')}$`));
    expect(lines[2]).toMatch(new RegExp(`^ktrdr--beta\\s+3\\s+8003\\s+stopped\\s+${join(ws.dev, 'ktrdr--beta')}$`));
  });

  it('removes entries whose folder is gone and says "Cleaned N stale entries" (seed 000)', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'stale-test']);
    await ws.run(['sandbox', 'create', 'alive']);
    rmSync(join(ws.dev, 'ktrdr--stale-test'), { recursive: true, force: true });
    const r = await ws.run(['sandbox', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Cleaned 1 stale entries');
    expect(r.stdout).not.toMatch(/^ktrdr--stale-test/m);
    expect(r.stdout).toMatch(/^ktrdr--alive/m);
    const again = await ws.run(['sandbox', 'list', '--json']);
    const doc = parseJson(again.stdout);
    expect(doc.data.cleaned).toEqual([]);
    expect(doc.data.instances.map((i: { instanceId: string }) => i.instanceId)).toEqual(['ktrdr--alive']);
  });

  it('prints a JSON document with a documented shape, and a hint when there is nothing', async () => {
    ws = appWorkspace();
    const empty = await ws.run(['sandbox', 'list']);
    expect(empty.stdout).toContain('No sandboxes. Create one with: kinfra sandbox create <name>');
    await ws.run(['sandbox', 'create', 'one']);
    const doc = parseJson((await ws.run(['sandbox', 'list', '--json'])).stdout);
    expect(doc.schemaVersion).toBe(2);
    expect(doc.ok).toBe(true);
    expect(doc.data.instances).toHaveLength(1);
    expect(Object.keys(doc.data.instances[0]).sort()).toEqual([
      'apiPort',
      'branch',
      'containers',
      'createdAt',
      'hostnames',
      'instanceId',
      'isWorktree',
      'parentRepo',
      'path',
      'ports',
      'slot',
      'state',
      'status',
    ]);
    expect(doc.data.instances[0]).toMatchObject({
      instanceId: 'ktrdr--one',
      slot: 1,
      apiPort: 8001,
      isWorktree: true,
      parentRepo: ws.repo,
      status: 'stopped',
    });
    expect(Object.keys(doc.data).sort()).toEqual([
      'cleaned',
      'engineError',
      'focus',
      'foreign',
      'instances',
      'orphans',
    ]);
    expect(doc.data.focus).toBeNull();
  });
});
