// The steps of a slot lease that touch the outside world, for both kinds alike (core/slot-lease.ts says what a lease
// is): writing the holder's .env.sandbox, taking the lease under the registry lock, and finishing it once the lock is
// released (a pool slot is reset then, since that talks to Docker). create, init, release and doctor's repairs go here.
import { ownerId } from '../adapters/owner-id.js';
import { expandHome } from '../adapters/paths.js';
import { writeEnvFile } from '../adapters/env-store.js';
import type { Config } from '../core/config/config.js';
import { conflictError } from '../core/errors.js';
import { slotProjectOf } from '../core/pool.js';
import type { Registry, SlotEntry } from '../core/registry/model.js';
import {
  claimLease,
  leasedSlot,
  leaseEnvLines,
  releaseLease,
  type LeaseHolder,
  type SlotLease,
} from '../core/slot-lease.js';
import type { AppContext } from './context.js';
import type { SandboxSummary } from './sandbox-summary.js';
import { forgetAdopted, projectInventory, removeOwned } from './ownership.js';
import { listContainers } from '../adapters/engine.js';
import { processRuns } from '../adapters/processes.js';
import { dropRecord, recordOf } from '../core/database/record.js';
import type { Labelled, ProjectInventory } from '../core/ownership.js';

/** The shared data folder of this HOME, expanded (compose does not expand ~). */
export function sharedRoot(ctx: AppContext, config: Config): string | undefined {
  return config.shared ? expandHome(config.shared.root, ctx.paths.home) : undefined;
}

/** Write the .env.sandbox of the folder that holds the lease (also how doctor --repair restores a lost one). */
export function writeLeaseEnv(ctx: AppContext, config: Config, lease: SlotLease, holder: LeaseHolder): Promise<string> {
  return writeEnvFile(holder.path, leaseEnvLines(config, lease, sharedRoot(ctx, config), holder));
}

/** A lease taken under the lock. */
export interface TakenLease {
  lease: SlotLease;
  envFile: string;
  /** The claimed pool slot as the lock left it, to reset once the lock is released; undefined for an ad-hoc slot. */
  toReset: SlotEntry | undefined;
}

/**
 * Under the registry lock: the holder's .env.sandbox names the lease, and the registry gives the lease to the
 * holder. A pool slot's adoption records go: its resources are reset before the holder runs on it.
 */
export async function takeLease(
  ctx: AppContext,
  config: Config,
  registry: Registry,
  lease: SlotLease,
  holder: LeaseHolder,
): Promise<TakenLease> {
  const s = leasedSlot(registry, lease);
  if (s) forgetAdopted(registry, slotProjectOf(config.prefix, s));
  const envFile = await writeLeaseEnv(ctx, config, lease, holder);
  claimLease(registry, lease, holder.instanceId, holder.createdAt);
  const claimed = leasedSlot(registry, lease);
  return { lease, envFile, toReset: claimed && { ...claimed } };
}

/** Reset the pool slot a lease is on, where the caller already holds the lock (doctor --repair finishing a create). */
export async function resetLease(ctx: AppContext, prefix: string, registry: Registry, lease: SlotLease): Promise<void> {
  const s = leasedSlot(registry, lease);
  if (s) await resetSlot(ctx, prefix, s);
}

/**
 * Reset a freshly claimed pool slot (a reused slot must not inherit the previous database) with the registry lock
 * released, so a slow engine never blocks every other kinfra command; then the claim is complete. If the reset
 * fails, the claim is undone. An ad-hoc lease is complete once taken.
 */
export async function finishLease(
  ctx: AppContext,
  prefix: string,
  s: SandboxSummary,
  taken: TakenLease,
  undo: () => Promise<void>,
): Promise<void> {
  if (!taken.toReset) return;
  try {
    await resetSlot(ctx, prefix, taken.toReset, { claim: true });
  } catch (e) {
    await ctx.registry
      .update((r) => {
        if (r.instances[s.instanceId]?.path === s.path) delete r.instances[s.instanceId];
        releaseLease(r, taken.lease, s.instanceId);
      })
      .catch(() => undefined);
    await undo().catch(() => undefined);
    throw e;
  }
  await ctx.registry.update((r) => {
    const e = r.instances[s.instanceId];
    if (e?.path === s.path && e.state === 'creating') delete e.state;
  });
}

/**
 * Remove a slot's containers and volumes, so the next claim starts clean: only those this registry owns. Volumes
 * of the slot's project that carry no owner label (made before kinfra labelled its resources, or another kinfra's
 * pool of the same name) are never removed on a guess: the claim stops and says what to do.
 */
export async function resetSlot(
  ctx: AppContext,
  prefix: string,
  s: SlotEntry,
  opts: { claim?: boolean } = {},
): Promise<void> {
  const owner = await ownerId(ctx.paths.ownerId);
  const stamp = { owner, sandbox: slotProjectOf(prefix, s), path: s.infrastructure_path };
  const registry = await ctx.registry.snapshot();
  const inv = await projectInventory(stamp, registry);
  const unproven = inv.unproven.filter((r) => r.kind === 'volume').map((r) => r.name);
  if (unproven.length > 0) {
    throw conflictError(
      'unlabelled-slot-volumes',
      `Pool slot ${s.slot_id} has volumes that carry no kinfra owner label, so kinfra cannot prove they are yours: ` +
        `${unproven.join(', ')}.`,
      'If they are yours (a pool made before kinfra labelled its resources), remove them with: ' +
        `docker volume rm ${unproven.join(' ')}; then run the command again.`,
      { volumes: unproven },
    );
  }
  // A claim keeps a database seeded for it (provision --db-from), running: that is what the warm pool is for.
  const keep = opts.claim ? await freshWarm(registry, stamp.sandbox) : undefined;
  // A copy still being made into the slot (a background fill) keeps its volumes: it gives them up itself when it
  // finds the slot claimed.
  const pending = recordOf(registry, stamp.sandbox)?.pending;
  const busy = pending && processRuns(pending.pid) ? new Set(pending.volumes) : new Set<string>();
  const cleared = keep ? withoutWarm(inv, keep) : inv;
  const spare = (r: Labelled) => !(r.kind === 'volume' && busy.has(r.name));
  await removeOwned({ ...cleared, ours: cleared.ours.filter(spare), legacy: cleared.legacy.filter(spare) });
  await ctx.registry.update((r) => {
    const rec = recordOf(r, stamp.sandbox);
    if (keep && rec) {
      // Only the kept copy is left: what else the record named went with the reset.
      delete rec.warm_unclaimed;
      rec.snapshots = {};
      delete rec.origin;
    } else dropRecord(r, stamp.sandbox);
  });
}

/** The slot's freshly seeded database (its volume and its running container), when it has one. */
async function freshWarm(registry: Registry, project: string) {
  const rec = recordOf(registry, project);
  if (!rec?.warm_unclaimed || !rec.volume) return undefined;
  const containers = (await listContainers()).filter((c) => c.project === project && c.service === rec.service);
  return { volume: rec.volume, containers: new Set(containers.map((c) => c.id)) };
}

function withoutWarm(inv: ProjectInventory, keep: { volume: string; containers: Set<string> }): ProjectInventory {
  const kept = (r: Labelled) =>
    (r.kind === 'volume' && r.name === keep.volume) || (r.kind === 'container' && keep.containers.has(r.name));
  // The kept container still uses the project's networks: they stay too.
  const gone = (r: Labelled) => !kept(r) && r.kind !== 'network';
  return { ours: inv.ours.filter(gone), legacy: inv.legacy.filter(gone), unproven: inv.unproven, foreign: inv.foreign };
}
