// The folder adapter the use cases go through for files and folders on disk.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  folderSize,
  isFolder,
  listFolder,
  makeFolder,
  modifiedAt,
  nearestWith,
  pathExists,
  removeEmptyFolder,
  removeFile,
  removeTree,
} from '../../src/adapters/folders.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kinfra-folders-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('folders adapter', () => {
  it('finds the nearest folder at or above a folder holding one of the names', () => {
    mkdirSync(join(root, 'a/b/c'), { recursive: true });
    writeFileSync(join(root, 'a/.env.sandbox'), '');
    expect(nearestWith(join(root, 'a/b/c'), ['kinfra.yaml', '.env.sandbox'])).toEqual({
      dir: join(root, 'a'),
      name: '.env.sandbox',
    });
    expect(nearestWith(join(root, 'a/b/c'), ['no-such-name-anywhere'])).toBeUndefined();
  });

  it('counts files and bytes, and says when it stopped early', () => {
    mkdirSync(join(root, 'd/e'), { recursive: true });
    writeFileSync(join(root, 'd/one'), 'abc');
    writeFileSync(join(root, 'd/e/two'), 'de');
    expect(folderSize(join(root, 'd'), 100)).toEqual({ files: 2, bytes: 5, partial: false });
    expect(folderSize(join(root, 'd'), 1).partial).toBe(true);
  });

  it('makes, lists and removes, and never removes a folder that is not empty as an empty one', async () => {
    const dir = join(root, 'x/y');
    await makeFolder(dir);
    expect(isFolder(dir)).toBe(true);
    writeFileSync(join(dir, 'f'), 'work');
    expect(await listFolder(dir)).toEqual(['f']);
    expect(await modifiedAt(join(dir, 'f'))).toBeGreaterThan(0);
    expect(await modifiedAt(join(dir, 'missing'))).toBeUndefined();
    await expect(removeEmptyFolder(dir)).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    await removeFile(join(dir, 'f'));
    await removeFile(join(dir, 'f'));
    await removeEmptyFolder(dir);
    expect(pathExists(dir)).toBe(false);
    await removeTree(join(root, 'x'));
    expect(pathExists(join(root, 'x'))).toBe(false);
    expect(isFolder(join(root, 'x'))).toBe(false);
  });
});
