// `kinfra sandbox init-shared`: creates the shared data folders sandboxes mount, copying them from a checkout.

import { join, resolve } from 'node:path';
import { loadConfig } from '../adapters/config-loader.js';
import { copyOne, planCopy, removePartials } from '../adapters/copy-tree.js';
import { isFolder, makeFolder, pathExists } from '../adapters/folders.js';
import { repoToplevel } from '../adapters/git.js';
import { expandHome } from '../adapters/paths.js';
import { conflictError, usageError } from '../core/errors.js';
import type { AppContext } from './context.js';

export interface SharedProgress {
  dir: string;
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export interface InitSharedRequest {
  from?: string | undefined;
  minimal: boolean;
  force: boolean;
  /** Asked when files in the target differ from the source; false keeps them. */
  confirmOverwrite: (count: number, examples: string[]) => Promise<boolean>;
  onProgress?: (p: SharedProgress) => void;
}

export interface SharedDirResult {
  name: string;
  path: string;
  created: boolean;
  /** No such folder in --from: nothing to copy. */
  missingInSource: boolean;
  copiedFiles: number;
  copiedBytes: number;
  /** Already there from an earlier (possibly interrupted) run. */
  alreadyThere: number;
  overwritten: number;
  /** Different in the target and kept (no --force, not confirmed). */
  keptDiffering: string[];
  skippedSpecial: string[];
  removedPartials: number;
}

export interface InitSharedResult {
  root: string;
  from: string | null;
  dirs: SharedDirResult[];
}

/**
 * `kinfra sandbox init-shared`: the shared data folders (seed 001 decision 6),
 * optionally filled from an existing environment. Never overwrites data that
 * differs without asking or --force; a copy that was interrupted resumes.
 */
export async function initShared(ctx: AppContext, req: InitSharedRequest): Promise<InitSharedResult> {
  if (req.from !== undefined && req.minimal) {
    throw usageError(
      'conflicting-options',
      '--from and --minimal cannot be used together.',
      'Use --from PATH to copy data, or --minimal for empty folders.',
    );
  }
  const top = await repoToplevel(ctx.cwd).catch(() => ctx.cwd);
  const config = await loadConfig(top);
  if (!config.shared) {
    throw usageError(
      'no-shared-data',
      `The layout of ${config.source} has no shared data.`,
      'Declare `shared` in kinfra.yaml to use init-shared.',
    );
  }
  const root = expandHome(config.shared.root, ctx.paths.home);
  const from = req.from === undefined ? undefined : resolve(ctx.cwd, req.from);
  if (from !== undefined && !isFolder(from)) {
    throw usageError(
      'invalid-from',
      `--from ${req.from}: no such folder.`,
      'Point --from at a folder holding data/, models/, strategies/ (e.g. ../ktrdr2).',
    );
  }
  if (from !== undefined && resolve(from) === resolve(root)) {
    throw usageError(
      'invalid-from',
      `--from ${req.from} is the shared folder itself.`,
      'Point --from at another environment, e.g. ../ktrdr2.',
    );
  }

  const dirs: SharedDirResult[] = [];
  let keptDiffering = 0;
  for (const { name } of config.shared.dirs) {
    const path = join(root, name);
    const created = !pathExists(path);
    await makeFolder(path);
    const result: SharedDirResult = {
      name,
      path,
      created,
      missingInSource: false,
      copiedFiles: 0,
      copiedBytes: 0,
      alreadyThere: 0,
      overwritten: 0,
      keptDiffering: [],
      skippedSpecial: [],
      removedPartials: await removePartials(path),
    };
    dirs.push(result);
    if (from === undefined) continue;
    const src = join(from, name);
    if (!pathExists(src)) {
      result.missingInSource = true;
      continue;
    }
    const plan = await planCopy(src, path);
    result.skippedSpecial = plan.skippedSpecial;
    result.alreadyThere = plan.files.filter((f) => f.state === 'same').length;
    const differing = plan.files.filter((f) => f.state === 'differs');
    const overwrite =
      differing.length > 0 &&
      (req.force ||
        (await req.confirmOverwrite(
          differing.length,
          differing.slice(0, 5).map((f) => join(name, f.rel)),
        )));
    const todo = plan.files.filter((f) => f.state === 'new' || (f.state === 'differs' && overwrite));
    if (!overwrite) result.keptDiffering = differing.map((f) => join(name, f.rel));
    keptDiffering += result.keptDiffering.length;
    const totalBytes = todo.reduce((n, f) => n + f.size, 0);
    for (const f of todo) {
      await copyOne(src, path, f.rel, plan.mtimes.get(f.rel)!);
      result.copiedFiles++;
      result.copiedBytes += f.size;
      if (f.state === 'differs') result.overwritten++;
      req.onProgress?.({
        dir: name,
        files: result.copiedFiles,
        totalFiles: todo.length,
        bytes: result.copiedBytes,
        totalBytes,
      });
    }
  }
  const result = { root, from: from ?? null, dirs };
  if (keptDiffering > 0) {
    const examples = dirs.flatMap((d) => d.keptDiffering).slice(0, 5);
    throw conflictError(
      'shared-data-differs',
      `${keptDiffering} file(s) in ${root} differ from ${from} and were kept, ` +
        `not overwritten: ${examples.join(', ')}${keptDiffering > examples.length ? ', ...' : ''}. ` +
        `Everything else was copied.`,
      'Run again with --force to overwrite them with the copies from --from.',
      { result },
    );
  }
  return result;
}
