// Files and folders on disk, as the use cases ask about them: whether a path exists, what a folder holds, how
// large it is, and removing what a use case has decided may go. Errors are Node's own (the callers decide what a
// failure means); reading and writing file contents is file-store.ts.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Whether anything (a file, a folder) is at `path`. */
export function pathExists(path: string): boolean {
  return existsSync(path);
}

/** Whether `path` is a folder. */
export function isFolder(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** The names in a folder (throws when it cannot be read, as readdir does). */
export function listFolder(path: string): Promise<string[]> {
  return readdir(path);
}

/** When `path` was last modified (ms since the epoch), or undefined when it cannot be asked. */
export async function modifiedAt(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
}

/** Make a folder and its parents (nothing when it exists). */
export async function makeFolder(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

/** Remove one file; nothing when it is not there. */
export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** Remove a folder and everything in it; nothing when it is not there. Callers check what it holds first. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Remove a folder that is empty (fails on one that is not: the last guard against removing work). */
export async function removeEmptyFolder(path: string): Promise<void> {
  await rmdir(path);
}

/** The nearest folder at or above `dir` holding one of `names`, and which one. */
export function nearestWith(dir: string, names: readonly string[]): { dir: string; name: string } | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const name = names.find((n) => existsSync(join(d, n)));
    if (name) return { dir: d, name };
    if (dirname(d) === d) return undefined;
  }
}

/** Files and bytes under `dir`, counting at most `limit` files (`partial` when it stopped early). */
export function folderSize(dir: string, limit: number): { files: number; bytes: number; partial: boolean } {
  let files = 0;
  let bytes = 0;
  const todo = [dir];
  while (todo.length > 0 && files < limit) {
    const d = todo.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) todo.push(join(d, e.name));
      else if (e.isFile()) {
        files++;
        bytes += statSync(join(d, e.name), { throwIfNoEntry: false })?.size ?? 0;
      }
    }
  }
  return { files, bytes, partial: todo.length > 0 };
}
