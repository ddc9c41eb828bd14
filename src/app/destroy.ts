// `kinfra sandbox destroy`: removes a sandbox's resources, worktree and registry entry, and refuses when work
// would be lost.

import { join } from 'node:path';
import { entryConfig } from './entry-config.js';
import { readEnvFile } from '../adapters/env-store.js';
import { readTextIfExists, writeTextAtomic } from '../adapters/file-store.js';
import { removeGateRecord } from '../adapters/gate-records.js';
import { pathExists, removeFile, sameFileContent, sameTreeContent } from '../adapters/folders.js';
import { listWorktrees, removeWorktree, uncommittedWork, unsharedCommits } from '../adapters/git.js';
import { ownerId } from '../adapters/owner-id.js';
import type { Config } from '../core/config/config.js';
import { conflictError, isKinfraError, KinfraError, notFoundError } from '../core/errors.js';
import type { Stamp } from '../core/ownership.js';
import type { InstanceEntry, InstanceState, Registry } from '../core/registry/model.js';
import { releaseClaimsOf } from '../core/registry/slots.js';
import { dropRecord } from '../core/database/record.js';
import { databaseFootprint } from './database-footprint.js';
import { ENV_FILE_NAME } from '../core/sandbox-env.js';
import { hasWork, isRegenerable, noWork, workLines, type WorkAtRisk } from '../core/work-at-risk.js';
import type { AppContext } from './context.js';
import { envDisagreement, envDisagreesError } from './env-agreement.js';
import { entryByName, entryHolding } from './sandbox-entry.js';
import { forgetAdopted, projectInventory, removeOwned, type Removal } from './ownership.js';

export interface DestroyRequest {
  /** Instance id or name; undefined means the sandbox that holds cwd. */
  name?: string | undefined;
  keepWorktree: boolean;
  /** Skip the work-at-risk check (and the confirmations). */
  force: boolean;
  /** Asked once the plan is known; false cancels. */
  confirm: (plan: DestroyPlan) => Promise<boolean>;
  /**
   * Asked about volumes of the sandbox's project that carry no owner label and were never adopted (made before
   * kinfra labelled its resources): true removes them. Not skipped by --yes; --force removes them without asking.
   */
  confirmUnlabelled: (volumes: readonly string[]) => Promise<boolean>;
}

export interface DestroyPlan extends WorkAtRisk {
  instanceId: string;
  slot: number;
  path: string;
  branch: string | undefined;
  /** The folder will be removed (a worktree kinfra created), not just unregistered. */
  removesFolder: boolean;
  /** Why the folder is kept, when it is. */
  keepReason: string | null;
  /** The database that goes with it (its live volume's size, its snapshots), when kinfra knows of one. */
  database: { volume: string; bytes: number | null; snapshots: number } | null;
}

export interface DestroyResult extends DestroyPlan {
  cancelled: boolean;
  /** Containers and volumes removed first; null when Docker could not be asked (only with --force). */
  removed: { containers: number; volumes: number } | null;
  /** Unlabelled volumes of its project that nobody confirmed are its own: left on the engine. */
  keptVolumes: string[];
  /** Why containers were not removed, when they were not. */
  engineWarning: string | null;
}

/**
 * `kinfra sandbox destroy`: remove a sandbox's own containers and volumes,
 * unregister it and remove the worktree kinfra made for it. The registry
 * decides what the sandbox is; its .env.sandbox must agree. Work at risk is
 * checked before anything happens and again at the last moment, under the lock,
 * and git removes the worktree without --force unless the user gave --force.
 */
export async function destroySandbox(ctx: AppContext, req: DestroyRequest): Promise<DestroyResult> {
  const registry = await ctx.registry.snapshot();
  const [instanceId, entry] =
    req.name !== undefined ? entryByName(registry, req.name) : entryHolding(registry, ctx.cwd);
  const dir = pathExists(entry.path) ? entry.path : entry.parent_repo;
  const config = await entryConfig(dir, entry).catch(() => undefined);
  // --force acts on the registry's project and folder all the same: nothing the file names is followed.
  if (config && pathExists(entry.path) && !req.force) {
    const env = await readEnvFile(entry.path).catch((e: unknown) => (e as Error).message);
    const why =
      typeof env === 'string'
        ? `it cannot be read (${env})`
        : env === undefined
          ? undefined
          : envDisagreement(env, instanceId, entry, config);
    if (why) throw envDisagreesError(instanceId, entry.path, why);
  }
  const regenerable = config?.regenerable ?? [];
  let plan: DestroyPlan;
  try {
    plan = await planDestroy(instanceId, entry, req.keepWorktree, regenerable);
  } catch (e) {
    throw await removedMeanwhile(ctx, instanceId, entry, e);
  }
  if (plan.removesFolder && hasWork(plan) && !req.force) throw workAtRisk(plan, plan, false);
  plan.database = await databaseFootprint(registry, entry.compose_project ?? instanceId).catch(() => null);
  if (!(await req.confirm(plan)))
    return { ...plan, cancelled: true, removed: null, keptVolumes: [], engineWarning: null };

  const stamp = await stampOf(ctx, registry, instanceId, entry);
  // The intent first: killed after this, the entry says a destroy was under way (doctor reports it).
  await markState(ctx, instanceId, entry, 'destroying');
  let removal: Removal | null = null;
  let engineWarning: string | null = null;
  try {
    const inv = await projectInventory(stamp, registry);
    const unlabelled = inv.unproven.filter((r) => r.kind === 'volume').map((r) => r.name);
    const confirmed =
      unlabelled.length > 0 && (req.force || (await req.confirmUnlabelled(unlabelled))) ? unlabelled : [];
    // Containers and volumes first (seed 002's order), and only those this registry owns.
    removal = await removeOwned(inv, confirmed);
  } catch (e) {
    if (!(isKinfraError(e) && e.category === 'engine' && req.force)) {
      await markState(ctx, instanceId, entry, undefined).catch(() => undefined);
      if (isKinfraError(e) && e.category === 'engine') {
        throw new KinfraError(
          'engine',
          e.code,
          `${e.message} destroy stops the sandbox's containers first.`,
          (
            `${e.hint} Or pass --force to destroy anyway; its containers, if any, ` +
            `then show as orphans in kinfra sandbox list.`
          ).trim(),
        );
      }
      throw e;
    }
    engineWarning = `${e.message} Containers of ${instanceId}, if any, were left running.`;
  }

  await ctx.registry.update(async (current, save) => {
    const now = current.instances[instanceId];
    if (!now || now.path !== entry.path) {
      throw goneMeanwhile(instanceId);
    }
    if (plan.removesFolder && pathExists(plan.path)) {
      await removeFolder(now, plan, req.force, regenerable, save);
    } else if (pathExists(plan.path)) {
      // A kept folder must not be able to run on the slot it gives back, nor be registered again from it.
      await removeOwnEnvFile(plan.path, instanceId);
    }
    delete current.instances[instanceId];
    releaseClaimsOf(current, instanceId);
    if (removal && removal.keptVolumes.length === 0) forgetAdopted(current, stamp.sandbox);
    // Its database's volumes (live, reset point, snapshots) carry its labels: removed with the others above.
    if (removal) dropRecord(current, stamp.sandbox);
  });
  // Its last gate goes with it: a sandbox created again under the id starts with none.
  removeGateRecord(ctx.paths.gatesDir, instanceId);
  // A claim of a warm pool slot gives the slot back: it is filled again, as release does.
  const slot = entry.pool_slot !== undefined ? registry.slots[String(entry.pool_slot)] : undefined;
  const warmFrom = (slot?.db_warm_from as { from?: unknown } | undefined)?.from;
  if (removal && slot && typeof warmFrom === 'string') {
    const { rewarmInBackground } = await import('./database-pool.js');
    rewarmInBackground(ctx, slot.slot_id, warmFrom);
  }
  return {
    ...plan,
    cancelled: false,
    removed: removal && { containers: removal.containers, volumes: removal.volumes },
    keptVolumes: removal?.keptVolumes ?? [],
    engineWarning,
  };
}

/**
 * Under the registry lock, at the last moment: look at the worktree again (a file may have been written since
 * the first look), then let git remove it, itself refusing modified or untracked files unless --force.
 */
async function removeFolder(
  now: InstanceEntry,
  plan: DestroyPlan,
  force: boolean,
  regenerable: readonly string[],
  save: () => Promise<void>,
): Promise<void> {
  const latest = await workIn(plan.path, regenerable, now.parent_repo);
  if (hasWork(latest) && !force) {
    delete now.state;
    await save();
    throw workAtRisk(plan, latest, true);
  }
  // Recorded before git starts: a kill mid-removal leaves an entry saying kinfra
  // had checked and begun (doctor finishes it).
  now.state = 'removing-worktree';
  await save();
  const envFile = join(plan.path, ENV_FILE_NAME);
  const envText = await readTextIfExists(envFile);
  // kinfra's own untracked file: git would refuse over it.
  await removeFile(envFile);
  try {
    await removeWorktree(now.parent_repo, plan.path, force);
  } catch (e) {
    if (envText !== undefined && pathExists(plan.path)) await writeTextAtomic(envFile, envText).catch(() => undefined);
    delete now.state;
    await save();
    if (isKinfraError(e) && e.code === 'worktree-remove-failed' && pathExists(plan.path)) {
      const left = await workIn(plan.path, regenerable, now.parent_repo).catch(() => noWork());
      throw workAtRisk(plan, left, true, e.message);
    }
    throw e;
  }
}

function workAtRisk(plan: DestroyPlan, w: WorkAtRisk, late: boolean, gitSaid?: string): KinfraError {
  const lines = workLines(w);
  const after = late
    ? ' It appeared after destroy first looked; its containers and volumes are already removed, ' +
      'the folder and its registration are kept.'
    : '';
  return conflictError(
    'work-at-risk',
    `Refusing to destroy ${plan.instanceId}: ${plan.path} has work that would be ` +
      `lost:\n${lines.join('\n') || `  ${gitSaid ?? 'git refused to remove it'}`}${after}`,
    `Commit and push it (or merge the branch), use --keep-worktree to unregister only, or --force to remove it anyway` +
      `${plan.branch ? ` (branch ${plan.branch} is kept either way)` : ''}.`,
    { uncommitted: w.uncommitted, ignored: w.ignored, nestedRepos: w.nestedRepos, unsharedCommits: w.unsharedCommits },
  );
}

/** Remove the .env.sandbox of a folder destroy keeps, if it is this sandbox's (never someone else's file). */
async function removeOwnEnvFile(dir: string, instanceId: string): Promise<void> {
  const env = await readEnvFile(dir).catch(() => undefined);
  if (env?.INSTANCE_ID === instanceId) await removeFile(join(dir, ENV_FILE_NAME));
}

/** The labels its resources carry: its own project and folder, or the pool slot's it holds. */
async function stampOf(ctx: AppContext, registry: Registry, id: string, e: InstanceEntry): Promise<Stamp> {
  const slot = e.pool_slot !== undefined ? registry.slots[String(e.pool_slot)] : undefined;
  const heldSlot = slot?.claimed_by === id ? slot : undefined;
  return {
    owner: await ownerId(ctx.paths.ownerId),
    sandbox: e.compose_project ?? id,
    path: heldSlot?.infrastructure_path ?? e.path,
  };
}

/** Set (or clear) the in-progress state of an entry, if it is still the same sandbox. */
async function markState(
  ctx: AppContext,
  instanceId: string,
  entry: InstanceEntry,
  state: InstanceState | undefined,
): Promise<void> {
  await ctx.registry.update((current) => {
    const now = current.instances[instanceId];
    if (!now || now.path !== entry.path) {
      throw goneMeanwhile(instanceId);
    }
    if (state) now.state = state;
    else delete now.state;
  });
}

/**
 * What the worktree holds that git does not keep. A git-ignored file identical to the main checkout's (`main`) is
 * no work at risk: it is the copy create made of a .env or an env_file, and the main checkout still has it.
 */
async function workIn(path: string, regenerable: readonly string[], main?: string): Promise<WorkAtRisk> {
  const files = await uncommittedWork(path, [ENV_FILE_NAME], (p) => isRegenerable(p, regenerable));
  const copies = main === undefined ? [] : await sameAsIn(path, main, files.ignored);
  return {
    ...files,
    ignored: files.ignored.filter((p) => !copies.includes(p)),
    unsharedCommits: await unsharedCommits(path),
  };
}

async function sameAsIn(path: string, main: string, rels: readonly string[]): Promise<string[]> {
  const same: string[] = [];
  for (const rel of rels) {
    const identical = rel.endsWith('/') ? sameTreeContent : sameFileContent;
    if (await identical(join(path, rel), join(main, rel))) same.push(rel);
  }
  return same;
}

async function planDestroy(
  instanceId: string,
  e: InstanceEntry,
  keepWorktree: boolean,
  regenerable: Config['regenerable'],
): Promise<DestroyPlan> {
  const base = { instanceId, slot: e.slot, path: e.path, branch: e.branch, database: null, ...noWork() };
  const keep = (keepReason: string): DestroyPlan => ({ ...base, removesFolder: false, keepReason });
  if (keepWorktree) return keep('--keep-worktree');
  if (!pathExists(e.path)) return keep('the folder no longer exists');
  // Entries migrated from the Python tool have no created_worktree; it only registered worktrees it made.
  if (!(e.created_worktree ?? e.is_worktree))
    return keep('kinfra did not create this folder (it was initialised with init)');
  const worktrees = await listWorktrees(e.parent_repo).catch(() => []);
  const idx = worktrees.findIndex((w) => w.path === e.path);
  if (idx <= 0) return keep(`it is not a linked worktree of ${e.parent_repo}`);
  return {
    ...base,
    branch: worktrees[idx]!.branch,
    removesFolder: true,
    keepReason: null,
    ...(await workIn(e.path, regenerable, e.parent_repo)),
  };
}

/**
 * Looking at the folder failed (git found it vanished, say): when another destroy of the same sandbox removed it
 * meanwhile, that is what to say (asked under the lock, so that destroy has finished). Otherwise the failure as it is.
 */
async function removedMeanwhile(ctx: AppContext, id: string, entry: InstanceEntry, e: unknown): Promise<unknown> {
  const still = await ctx.registry.update((r) => r.instances[id]?.path === entry.path).catch(() => true);
  return still ? e : goneMeanwhile(id);
}

const goneMeanwhile = (instanceId: string) =>
  notFoundError('instance-gone', `${instanceId} was removed by another kinfra process meanwhile.`, 'Nothing to do.');
