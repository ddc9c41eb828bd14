// git, run as a child process without a shell: worktrees, branches, and the uncommitted or unshared work a
// worktree holds.

import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { externalError, usageError } from '../core/errors.js';
import { run, type RunResult } from './runner.js';

/** git, run without a shell, with output captured. */
async function git(cwd: string, args: string[]): Promise<RunResult> {
  return run('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
}

async function gitOk(cwd: string, args: string[], what: string): Promise<string> {
  const r = await git(cwd, args);
  if (r.exitCode !== 0) {
    throw externalError(
      'git-failed',
      `git could not ${what}: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`,
      `Run \`git ${args.join(' ')}\` in ${cwd} to see the full error.`,
    );
  }
  return r.stdout;
}

const firstLine = (s: string) => s.trim().split('\n').filter(Boolean).pop() ?? '';

export interface Worktree {
  path: string;
  head: string | undefined;
  /** Short branch name, or undefined when detached. */
  branch: string | undefined;
  bare: boolean;
}

/** The top of the working tree that holds `cwd`, or a usage error outside a repository. */
export async function repoToplevel(cwd: string): Promise<string> {
  const r = await git(cwd, ['rev-parse', '--show-toplevel']);
  if (r.exitCode !== 0) {
    if (!/not a git repository/i.test(r.stderr)) {
      // Anything else (a damaged repository, git itself failing) is not the user's command line.
      throw externalError(
        'git-failed',
        `git could not find the repository of ${cwd}: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`,
        `Run \`git rev-parse --show-toplevel\` in ${cwd} to see the full error.`,
      );
    }
    throw usageError(
      'not-a-git-repo',
      `${cwd} is not inside a git repository.`,
      "Run this inside your project's git checkout (or one of its sandboxes).",
    );
  }
  return r.stdout.trim();
}

/** Every worktree of the repository that holds `cwd`; the main one comes first. */
export async function listWorktrees(cwd: string): Promise<Worktree[]> {
  const out = await gitOk(cwd, ['worktree', 'list', '--porcelain', '-z'], 'list worktrees');
  const trees: Worktree[] = [];
  let cur: Worktree | undefined;
  for (const field of out.split('\0')) {
    if (field === '') {
      if (cur) trees.push(cur);
      cur = undefined;
      continue;
    }
    const sp = field.indexOf(' ');
    const key = sp < 0 ? field : field.slice(0, sp);
    const value = sp < 0 ? '' : field.slice(sp + 1);
    if (key === 'worktree') cur = { path: value, head: undefined, branch: undefined, bare: false };
    else if (!cur) continue;
    else if (key === 'HEAD') cur.head = value;
    else if (key === 'branch') cur.branch = value.replace(/^refs\/heads\//, '');
    else if (key === 'bare') cur.bare = true;
  }
  if (cur) trees.push(cur);
  return trees;
}

/**
 * The main checkout's folder, without listing worktrees: `git worktree list`
 * reads every .git/worktrees entry, which another kinfra process may be
 * creating right now, so create lists them only under the registry lock.
 */
export async function mainRoot(cwd: string): Promise<string> {
  await repoToplevel(cwd);
  const common = (
    await gitOk(cwd, ['rev-parse', '--path-format=absolute', '--git-common-dir'], 'find the repository')
  ).trim();
  const abs = isAbsolute(common) ? common : resolve(cwd, common);
  // <main>/.git for an ordinary repository (for a bare one, the folder beside it).
  return resolve(abs, '..');
}

/** The main worktree: sandboxes are created beside it even when run inside a sandbox. */
export async function mainWorktree(cwd: string): Promise<{ root: string; worktrees: Worktree[] }> {
  const root = await mainRoot(cwd);
  return { root, worktrees: await listWorktrees(root) };
}

export async function checkBranchName(cwd: string, branch: string): Promise<void> {
  const r = await git(cwd, ['check-ref-format', '--branch', branch]);
  if (r.exitCode !== 0 || branch.startsWith('-')) {
    throw usageError(
      'invalid-branch',
      `${JSON.stringify(branch)} is not a valid git branch name.`,
      'Use a name such as feature/my-change (see `git help check-ref-format`).',
    );
  }
}

export async function localBranchExists(repo: string, branch: string): Promise<boolean> {
  return (await git(repo, ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`])).exitCode === 0;
}

/** Remote-tracking branches named `branch` (e.g. origin/feat for feat). */
export async function remoteBranches(repo: string, branch: string): Promise<string[]> {
  const out = await gitOk(repo, ['for-each-ref', '--format=%(refname:short)', 'refs/remotes'], 'list remote branches');
  return out.split('\n').filter((r) => r.endsWith(`/${branch}`) && r.split('/').slice(1).join('/') === branch);
}

export async function headCommit(cwd: string, ref = 'HEAD'): Promise<string | undefined> {
  const r = await git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

export type BranchMode = { kind: 'existing'; branch: string } | { kind: 'new'; branch: string };

export async function addWorktree(repo: string, path: string, mode: BranchMode): Promise<void> {
  const args = ['worktree', 'add'];
  if (mode.kind === 'new') args.push('-b', mode.branch, path, 'HEAD');
  else args.push(path, mode.branch);
  const r = await git(repo, args);
  if (r.exitCode !== 0) {
    throw externalError(
      'worktree-add-failed',
      `git could not create the worktree ${path}: ${firstLine(r.stderr)}`,
      'Fix the problem git reports and run the command again; nothing was created.',
    );
  }
}

export async function currentBranch(cwd: string): Promise<string | undefined> {
  const r = await git(cwd, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/**
 * `git worktree remove`, with --force only when the user asked for it: git then
 * checks once more, at the very last moment, that nothing is modified or untracked.
 */
export async function removeWorktree(repo: string, path: string, force = false): Promise<void> {
  const r = await git(repo, ['worktree', 'remove', ...(force ? ['--force'] : []), path]);
  if (r.exitCode !== 0) {
    throw externalError(
      'worktree-remove-failed',
      `git could not remove the worktree ${path}: ${firstLine(r.stderr)}`,
      `Remove it by hand with: git worktree remove ${path}`,
    );
  }
  await git(repo, ['worktree', 'prune']);
}

/** Delete a branch kinfra itself created moments ago (rollback of a failed create). */
export async function deleteBranch(repo: string, branch: string): Promise<void> {
  await git(repo, ['branch', '-D', branch]);
}

/**
 * What git does not keep of a worktree: uncommitted paths (tracked or untracked, except `ignore`), nested
 * repositories (git lists those as untracked folders), and git-ignored paths outside `regenerable`.
 */
export async function uncommittedWork(
  worktree: string,
  ignore: readonly string[],
  isRegenerable: (path: string) => boolean,
): Promise<{ uncommitted: string[]; nestedRepos: string[]; ignored: string[] }> {
  const all = await uncommittedPaths(worktree, ignore);
  const ignoredOut = await gitOk(
    worktree,
    ['status', '--porcelain=v1', '-z', '--ignored=matching', '--untracked-files=normal'],
    'list ignored files',
  );
  const ignoredAll = ignoredOut
    .split('\0')
    .filter((f) => f.startsWith('!! '))
    .map((f) => f.slice(3));
  const ignored = ignoredAll.filter((p) => !isRegenerable(p));
  const nestedRepos = [
    ...all.filter((p) => p.endsWith('/')),
    ...ignored.filter((p) => p.endsWith('/') && existsSync(join(worktree, p, '.git'))),
  ].filter((p) => !isRegenerable(p));
  return {
    uncommitted: all.filter((p) => !p.endsWith('/')),
    nestedRepos,
    ignored: ignored.filter((p) => !nestedRepos.includes(p)),
  };
}

/** Paths with uncommitted changes (tracked or untracked), except the ones in `ignore`. */
export async function uncommittedPaths(worktree: string, ignore: readonly string[]): Promise<string[]> {
  const out = await gitOk(worktree, ['status', '--porcelain=v1', '-z', '--untracked-files=all'], 'read the status');
  const paths: string[] = [];
  const fields = out.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.length < 4) continue;
    const status = f.slice(0, 2);
    const path = f.slice(3);
    if (status.startsWith('R') || status.startsWith('C')) i++; // the next field is the old name
    if (!ignore.includes(path)) paths.push(path);
  }
  return paths;
}

/**
 * Commits reachable from HEAD but from no branch, tag or remote (`%h %s` each). The worktree's own branch
 * counts: destroy keeps it, so its commits are not lost (a detached HEAD's commits can be).
 */
export async function unsharedCommits(worktree: string): Promise<string[]> {
  const args = ['log', '--format=%h %s', 'HEAD', '--not', '--branches', '--tags', '--remotes'];
  const r = await git(worktree, args);
  if (r.exitCode !== 0) {
    // An unborn HEAD has no commits to lose.
    if (!(await headCommit(worktree))) return [];
    throw externalError(
      'git-failed',
      `git could not list the commits of ${worktree}: ${firstLine(r.stderr)}`,
      `Run \`git log HEAD --not --branches --tags --remotes\` in ${worktree} to see the full error.`,
    );
  }
  return r.stdout.split('\n').filter(Boolean);
}

/** Forget worktrees whose folders are gone (git's own admin entries; never touches a folder). */
export async function pruneWorktrees(repo: string): Promise<void> {
  await git(repo, ['worktree', 'prune']);
}

/**
 * Put back tracked files a killed `git worktree add` did not check out yet.
 * Existing files are never overwritten: the index is reset to HEAD (the work
 * tree is untouched) and only missing files are written.
 */
export async function restoreMissingFiles(worktree: string): Promise<void> {
  await gitOk(worktree, ['reset', '--quiet'], 'reset the index');
  // Exits 1 when some files already exist (which it leaves alone, as wanted).
  await git(worktree, ['checkout-index', '--all', '--quiet']);
}

/** Which of `paths` (relative to `repo`) git tracks there: those a new worktree checks out by itself. */
export async function trackedPaths(repo: string, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const r = await git(repo, ['ls-files', '-z', '--', ...paths]);
  return new Set(r.exitCode === 0 ? r.stdout.split('\0').filter(Boolean) : paths);
}
