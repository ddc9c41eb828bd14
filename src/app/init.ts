// `kinfra sandbox init`: makes an existing folder a sandbox, or registers again one whose .env.sandbox survived.

import { basename, join } from 'node:path';
import { listWorktrees, repoToplevel, currentBranch } from '../adapters/git.js';
import { deriveLayout } from './derived-layout.js';
import { findComposeFiles } from './compose-file.js';
import { storeDerived } from '../core/derived-ports.js';
import { assertLayoutIsolatable } from './isolation.js';
import { publishedPorts } from './published-ports.js';
import { loadConfig } from '../adapters/config-loader.js';
import { readEnvFile } from '../adapters/env-store.js';
import { pathExists, removeFile } from '../adapters/folders.js';
import { CONFIG_FILE_NAME } from '../core/config/config.js';
import { conflictError, isKinfraError, KinfraError, notFoundError, usageError } from '../core/errors.js';
import type { EnvMap } from '../core/env-file.js';
import { chooseLease, leaseEntryFields, leasePorts, leaseProfile } from '../core/slot-lease.js';
import { CREATED_WORKTREE_KEY, ENV_FILE_NAME, identityFromEnv } from '../core/sandbox-env.js';
import { COMPOSE_PROJECT_NAME, freshInstanceId, instanceIdFor, requireSlug } from '../core/slug.js';
import { ownerId } from '../adapters/owner-id.js';
import { assertNameFreeOnEngine } from './ownership.js';
import type { AppContext } from './context.js';
import { reservedSlots } from './reserved-slots.js';
import type { SandboxSummary } from './sandbox-summary.js';
import { finishLease, takeLease } from './slot-lease.js';
import { removeStaleEntries } from './stale.js';

export interface InitRequest {
  slot?: number | undefined;
  name?: string | undefined;
  profile?: string | undefined;
  /** Only a slot of the provisioned pool will do (the `claim` tool): refuse rather than take an ad-hoc slot. */
  fromPool?: boolean | undefined;
}

export interface InitSummary extends SandboxSummary {
  /** True when an existing .env.sandbox was re-registered (e.g. after a registry loss). */
  adopted: boolean;
}

/**
 * `kinfra sandbox init`: make the checkout that holds cwd (a clone or a worktree
 * kinfra did not create) a sandbox. A folder that already has a .env.sandbox but
 * no registry entry is re-registered on the slot its file names, if still free.
 */
export async function initSandbox(ctx: AppContext, req: InitRequest): Promise<InitSummary> {
  const top = await repoToplevel(ctx.cwd);
  const worktrees = await listWorktrees(top);
  const mainPath = worktrees[0]?.path ?? top;
  const configured = await loadConfig(top, mainPath);
  const hasProjectFile = pathExists(join(top, CONFIG_FILE_NAME)) || hasComposeFiles(top, configured);
  if (!hasProjectFile) {
    throw usageError(
      'not-a-project',
      `${top} has no compose file (looked for ${configured.composeFiles.join(', ')}) and no ${CONFIG_FILE_NAME}.`,
      `Run init in a checkout of your project, or add a ${CONFIG_FILE_NAME} that names its compose file.`,
    );
  }
  const adopt = await readAdoptable(top);
  // This checkout's own compose files decide its derived ports (a branch may publish more than main's), and what the
  // engine publishes for anything but this folder's own project decides which slots are free.
  const [layout, busy] = await Promise.all([deriveLayout(top, configured), publishedPorts(adopt?.instanceId)]);
  const config = layout.config;
  const existing = adopt?.env;
  const slug = req.name !== undefined ? requireSlug(req.name) : undefined;
  const branch = await currentBranch(top);
  const owner = await ownerId(ctx.paths.ownerId);
  const wanted =
    slug !== undefined
      ? instanceIdFor(config.prefix, slug)
      : (adopt?.instanceId ?? defaultId(config.prefix, basename(top)));
  await assertNameFreeOnEngine(wanted, top, owner, `initialise ${top} as ${wanted}`);
  assertLayoutIsolatable(layout, wanted);

  const done = await ctx.registry.update(async (registry) => {
    const cleaned = removeStaleEntries(registry);
    const mine = Object.entries(registry.instances).find(([, e]) => e.path === top);
    if (mine) {
      throw conflictError(
        'already-initialised',
        `${top} is already the sandbox ${mine[0]} (slot ${mine[1].slot}).`,
        'Use `kinfra sandbox status` to see it, or `kinfra sandbox destroy --keep-worktree` ' +
          'first to initialise it again.',
      );
    }
    const baseId = wanted;
    // The safe reading of the design's two answers: a taken id is refused, never silently suffixed.
    const instanceId = freshInstanceId(baseId, (id) => registry.instances[id]?.path, false, 'init');
    // Slots other unregistered sandboxes of this repository, or the Python tool, still hold: the rule create follows
    // (this folder's own file, and its own Python entry, are the ones being adopted).
    const reserved = await reservedSlots(
      ctx,
      worktrees.filter((w) => w.path !== top),
      registry,
      top,
    );
    // The slot its .env.sandbox names is kept while free: re-registered after a registry loss, it keeps its ports.
    const lease = chooseLease(
      registry,
      config,
      { slot: req.slot, profile: req.profile, keep: adopt?.slot, busy },
      reserved,
    );
    if (req.fromPool && lease.kind !== 'pool') throw noPool();
    const slot = lease.slot;

    const createdAt = (adopt && existing?.CREATED_AT) || new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const taken = await takeLease(ctx, config, registry, lease, { instanceId, path: top, createdAt });
    const ports = leasePorts(config, lease);
    registry.instances[instanceId] = {
      slot,
      path: top,
      created_at: createdAt,
      is_worktree: top !== mainPath,
      parent_repo: mainPath,
      ...(branch ? { branch } : {}),
      // A worktree `create` made (its .env.sandbox says so), re-registered after a
      // registry loss: destroy may still remove it.
      created_worktree: adopt !== undefined && top !== mainPath && existing?.[CREATED_WORKTREE_KEY] === 'true',
      ...leaseEntryFields(config, lease),
      ...(layout.derived.length > 0 ? { derived_ports: storeDerived(layout.derived) } : {}),
    };
    return {
      instanceId,
      slot,
      path: top,
      branch,
      ports,
      profile: leaseProfile(lease),
      envFile: taken.envFile,
      configSource: config.source,
      cleaned,
      copied: [],
      adopted: adopt !== undefined,
      taken,
    };
  });
  const { taken, ...summary } = done;
  // A pool slot's reset talks to Docker: outside the lock. If it fails, the folder is not a sandbox after all.
  await finishLease(ctx, config.prefix, summary, taken, () => removeFile(summary.envFile));
  return summary;
}

/**
 * The sandbox the .env.sandbox already in `top` names, for re-registering it. A
 * file init cannot read, or one that names no usable sandbox, is refused, never
 * written over: existing files are used as they are (docs/migration.md), and it
 * may be the only record left of a sandbox whose registry entry was lost.
 */
async function readAdoptable(top: string): Promise<{ env: EnvMap; instanceId: string; slot: number } | undefined> {
  const file = join(top, ENV_FILE_NAME);
  let why: string;
  try {
    const env = await readEnvFile(top);
    if (!env) return undefined;
    const id = identityFromEnv(env);
    if (typeof id !== 'string' && COMPOSE_PROJECT_NAME.test(id.instanceId)) return { env, ...id };
    why =
      typeof id === 'string' ? id : `its INSTANCE_ID ${JSON.stringify(id.instanceId)} is not a compose project name`;
  } catch (e) {
    if (!isKinfraError(e) || e.code !== 'invalid-env-file') throw e;
    why = `it cannot be read: ${e.message}`;
  }
  throw conflictError(
    'already-initialised',
    `${top} is already initialised: it has a ${ENV_FILE_NAME}, but ${why}.`,
    `To start over, remove ${file} and run \`kinfra sandbox init\` again; ` +
      `\`kinfra sandbox doctor\` shows whether a sandbox still uses it.`,
    { file },
  );
}

function hasComposeFiles(top: string, config: Parameters<typeof findComposeFiles>[1]): boolean {
  try {
    findComposeFiles(top, config);
    return true;
  } catch {
    return false;
  }
}

/** `ktrdr--feat` stays `ktrdr--feat`; `my-clone` becomes `ktrdr--my-clone`. */
function defaultId(prefix: string, folder: string): string {
  const own = `${prefix}--`;
  const rest = folder.toLowerCase().startsWith(own) ? folder.slice(own.length) : folder;
  return instanceIdFor(prefix, requireSlug(rest));
}

function noPool(): KinfraError {
  return notFoundError(
    'no-pool',
    'No slot pool is provisioned on this machine, so there is no pool slot to claim.',
    'Provision the pool with: kinfra sandbox provision (or take an ad-hoc slot with: kinfra sandbox init)',
  );
}
