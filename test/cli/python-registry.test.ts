import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson, REPO_ROOT, appWorkspace, type Workspace } from '../helpers/cli.js';

/**
 * Issue 12, item 6: the Python ktrdr's ~/.ktrdr/sandbox/instances.json, in
 * both formats it writes (test/fixtures/python). kinfra imports it once,
 * keeps a copy, and while the Python tool keeps writing it, keeps the slots it
 * lists free; doctor says which of these it is.
 */
let ws: Workspace;
afterEach(() => ws?.cleanup());

const pythonFile = (w: Workspace) => join(w.home, '.ktrdr/sandbox/instances.json');
const regFile = (w: Workspace) => join(w.home, '.ktrdr/sandboxes/registry.json');
const registry = (w: Workspace) => JSON.parse(readFileSync(regFile(w), 'utf8'));

/** A fixture with the workspace's real folders in it. */
function fixture(w: Workspace, name: 'instances.v1.json' | 'instances.v2.json'): string {
  return readFileSync(join(REPO_ROOT, 'test/fixtures/python', name), 'utf8')
    .replaceAll('${DEV}', w.dev)
    .replaceAll('${HOME}', w.home);
}

function writePython(w: Workspace, text: string): void {
  mkdirSync(join(w.home, '.ktrdr/sandbox'), { recursive: true });
  writeFileSync(pythonFile(w), text);
}

/** The Python tool writes the file again (json.dump, indent 2), with `edit` applied. */
function pythonWrites(w: Workspace, edit: (doc: any) => void): void {
  const doc = JSON.parse(readFileSync(pythonFile(w), 'utf8'));
  edit(doc);
  writeFileSync(pythonFile(w), JSON.stringify(doc, null, 2));
}

const python = async (w: Workspace) => {
  const r = await w.run(['sandbox', 'doctor', '--json']);
  return {
    code: r.code,
    finding: parseJson(r.stdout).data.findings.find((f: any) => f.check === 'python'),
    all: parseJson(r.stdout).data.findings,
  };
};

describe("the Python ktrdr's registry", () => {
  it(
    'version 2 (instances and pool slots): imported on first use instead of exit 6, with a copy; ' +
      'its later claims stay taken',
    async () => {
      ws = appWorkspace();
      const text = fixture(ws, 'instances.v2.json');
      writePython(ws, text);
      for (const d of ['ktrdr--feat-a', 'ktrdr--clone', 'ktrdr-impl-genome-M1']) mkdirSync(join(ws.dev, d));

      const list = await ws.run(['sandbox', 'list', '--json']);
      expect(list.code, list.stderr).toBe(0);
      const rows = parseJson(list.stdout).data.instances.map((i: any) => [i.instanceId, i.slot]);
      expect(rows).toEqual([
        ['ktrdr-impl-genome-M1', 1],
        ['ktrdr--feat-a', 7],
        ['ktrdr--clone', 8],
      ]);
      expect(readFileSync(join(ws.home, '.ktrdr/sandboxes/instances.v2.backup.json'), 'utf8')).toBe(text);
      expect(readFileSync(pythonFile(ws), 'utf8')).toBe(text);

      const reg = registry(ws);
      expect(reg.version).toBe(2);
      expect(reg.local_prod).toMatchObject({ instance_id: 'ktrdr-prod', slot: 0 });
      expect(reg.instances['ktrdr--clone']).toMatchObject({
        parent_repo: '',
        is_worktree: false,
        instance_id: 'ktrdr--clone',
      });
      // A claim names the worktree's folder in the Python file; in kinfra's, the sandbox (named by
      // its folder, as the Python tool names it).
      expect(reg.slots['1']).toMatchObject({ claimed_by: 'ktrdr-impl-genome-M1', status: 'running', profile: 'light' });
      expect(reg.instances['ktrdr-impl-genome-M1']).toMatchObject({
        slot: 1,
        pool_slot: 1,
        path: join(ws.dev, 'ktrdr-impl-genome-M1'),
      });
      expect(reg.slots['2']).toMatchObject({ claimed_by: null, ports: { api: 8002 } });

      const imported = await python(ws);
      expect(imported.finding).toMatchObject({ status: 'ok' });
      expect(imported.finding.message).toMatch(
        /version 2, 3 sandbox\(es\)\) was imported .* and has not changed since/,
      );

      // A Python user on this machine claims pool slot 2 and starts a sandbox on slot 3: kinfra takes neither.
      pythonWrites(ws, (doc) => {
        doc.slots['2'].claimed_by = join(ws.dev, 'ktrdr-impl-other-M2');
        doc.slots['2'].claimed_at = '2025-03-01T10:00:00.000000';
        doc.instances['ktrdr--py-new'] = {
          instance_id: 'ktrdr--py-new',
          slot: 3,
          path: join(ws.root, 'py', 'ktrdr--py-new'),
          created_at: '2025-03-01T10:00:00',
          is_worktree: false,
          parent_repo: null,
        };
      });
      const create = await ws.run(['sandbox', 'create', 'n', '--json']);
      expect(create.code, create.stdout).toBe(4);
      expect(parseJson(create.stderr).error.code).toBe('pool-exhausted');
      expect(parseJson(create.stderr).error.message).toContain(
        "Slot 2 (light): ktrdr-impl-other-M2 (Python ktrdr's registry)",
      );
      expect(registry(ws).slots['2'].claimed_by).toBeNull();

      const changed = await python(ws);
      expect(changed.finding.status).toBe('warn');
      expect(changed.finding.message).toMatch(/has changed since kinfra imported it/);
      expect(changed.finding.message).toContain('slot 2 (ktrdr-impl-other-M2), slot 3 (ktrdr--py-new)');
    },
  );

  it('version 1: imported once; a sandbox the Python tool adds afterwards keeps its slot free', async () => {
    ws = appWorkspace();
    writePython(ws, fixture(ws, 'instances.v1.json'));
    for (const d of ['ktrdr--feat-a', 'ktrdr--clone']) mkdirSync(join(ws.dev, d));
    expect((await ws.run(['sandbox', 'list'])).code).toBe(0);
    expect(existsSync(join(ws.home, '.ktrdr/sandboxes/instances.v1.backup.json'))).toBe(true);
    expect(Object.keys(registry(ws).instances).sort()).toEqual(['ktrdr--clone', 'ktrdr--feat-a']);
    expect((await python(ws)).finding.message).toMatch(/version 1, 2 sandbox\(es\)\) was imported/);

    pythonWrites(ws, (doc) => {
      doc.instances['ktrdr--py-new'] = {
        instance_id: 'ktrdr--py-new',
        slot: 3,
        path: join(ws.root, 'py', 'ktrdr--py-new'),
        created_at: '2025-03-01T10:00:00',
        is_worktree: false,
        parent_repo: null,
      };
    });
    const asked = await ws.run(['sandbox', 'create', 'x', '-s', '3', '--json']);
    expect(asked.code).toBe(4);
    expect(parseJson(asked.stderr).error.message).toContain(
      "slot 3 is used by ktrdr--py-new (Python ktrdr's registry)",
    );
    const created = await ws.run(['sandbox', 'create', 'x', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(parseJson(created.stdout).data.slot).toBe(4);
    // Not imported again: the sandbox stays the Python tool's.
    expect(registry(ws).instances['ktrdr--py-new']).toBeUndefined();
  });

  it("a file that appears after kinfra's registry is never imported, and its slots are kept free", async () => {
    ws = appWorkspace();
    expect(parseJson((await ws.run(['sandbox', 'create', 'a', '--json'])).stdout).data.slot).toBe(1);
    const doc = JSON.parse(fixture(ws, 'instances.v2.json'));
    doc.instances['ktrdr--feat-a'].slot = 2;
    writePython(ws, JSON.stringify(doc, null, 2));
    const b = await ws.run(['sandbox', 'create', 'b', '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(parseJson(b.stdout).data.slot).toBe(3);
    const seen = await python(ws);
    expect(seen.finding.status).toBe('warn');
    expect(seen.finding.message).toMatch(/was never imported: kinfra's registry came first/);
    expect(seen.finding.message).toContain(
      'slot 1 (ktrdr-impl-genome-M1), slot 2 (ktrdr--feat-a), slot 8 (ktrdr--clone)',
    );
  });

  it(
    'unreadable before it was imported: every command stops (exit 6) and doctor says why, ' +
      'instead of calling the registry fine',
    async () => {
      ws = appWorkspace();
      writePython(ws, JSON.stringify({ version: 2, instances: { 'ktrdr--x': { path: '/somewhere' } }, slots: {} }));
      const r = await ws.run(['sandbox', 'create', 'a', '--json']);
      expect(r.code).toBe(6);
      const error = parseJson(r.stderr).error;
      expect(error.code).toBe('python-registry-unreadable');
      expect(error.message).toContain('instances.ktrdr--x.slot: missing');
      expect(error.hint).toContain('Fix it');
      const seen = await ws.run(['sandbox', 'doctor', '--json']);
      expect(seen.code).toBe(11);
      const reg = parseJson(seen.stdout).data.findings.find((f: any) => f.check === 'registry');
      expect(reg.status).toBe('problem');
      expect(reg.message).toMatch(
        /kinfra will not start one: Python ktrdr's registry .* cannot be read: instances\.ktrdr--x\.slot: missing/,
      );
    },
  );

  it(
    'unreadable after it was imported: kinfra goes on, and doctor warns that its ' + 'slots cannot be kept free',
    async () => {
      ws = appWorkspace();
      writePython(ws, fixture(ws, 'instances.v1.json'));
      expect((await ws.run(['sandbox', 'list'])).code).toBe(0);
      writeFileSync(pythonFile(ws), '{"version": 2, "instances": {');
      const r = await ws.run(['sandbox', 'create', 'a', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const seen = await python(ws);
      expect(seen.finding.status).toBe('warn');
      expect(seen.finding.message).toMatch(
        /cannot be read: not valid JSON.*It was imported before; the slots it lists now cannot be kept free/,
      );
    },
  );
});
