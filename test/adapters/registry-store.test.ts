// The registry store's two ways in: snapshot() reads and never writes or moves a file; update() is where a corrupt
// file is moved aside and the Python tool's file imported.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { statePaths, type StatePaths } from '../../src/adapters/paths.js';
import { RegistryStore } from '../../src/adapters/registry-store.js';
import { REPO_ROOT } from '../helpers/cli.js';

let home: string;
let paths: StatePaths;
let store: RegistryStore;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'kinfra-store-'));
  paths = statePaths(home);
  store = new RegistryStore(paths);
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

/** Every file under the state folder, with its content: what a call must leave as it was. */
function stateFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out[p] = readFileSync(p, 'utf8');
    }
  };
  try {
    walk(paths.stateDir);
  } catch {
    // no state folder yet
  }
  return out;
}

function writeRegistry(text: string): void {
  mkdirSync(paths.sandboxesDir, { recursive: true });
  writeFileSync(paths.registry, text);
}

function writePython(): void {
  const text = readFileSync(join(REPO_ROOT, 'test/fixtures/python/instances.v1.json'), 'utf8')
    .replaceAll('${DEV}', join(home, 'dev'))
    .replaceAll('${HOME}', home);
  mkdirSync(join(paths.stateDir, 'sandbox'), { recursive: true });
  writeFileSync(paths.pythonRegistry, text);
}

describe('RegistryStore.snapshot', () => {
  it('is empty for a new state, and writes nothing', async () => {
    expect(await store.snapshot()).toMatchObject({ version: 2, instances: {}, slots: {} });
    expect(stateFiles()).toEqual({});
  });

  it('reports a corrupt registry (registry-corrupt) and leaves it where it is', async () => {
    writeRegistry('{"version": 2, "instances": {');
    const before = stateFiles();
    await expect(store.snapshot()).rejects.toMatchObject({ category: 'registry', code: 'registry-corrupt' });
    expect(stateFiles()).toEqual(before);
  });

  it('reports a lost registry (registry-lost), never an empty one', async () => {
    writeRegistry('not json');
    await expect(store.update((r) => r)).rejects.toMatchObject({ code: 'registry-corrupt' });
    const before = stateFiles();
    await expect(store.snapshot()).rejects.toMatchObject({ code: 'registry-lost' });
    expect(stateFiles()).toEqual(before);
  });

  it("reads the Python tool's file in memory until it is imported, writing neither copy nor registry", async () => {
    writePython();
    const before = stateFiles();
    const r = await store.snapshot();
    expect(Object.keys(r.instances).length).toBeGreaterThan(0);
    expect(stateFiles()).toEqual(before);
  });
});

describe('RegistryStore.update', () => {
  it('moves a corrupt registry aside and stops (registry-corrupt, naming where it went)', async () => {
    writeRegistry('{"version": 2, "instances": {');
    const err = await store.update(() => 'changed').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'registry-corrupt' });
    const aside = readdirSync(paths.sandboxesDir).filter((n) => n.startsWith('registry.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect((err as Error).message).toContain(aside[0]);
  });

  it("imports the Python tool's file under the lock: the copy first, then the registry", async () => {
    writePython();
    const seen = await store.snapshot();
    await store.update(() => undefined);
    expect(readFileSync(paths.pythonBackups[1], 'utf8')).toBe(readFileSync(paths.pythonRegistry, 'utf8'));
    expect(JSON.parse(readFileSync(paths.registry, 'utf8')).instances).toEqual(seen.instances);
    expect(await store.snapshot()).toEqual(seen);
  });
});
