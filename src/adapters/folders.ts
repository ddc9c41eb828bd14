// Files and folders on disk, as the use cases ask about them: whether a path exists, what a folder holds, how
// large it is, and removing what a use case has decided may go. Errors are Node's own (the callers decide what a
// failure means); reading and writing file contents is file-store.ts.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

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

/**
 * Whether two paths are two regular files with the same bytes (false when either is missing, a link, or they are one
 * file under two names).
 */
export async function sameFileContent(a: string, b: string): Promise<boolean> {
  // lstat: a link is never "the same file" (the main checkout's may point at the very file being compared).
  const [sa, sb] = await Promise.all([lstat(a).catch(() => undefined), lstat(b).catch(() => undefined)]);
  if (!sa?.isFile() || !sb?.isFile() || sa.size !== sb.size || sa.size > 16 * 1024 * 1024) return false;
  if (sa.ino === sb.ino && sa.dev === sb.dev) return false;
  const [ca, cb] = await Promise.all([readFile(a), readFile(b)]);
  return ca.equals(cb);
}

/**
 * Whether every file under folder `a` is a byte-identical file at the same place under `b` (false for a folder that
 * holds anything else: a link, a socket, or more than `limit` files).
 */
export async function sameTreeContent(a: string, b: string, limit = 1000): Promise<boolean> {
  const entries = await readdir(a, { withFileTypes: true, recursive: true }).catch(() => undefined);
  if (!entries || entries.length > limit) return false;
  for (const e of entries) {
    if (e.isDirectory()) continue;
    const rel = relative(a, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
    if (!e.isFile() || !(await sameFileContent(join(a, rel), join(b, rel)))) return false;
  }
  return true;
}
