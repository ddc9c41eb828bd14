// Copying into a new sandbox the git-ignored files its stack needs from the main checkout: those its compose files
// reference (files only: a bind-mounted data folder is the main checkout's own) and the `copy:` list of kinfra.yaml
// (files or folders). Nothing is overwritten, and a file git tracks is never copied (the branch decides those).
import { join, relative } from 'node:path';
import { copyOne, planCopy } from '../adapters/copy-tree.js';
import { isFolder, modifiedAt, pathExists } from '../adapters/folders.js';
import { trackedPaths } from '../adapters/git.js';
import { referencedPaths } from '../core/needed-files.js';

/** Copy what the new worktree lacks; returns what was copied (relative paths, folders ending in /). */
export async function copyNeededFiles(
  root: string,
  worktree: string,
  configs: { effective: unknown; raw: unknown },
  listed: readonly string[],
  composeFiles: readonly string[] = [],
): Promise<string[]> {
  // The compose files themselves when git-ignored (a COMPOSE_FILE entry, a local override): the stack runs them.
  const own = composeFiles.map((f) => relative(root, f)).filter((f) => f && !f.startsWith('..'));
  const referenced = [...own, ...referencedPaths(configs.effective, root, configs.raw ?? configs.effective)].filter(
    (p) => pathExists(join(root, p)) && !isFolder(join(root, p)),
  );
  const candidates = [...new Set([...referenced, ...listed])].filter(
    (p) => pathExists(join(root, p)) && !pathExists(join(worktree, p)),
  );
  const tracked = await trackedPaths(root, candidates);
  const copied: string[] = [];
  for (const rel of candidates.filter((p) => !tracked.has(p))) {
    if (isFolder(join(root, rel))) {
      const plan = await planCopy(join(root, rel), join(worktree, rel));
      for (const f of plan.files.filter((x) => x.state === 'new')) {
        await copyOne(join(root, rel), join(worktree, rel), f.rel, plan.mtimes.get(f.rel) ?? Date.now());
      }
      copied.push(`${rel}/`);
    } else {
      await copyOne(root, worktree, rel, (await modifiedAt(join(root, rel))) ?? Date.now());
      copied.push(rel);
    }
  }
  return copied;
}
