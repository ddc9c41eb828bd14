// Copy a folder tree so that an interrupted copy can simply be run again: each file is written under a temporary name
// and renamed into place, and keeps its source's modification time, so a file that is already there with the same size
// and time is known to be complete and is skipped.

import { copyFile, lstat, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export const PARTIAL_SUFFIX = '.kinfra-partial';

export interface CopyPlanEntry {
  rel: string;
  size: number;
  /** new: not in the target; same: already copied; differs: the target has other content there. */
  state: 'new' | 'same' | 'differs';
}

export interface CopyPlan {
  files: CopyPlanEntry[];
  /** Symlinks, sockets and the like: not copied. */
  skippedSpecial: string[];
}

async function walk(
  root: string,
  dir: string,
  out: { rel: string; size: number; mtimeMs: number }[],
  special: string[],
): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(root, full, out, special);
    else if (e.isFile()) {
      const s = await stat(full);
      out.push({ rel: relative(root, full), size: s.size, mtimeMs: s.mtimeMs });
    } else special.push(relative(root, full));
  }
}

export async function planCopy(from: string, to: string): Promise<CopyPlan & { mtimes: Map<string, number> }> {
  const sources: { rel: string; size: number; mtimeMs: number }[] = [];
  const skippedSpecial: string[] = [];
  await walk(from, from, sources, skippedSpecial);
  const files: CopyPlanEntry[] = [];
  for (const f of sources) {
    const t = await lstat(join(to, f.rel)).catch(() => undefined);
    const state = !t
      ? 'new'
      : t.isFile() && t.size === f.size && Math.abs(t.mtimeMs - f.mtimeMs) < 1
        ? 'same'
        : 'differs';
    files.push({ rel: f.rel, size: f.size, state });
  }
  return { files, skippedSpecial, mtimes: new Map(sources.map((s) => [s.rel, s.mtimeMs])) };
}

/** Remove leftovers of an interrupted copy (temporary files only). */
export async function removePartials(dir: string): Promise<number> {
  let removed = 0;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith(PARTIAL_SUFFIX)) {
      await rm(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name), { force: true });
      removed++;
    }
  }
  return removed;
}

export async function copyOne(from: string, to: string, rel: string, mtimeMs: number): Promise<void> {
  const dest = join(to, rel);
  await mkdir(dirname(dest), { recursive: true });
  const partial = dest + PARTIAL_SUFFIX;
  await copyFile(join(from, rel), partial);
  const when = new Date(mtimeMs);
  await utimes(partial, when, when);
  await rename(partial, dest);
}
