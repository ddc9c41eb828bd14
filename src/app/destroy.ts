import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { listWorktrees, repoToplevel, uncommittedPaths, unsharedCommits, removeWorktree } from '../adapters/git.js';
import { conflictError, isKinfraError, KinfraError, notFoundError } from '../core/errors.js';
import { removeSandboxContainers } from './compose-commands.js';
import type { InstanceEntry, InstanceState, Registry } from '../core/registry/model.js';
import { CREATED_WORKTREE_KEY, ENV_FILE_NAME } from '../core/sandbox-env.js';
import { readTextIfExists, writeTextAtomic } from '../adapters/file-store.js';
import { slugify } from '../core/slug.js';
import { releaseClaimsOf } from '../core/registry/slots.js';
import type { AppContext } from './context.js';

export interface DestroyRequest {
  /** Instance id or name; undefined means the sandbox that holds cwd. */
  name?: string | undefined;
  keepWorktree: boolean;
  /** Skip the work-at-risk check (and the confirmation). */
  force: boolean;
  /** Asked once the plan is known; false cancels. */
  confirm: (plan: DestroyPlan) => Promise<boolean>;
}

export interface DestroyPlan {
  instanceId: string;
  slot: number;
  path: string;
  branch: string | undefined;
  /** The folder will be removed (a worktree kinfra created), not just unregistered. */
  removesFolder: boolean;
  /** Why the folder is kept, when it is. */
  keepReason: string | null;
  uncommitted: string[];
  unsharedCommits: string[];
}

export interface DestroyResult extends DestroyPlan {
  cancelled: boolean;
  /** Containers and volumes removed first; null when Docker could not be asked (only with --force). */
  removed: { containers: number; volumes: number } | null;
  /** Why containers were not removed, when they were not. */
  engineWarning: string | null;
}

/**
 * `kinfra sandbox destroy`: unregister a sandbox and remove the worktree kinfra
 * made for it. It never removes a folder it did not create, and never one with
 * work at risk unless forced (the branch itself is always kept).
 */
export async function destroySandbox(ctx: AppContext, req: DestroyRequest): Promise<DestroyResult> {
  const registry = await ctx.registry.read();
  const [instanceId, entry] = await findInstance(ctx, registry, req.name);
  const plan = await planDestroy(instanceId, entry, req.keepWorktree);

  const atRisk = plan.removesFolder && (plan.uncommitted.length > 0 || plan.unsharedCommits.length > 0);
  if (atRisk && !req.force) {
    const lines = [
      ...plan.uncommitted.slice(0, 10).map((p) => `  uncommitted: ${p}`),
      ...plan.unsharedCommits.slice(0, 10).map((c) => `  commit on no other branch or remote: ${c}`),
    ];
    const more = plan.uncommitted.length + plan.unsharedCommits.length - lines.length;
    throw conflictError('work-at-risk',
      `Refusing to destroy ${instanceId}: ${plan.path} has work that would be lost:\n${lines.join('\n')}${more > 0 ? `\n  ... and ${more} more` : ''}`,
      `Commit and push it (or merge the branch), use --keep-worktree to unregister only, or --force to remove it anyway` +
        `${plan.branch ? ` (branch ${plan.branch} is kept either way)` : ''}.`,
      { uncommitted: plan.uncommitted, unsharedCommits: plan.unsharedCommits });
  }
  if (!(await req.confirm(plan))) return { ...plan, cancelled: true, removed: null, engineWarning: null };

  // The intent first: killed after this, the entry says a destroy was under way (doctor reports it).
  await markState(ctx, instanceId, entry, 'destroying');
  let removed: DestroyResult['removed'] = null;
  let engineWarning: string | null = null;
  try {
    // Containers and volumes first, while the compose file still exists.
    removed = await removeSandboxContainers(instanceId, entry.path);
  } catch (e) {
    if (!(isKinfraError(e) && e.category === 'engine' && req.force)) {
      await markState(ctx, instanceId, entry, undefined).catch(() => undefined);
      if (isKinfraError(e) && e.category === 'engine') {
        throw new KinfraError('engine', e.code, `${e.message} destroy stops the sandbox's containers first.`,
          `${e.hint ?? ''} Or pass --force to destroy anyway; its containers, if any, then show as orphans in kinfra sandbox list.`.trim());
      }
      throw e;
    }
    engineWarning = `${e.message} Containers of ${instanceId}, if any, were left running.`;
  }

  await ctx.registry.update(async (current) => {
    const now = current.instances[instanceId];
    if (!now || now.path !== entry.path) {
      throw notFoundError('instance-gone', `${instanceId} was removed by another kinfra process meanwhile.`, 'Nothing to do.');
    }
    delete current.instances[instanceId];
    // Its pool slot (if any) is free again; its volumes were removed above.
    releaseClaimsOf(current, instanceId);
    if (plan.removesFolder && existsSync(plan.path)) await removeWorktree(entry.parent_repo, plan.path);
    // A kept worktree must not keep pointing at the pool slot it gave back.
    else if (entry.pool_slot !== undefined) await rm(join(plan.path, ENV_FILE_NAME), { force: true });
    // A kept folder is the user's now: initialised again, destroy must not remove it.
    else if (existsSync(plan.path)) await dropCreatedMark(plan.path);
  });
  return { ...plan, cancelled: false, removed, engineWarning };
}

async function dropCreatedMark(dir: string): Promise<void> {
  const file = join(dir, ENV_FILE_NAME);
  const text = await readTextIfExists(file);
  const kept = text?.split('\n').filter((l) => !l.startsWith(`${CREATED_WORKTREE_KEY}=`)).join('\n');
  if (text !== undefined && kept !== text) await writeTextAtomic(file, kept!);
}

/** Set (or clear) the in-progress state of an entry, if it is still the same sandbox. */
async function markState(ctx: AppContext, instanceId: string, entry: InstanceEntry, state: InstanceState | undefined): Promise<void> {
  await ctx.registry.update((current) => {
    const now = current.instances[instanceId];
    if (!now || now.path !== entry.path) {
      throw notFoundError('instance-gone', `${instanceId} was removed by another kinfra process meanwhile.`, 'Nothing to do.');
    }
    if (state) now.state = state;
    else delete now.state;
  });
}

async function findInstance(ctx: AppContext, registry: Registry, name: string | undefined): Promise<[string, InstanceEntry]> {
  const all = Object.entries(registry.instances);
  if (name !== undefined) {
    const exact = all.find(([id]) => id === name);
    if (exact) return exact;
    const slug = slugify(name);
    const bySlug = all.filter(([id]) => slug !== '' && id.endsWith(`--${slug}`));
    if (bySlug.length === 1) return bySlug[0]!;
    if (bySlug.length > 1) {
      throw notFoundError('ambiguous-name', `${name} matches several sandboxes: ${bySlug.map(([id]) => id).join(', ')}.`, 'Name one by its full id.');
    }
    throw notFoundError('unknown-instance', `No sandbox named ${name} is registered.`, 'See the registered sandboxes with: kinfra sandbox list');
  }
  const top = await repoToplevel(ctx.cwd).catch(() => undefined);
  const mine = top && all.find(([, e]) => e.path === top);
  if (!mine) {
    throw notFoundError('not-in-sandbox', `${top ?? ctx.cwd} is not a registered sandbox.`,
      'Run destroy inside a sandbox folder, or name one: kinfra sandbox destroy <name> (see kinfra sandbox list).');
  }
  return mine;
}

async function planDestroy(instanceId: string, e: InstanceEntry, keepWorktree: boolean): Promise<DestroyPlan> {
  const base = { instanceId, slot: e.slot, path: e.path, branch: e.branch, uncommitted: [] as string[], unsharedCommits: [] as string[] };
  const keep = (keepReason: string): DestroyPlan => ({ ...base, removesFolder: false, keepReason });
  if (keepWorktree) return keep('--keep-worktree');
  if (!existsSync(e.path)) return keep('the folder no longer exists');
  // Entries migrated from the Python tool have no created_worktree; it only registered worktrees it made.
  if (!(e.created_worktree ?? e.is_worktree)) return keep('kinfra did not create this folder (it was initialised with init)');
  const worktrees = await listWorktrees(e.parent_repo).catch(() => []);
  const idx = worktrees.findIndex((w) => w.path === e.path);
  if (idx <= 0) return keep(`it is not a linked worktree of ${e.parent_repo}`);
  const branch = worktrees[idx]!.branch;
  return {
    ...base,
    branch,
    removesFolder: true,
    keepReason: null,
    uncommitted: await uncommittedPaths(e.path, [ENV_FILE_NAME]),
    unsharedCommits: await unsharedCommits(e.path, branch),
  };
}
