// `kinfra sandbox create`: a new git worktree beside the main checkout, registered on a free slot or a pool slot.

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
import {
  chooseLease,
  claimLease,
  leaseEntryFields,
  leasePorts,
  leaseProfile,
  releaseLease,
  resetsOnClaim,
} from '../core/slot-lease.js';
import { findComposeFile, findComposeFiles } from './compose-file.js';
import { deriveLayout } from './derived-layout.js';
import { storeDerived } from '../core/derived-ports.js';
import { assertLayoutIsolatable } from './isolation.js';
import { copyNeededFiles } from './needed-files.js';
import { publishedPorts } from './published-ports.js';
import { finishLease, takeLease, type TakenLease } from './slot-lease.js';
import { freshInstanceId, instanceIdFor, requireSlug } from '../core/slug.js';
import { ownerId } from '../adapters/owner-id.js';
import { assertNameFreeOnEngine } from './ownership.js';
import type { AppContext } from './context.js';
import { reservedSlots } from './reserved-slots.js';
import type { SandboxSummary } from './sandbox-summary.js';
import { removeStaleEntries } from './stale.js';
import type { InstanceEntry } from '../core/registry/model.js';

export interface CreateRequest {
  name: string;
  branch?: string | undefined;
  slot?: number | undefined;
  /** Minimum pool profile; claims from the pool when one is provisioned. */
  profile?: string | undefined;
  /** Told each step as it starts (MCP's progress notifications; the CLI's --verbose). */
  onStep?: ((message: string) => void) | undefined;
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
  const configured = await loadConfig(root);
  // A checkout with no compose file (kinfra's own clone, say) would make a sandbox that only `up` refuses.
  findComposeFile(root, configured);
  if (req.branch !== undefined) await checkBranchName(root, req.branch);
  const owner = await ownerId(ctx.paths.ownerId);
  const wanted = instanceIdFor(configured.prefix, slug);
  // Outside the lock, like every engine and Compose call here: the layout's derived ports, and what the engine
  // already publishes (a slot that would need one of those is skipped).
  const step = req.onStep ?? (() => undefined);
  step(`Reading the compose layout of ${root}`);
  const [layout, busy] = await Promise.all([deriveLayout(root, configured), publishedPorts()]);
  assertLayoutIsolatable(layout, wanted);
  const config = layout.config;
  // Outside the lock (no engine call while other kinfra processes wait); the id is rechecked under it.
  await assertNameFreeOnEngine(wanted, join(dirname(root), wanted), owner, `create ${wanted}`);

  let made: { path: string; createdBranch: string | undefined } | undefined;
  let claimed: { summary: SandboxSummary; taken: TakenLease };
  try {
    claimed = await ctx.registry.update(async (registry, save) => {
      const worktrees = await listWorktrees(root);
      const cleaned = removeStaleEntries(registry);
      const instanceId = freshInstanceId(wanted, (id) => registry.instances[id]?.path, req.unique ?? false);
      const path = join(dirname(root), instanceId);
      if (instanceId !== wanted) await assertNameFreeOnEngine(instanceId, path, owner, `create ${instanceId}`);
      if (pathExists(path)) {
        throw conflictError(
          'directory-exists',
          `${path} already exists and is not a registered sandbox.`,
          `Choose another name, or turn that folder into a sandbox with: cd ${path} && kinfra sandbox init`,
        );
      }
      const reserved = await reservedSlots(ctx, worktrees, registry);
      const lease = chooseLease(registry, config, { slot: req.slot, profile: req.profile, busy }, reserved);
      const slot = lease.slot;

      // Without -b, like `git worktree add <path>`: a branch named after the folder.
      const mode = await branchMode(root, req.branch ?? basename(path), worktrees);
      const branch = mode.branch;
      const createdBranch = mode.kind === 'new' ? branch : undefined;
      const createdAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const ports = leasePorts(config, lease);
      const entry: InstanceEntry = {
        slot,
        path,
        created_at: createdAt,
        is_worktree: true,
        parent_repo: root,
        branch,
        created_worktree: true,
        ...leaseEntryFields(config, lease),
        ...(layout.derived.length > 0 ? { derived_ports: storeDerived(layout.derived) } : {}),
      };
      // The intent first: killed after this, the entry says a create was under way (doctor --repair finishes it).
      registry.instances[instanceId] = { ...entry, state: 'creating' };
      claimLease(registry, lease, instanceId, createdAt);
      await save();
      try {
        step(`Creating the worktree ${path} (branch ${branch}) on slot ${slot}`);
        await addWorktree(root, path, mode);
        made = { path, createdBranch };
        const holder = { instanceId, path, createdAt, createdWorktree: true, owner };
        const taken = await takeLease(ctx, config, registry, lease, holder);
        const copied: string[] = [];
        // A pool claim stays "creating" until its slot is reset, outside the lock (it talks to Docker).
        registry.instances[instanceId] = resetsOnClaim(lease) ? { ...entry, state: 'creating' } : entry;
        const { envFile } = taken;
        const profile = leaseProfile(lease);
        const configSource = config.source;
        const summary = { instanceId, slot, path, branch, ports, profile, envFile, configSource, cleaned, copied };
        return { summary, taken };
      } catch (e) {
        delete registry.instances[instanceId];
        releaseLease(registry, lease, instanceId);
        await save().catch(() => undefined);
        throw e;
      }
    });
  } catch (e) {
    if (made) await undoWorktree(root, made.path, made.createdBranch);
    throw e;
  }
  const undo = () => undoWorktree(root, made!.path, made!.createdBranch);
  if (claimed.taken.toReset) step(`Resetting pool slot ${claimed.summary.slot} for ${claimed.summary.instanceId}`);
  await finishLease(ctx, config.prefix, claimed.summary, claimed.taken, undo);
  // Outside the lock: a `copy:` folder may be large, and nothing else decides by these files.
  const files = findComposeFiles(root, configured);
  const compose = [files.file, ...files.overrides];
  step('Copying the git-ignored files the compose files read');
  claimed.summary.copied.push(...(await copyNeededFiles(root, claimed.summary.path, layout, config.copy, compose)));
  return claimed.summary;
}

async function branchMode(
  root: string,
  branch: string,
  worktrees: { path: string; branch: string | undefined }[],
): Promise<BranchMode> {
  const holder = worktrees.find((w) => w.branch === branch);
  if (holder) {
    throw conflictError(
      'branch-checked-out',
      `Branch ${branch} is already checked out in ${holder.path}.`,
      `A branch can be checked out in one worktree at a time. Use another branch (-b ${branch}-2), ` +
        `or work in ${holder.path}.`,
      { branch, worktree: holder.path },
    );
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
