import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { successDocument } from '../../src/docs/json-output.js';
import { appWorkspace, parseJson, type Workspace } from '../helpers/cli.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

describe('kinfra sandbox whoami', () => {
  it('names the sandbox a folder is in, with its slot, ports, URLs and compose project', async () => {
    ws = appWorkspace();
    expect((await ws.run(['sandbox', 'create', 'feat'])).code).toBe(0);
    const dir = join(ws.dev, 'ktrdr--feat');
    const r = await ws.run(['sandbox', 'whoami', '--json'], { cwd: join(dir) });
    expect(r.code, r.stderr).toBe(0);
    const doc = parseJson(r.stdout);
    expect(successDocument('whoami').safeParse(doc).error?.issues ?? []).toEqual([]);
    expect(doc.data.sandbox).toMatchObject({ instanceId: 'ktrdr--feat', slot: 1, path: dir, project: 'ktrdr--feat' });
    expect(doc.data.sandbox.ports.api).toBe(8001);
    expect(doc.data.sandbox.urls.find((u: { name: string }) => u.name === 'api').url).toContain('8001');
    // Its names through the router (issue 16), each beside the URL a tool can always reach.
    expect(doc.data.sandbox.hostnames).toMatchObject({
      url: 'http://ktrdr--feat.localhost:8800',
      routerPort: 8800,
      routerRunning: false,
    });
    expect(doc.data.sandbox.hostnames.ports).toContainEqual({
      name: 'worker_1',
      url: 'http://worker-1.ktrdr--feat.localhost:8800',
      direct: `http://127.0.0.1:${doc.data.sandbox.ports.worker_1}`,
    });
    // The same answer for a path given from elsewhere, and in words for a person.
    const human = await ws.run(['sandbox', 'whoami', dir]);
    expect(human.stdout).toContain('ktrdr--feat (slot 1, compose project ktrdr--feat)');
  });

  it('answers "in no sandbox", with why, for a folder outside every sandbox (exit 0)', async () => {
    ws = appWorkspace();
    const r = await ws.run(['sandbox', 'whoami', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = parseJson(r.stdout);
    expect(successDocument('whoami').safeParse(doc).error?.issues ?? []).toEqual([]);
    expect(doc.data.sandbox).toBeNull();
    expect(doc.data.reason).toMatch(/not a registered sandbox/);
    expect(doc.data.nearest).toEqual([]);
  });

  it("outside every sandbox, names the nearest: the repository's sandboxes, asked from its main checkout", async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'b']);
    await ws.run(['sandbox', 'create', 'a']);
    const r = await ws.run(['sandbox', 'whoami', '--json']);
    expect(parseJson(r.stdout).data.nearest).toEqual([
      { instanceId: 'ktrdr--b', slot: 1, path: join(ws.dev, 'ktrdr--b') },
      { instanceId: 'ktrdr--a', slot: 2, path: join(ws.dev, 'ktrdr--a') },
    ]);
    expect((await ws.run(['sandbox', 'whoami'])).stdout).toContain('Nearest sandboxes:\n  ktrdr--b (slot 1)');
  });

  it('is still an error when the registry cannot be read: no answer is made up', async () => {
    ws = appWorkspace();
    await ws.run(['sandbox', 'create', 'feat']);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(ws.home, '.ktrdr/sandboxes/registry.json'), '{ not json');
    const r = await ws.run(['sandbox', 'whoami', '--json'], { cwd: join(ws.dev, 'ktrdr--feat') });
    expect(r.code).toBe(6);
  });
});
