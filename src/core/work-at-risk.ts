// What removing a worktree would lose. git's own view (uncommitted changes, untracked files) is not enough: git-ignored
// folders hold data, models and local settings, and a repository nested inside holds commits of its own. Ignored paths
// that a build or an install makes again (node_modules/, .venv/, ...) are not work; the list is extendable in
// kinfra.yaml (destroy.regenerable).

export const DEFAULT_REGENERABLE = [
  'node_modules/',
  '.venv/',
  'venv/',
  '__pycache__/',
  'dist/',
  'build/',
  'target/',
  '.cache/',
  '.pytest_cache/',
  '.mypy_cache/',
  '.tox/',
  '*.pyc',
] as const;

export interface WorkAtRisk {
  uncommitted: string[];
  ignored: string[];
  nestedRepos: string[];
  unsharedCommits: string[];
}

export const noWork = (): WorkAtRisk => ({ uncommitted: [], ignored: [], nestedRepos: [], unsharedCommits: [] });

export function hasWork(w: WorkAtRisk): boolean {
  return w.uncommitted.length + w.ignored.length + w.nestedRepos.length + w.unsharedCommits.length > 0;
}

const glob = (p: string) =>
  new RegExp(
    `^${p
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );

/**
 * Does `path` (relative, `/`-separated, folders ending in `/`) lie in something regenerable?
 * `name/` matches a folder of that name at any depth; a pattern with a `/` inside is anchored at the top;
 * any other pattern matches a base name at any depth.
 */
export function isRegenerable(path: string, patterns: readonly string[]): boolean {
  const parts = path.replace(/\/+$/, '').split('/');
  const isDir = path.endsWith('/');
  return patterns.some((raw) => {
    const dirOnly = raw.endsWith('/');
    const pat = raw.replace(/^\/+|\/+$/g, '');
    if (pat === '') return false;
    if (pat.includes('/')) {
      const re = glob(pat);
      return parts.some(
        (_, i) => re.test(parts.slice(0, i + 1).join('/')) && (!dirOnly || i < parts.length - 1 || isDir),
      );
    }
    const re = glob(pat);
    // A folder pattern matches any folder on the way down (every part but a file's own name).
    return parts.some((seg, i) => re.test(seg) && (!dirOnly || i < parts.length - 1 || isDir));
  });
}

/** The lines destroy prints, at most `max` (plus "... and N more"). */
export function workLines(w: WorkAtRisk, max = 10): string[] {
  const all = [
    ...w.uncommitted.map((p) => `  uncommitted: ${p}`),
    ...w.ignored.map((p) => `  ignored: ${p}`),
    ...w.nestedRepos.map((p) => `  nested repository: ${p}`),
    ...w.unsharedCommits.map((c) => `  commit on no other branch or remote: ${c}`),
  ];
  return all.length > max ? [...all.slice(0, max), `  ... and ${all.length - max} more`] : all;
}
