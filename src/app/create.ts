import { basename, dirname, join } from 'node:path';
import {
  addWorktree,
  checkBranchName,
  deleteBranch,
  localBranchExists,
  listWorktrees,
  mainRoot,
  remoteBranches,
  removeWorktree,
  type BranchMode,
} from '../adapters/git.js';
import { loadConfig } from '../adapters/config-loader.js';
import { pathExists } from '../adapters/folders.js';
import { conflictError } from '../core/errors.js';
import { portsForSlot } from '../core/ports.js';
import { slotProject } from '../core/pool.js';
import { findComposeFile } from './compose-file.js';
import { recordClaim, resetSlot } from './pool.js';
import { pickPoolSlot, poolPorts } from './pool-claim.js';
import { allocateSlot, checkRequestedSlot } from '../core/registry/slots.js';
import { freshInstanceId, instanceIdFor, requireSlug } from '../core/slug.js';
import { ownerId } from '../adapters/owner-id.js';
import { assertNameFreeOnEngine } from './ownership.js';
import type { AppContext } from './context.js';
import { writeSandboxEnv } from '../adapters/env-store.js';
import { reservedSlots } from './reserved-slots.js';
import type { SandboxSummary } from './sandbox-summary.js';
import { removeStaleEntries } from './stale.js';
import type { InstanceEntry, SlotEntry } from '../core/registry/model.js';

export interface CreateRequest {
  name: string;
  branch?: string | undefined;
  slot?: number | undefined;
  /** Minimum pool profile; claims from the pool when one is provisioned. */
  profile?: string | undefined;
  /** Add a numeric suffix when the name is taken, instead of refusing. */
  unique?: boolean | undefined;
}

/**
 * `kinfra sandbox create`: a git worktree beside the main checkout, a slot, a
 * .env.sandbox and a registry entry, all under the registry lock so parallel
 * creates never share a slot. If any step fails, what this call made is undone.
 */
export async function createSandbox(ctx: AppContext, req: CreateRequest): Promise<SandboxSummary> {
  const slug = requireSlug(req.name);
  const root = await mainRoot(ctx.cwd);
  const config = await loadConfig(root);
  // A checkout with no compose file (kinfra's own clone, say) would make a sandbox that only `up` refuses.
  findComposeFile(root, config);
  if (req.branch !== undefined) await checkBranchName(root, req.branch);
  const owner = await ownerId(ctx.paths.ownerId);
  const wanted = instanceIdFor(config.prefix, slug);
  // Outside the lock (no engine call while other kinfra processes wait); the id is rechecked under it.
  await assertNameFreeOnEngine(wanted, join(dirname(root), wanted), owner, `create ${wanted}`);

  let made: { path: string; createdBranch: string | undefined } | undefined;
  let claimed: { summary: SandboxSummary; slot: SlotEntry | undefined };
  try {
    claimed = await ctx.registry.update(async (registry, save) => {
      const worktrees = await listWorktrees(root);
      const cleaned = removeStaleEntries(registry);
      const instanceId = freshInstanceId(wanted, (id) => registry.instances[id]?.path, req.unique ?? false);
      const path = join(dirname(root), instanceId);
      if (instanceId !== wanted) await assertNameFreeOnEngine(instanceId, path, owner, `create ${instanceId}`);
      if (pathExists(path)) {
        throw conflictError('directory-exists', `${path} already exists and is not a registered sandbox.`,
          `Choose another name, or turn that folder into a sandbox with: cd ${path} && kinfra sandbox init`);
      }
      const reserved = await reservedSlots(ctx, worktrees, registry);
      const plan = { maxSlot: config.maxSlot, ports: config.ports };
      const poolSlot = pickPoolSlot(registry, config, req.slot, req.profile, reserved);
      const slot = poolSlot ? poolSlot.slot_id
        : req.slot !== undefined ? checkRequestedSlot(registry, plan, req.slot, reserved) : allocateSlot(registry, plan, reserved);

      // Without -b, like `git worktree add <path>`: a branch named after the folder.
      const mode = await branchMode(root, req.branch ?? basename(path), worktrees);
      const branch = mode.branch;
      const createdBranch = mode.kind === 'new' ? branch : undefined;
      const createdAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const ports = poolSlot ? poolPorts(config, poolSlot) : portsForSlot(config.ports, slot);
      const entry: InstanceEntry = {
        slot,
        path,
        created_at: createdAt,
        is_worktree: true,
        parent_repo: root,
        branch,
        created_worktree: true,
        ports: Object.fromEntries(ports.map((p) => [p.name, p.port])),
        ...(poolSlot ? { pool_slot: slot, compose_project: slotProject(config.prefix, slot) } : {}),
      };
      // The intent first: killed after this, the entry says a create was under way (doctor --repair finishes it).
      registry.instances[instanceId] = { ...entry, state: 'creating' };
      if (poolSlot) Object.assign(poolSlot, { claimed_by: instanceId, claimed_at: createdAt });
      await save();
      try {
        await addWorktree(root, path, mode);
        made = { path, createdBranch };
        const envFile = poolSlot
          ? await recordClaim(ctx, config, registry, poolSlot, instanceId, path, createdAt, true, owner)
          : await writeSandboxEnv(config, path, instanceId, slot, ctx.paths.home, createdAt, true, owner);
        // A pool claim stays "creating" until its slot is reset, outside the lock (it talks to Docker).
        registry.instances[instanceId] = poolSlot ? { ...entry, state: 'creating' } : entry;
        return {
          summary: { instanceId, slot, path, branch, ports, profile: poolSlot?.profile, envFile, configSource: config.source, cleaned },
          slot: poolSlot ? { ...poolSlot } : undefined,
        };
      } catch (e) {
        delete registry.instances[instanceId];
        if (poolSlot) Object.assign(poolSlot, { claimed_by: null, claimed_at: null });
        await save().catch(() => undefined);
        throw e;
      }
    });
  } catch (e) {
    if (made) await undoWorktree(root, made.path, made.createdBranch);
    throw e;
  }
  if (claimed.slot) await finishPoolClaim(ctx, config.prefix, claimed.summary, claimed.slot, () => undoWorktree(root, made!.path, made!.createdBranch));
  return claimed.summary;
}

/**
 * Reset a freshly claimed pool slot (a reused slot must not inherit the previous database) with the registry lock
 * released, so a slow engine never blocks every other kinfra command; then the claim is complete. If the reset
 * fails, the claim is undone.
 */
export async function finishPoolClaim(
  ctx: AppContext, prefix: string, s: SandboxSummary, slot: SlotEntry, undo: () => Promise<void>,
): Promise<void> {
  try {
    await resetSlot(ctx, prefix, slot);
  } catch (e) {
    await ctx.registry.update((r) => {
      if (r.instances[s.instanceId]?.path === s.path) delete r.instances[s.instanceId];
      const cur = r.slots[String(slot.slot_id)];
      if (cur?.claimed_by === s.instanceId) Object.assign(cur, { claimed_by: null, claimed_at: null });
    }).catch(() => undefined);
    await undo().catch(() => undefined);
    throw e;
  }
  await ctx.registry.update((r) => {
    const e = r.instances[s.instanceId];
    if (e?.path === s.path && e.state === 'creating') delete e.state;
  });
}

async function branchMode(root: string, branch: string, worktrees: { path: string; branch: string | undefined }[]): Promise<BranchMode> {
  const holder = worktrees.find((w) => w.branch === branch);
  if (holder) {
    throw conflictError('branch-checked-out', `Branch ${branch} is already checked out in ${holder.path}.`,
      `A branch can be checked out in one worktree at a time. Use another branch (-b ${branch}-2), ` +
        `or work in ${holder.path}.`, { branch, worktree: holder.path });
  }
  if (await localBranchExists(root, branch)) return { kind: 'existing', branch };
  if ((await remoteBranches(root, branch)).length === 1) return { kind: 'existing', branch };
  return { kind: 'new', branch };
}

async function undoWorktree(root: string, path: string, createdBranch: string | undefined): Promise<void> {
  // --force: kinfra made this worktree moments ago and nothing else wrote to it.
  await removeWorktree(root, path, true).catch(() => undefined);
  if (createdBranch) await deleteBranch(root, createdBranch).catch(() => undefined);
}
