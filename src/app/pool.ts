// The slot pool: provisioning its slots on disk, listing them with their engine state, and releasing claims.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../adapters/config-loader.js';
import { listContainers } from '../adapters/engine.js';
import { readEnvFile, writeEnvFile } from '../adapters/env-store.js';
import { readTextIfExists, writeTextAtomic } from '../adapters/file-store.js';
import { makeFolder, pathExists, removeFile } from '../adapters/folders.js';
import { mainRoot } from '../adapters/git.js';
import type { Config } from '../core/config/config.js';
import { formatEnvText } from '../core/env-file.js';
import { conflictError, notFoundError, usageError } from '../core/errors.js';
import { poolPlan, releaseMark, sameRelease, setReleaseMark, slotProjectOf, type SlotRelease } from '../core/pool.js';
import { processRuns } from '../adapters/processes.js';
import { renderPoolCompose } from '../core/pool-template.js';
import type { Registry, SlotEntry } from '../core/registry/model.js';
import { ENV_FILE_NAME } from '../core/sandbox-env.js';
import {
  adHocHolder,
  leaseEnvLines,
  leasePortMap,
  leasePorts,
  planLease,
  poolComposeFile,
  unclaimedSlotEntry,
  type PoolLease,
} from '../core/slot-lease.js';
import { forgetAdopted } from './ownership.js';
import { databaseRecords, dropRecord, warmState } from '../core/database/record.js';
import type { AppContext } from './context.js';
import { ownsContainer, projectState, stateLabel } from './engine-state.js';
import { ownerIdOrNone } from './owner.js';
import type { ContainerInfo } from '../adapters/engine.js';
import { resetSlot, sharedRoot } from './slot-lease.js';

const slotState = (cs: ContainerInfo[], owner: string, project: string, dir: string) =>
  projectState(cs, project, (c) => ownsContainer(c, owner, project, dir));

/** kinfra's own files (templates/) next to the built bundle or the sources. */
function packageFile(rel: string): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    if (pathExists(join(d, 'package.json')) && pathExists(join(d, rel))) return join(d, rel);
    if (dirname(d) === d) throw new Error(`kinfra package file ${rel} not found`);
  }
}

export function slotDir(ctx: AppContext, slot: number): string {
  return join(ctx.paths.sandboxesDir, `slot-${slot}`);
}

async function templateText(config: Config, root: string): Promise<{ text: string; source: string }> {
  const path = config.poolTemplate ? resolve(root, config.poolTemplate) : packageFile('templates/ktrdr-pool.yml');
  const text = await readTextIfExists(path);
  if (text === undefined)
    throw usageError(
      'no-pool-template',
      `The pool template ${path} does not exist.`,
      'Fix pool.template in kinfra.yaml.',
    );
  return { text, source: path };
}

function renderSlot(config: Config, s: PoolLease, template: { text: string; source: string }): string {
  const workerPorts = leasePorts(config, s)
    .filter((p) => p.name.startsWith('worker_'))
    .map((p, k) => {
      const first = config.ports.find((x) => x.worker === 1)!;
      return `\${${p.env}:-${(first.main ?? first.base) + k}}`;
    });
  return (
    `# Rendered by kinfra sandbox provision from ${template.source}\n# Slot ${s.slot}, profile ${s.profile}.\n` +
    renderPoolCompose(template.text, template.source, { workers: s.workers, workerPorts })
  );
}

export interface ProvisionLine {
  slot: number;
  profile: string;
  action: 'would-create' | 'created' | 'exists' | 'refreshed' | 'blocked';
  ports: Record<string, number>;
  reason?: string;
}

/** `kinfra sandbox provision [--dry-run]` (seed 004). */
export async function provisionPool(
  ctx: AppContext,
  opts: { dryRun: boolean },
): Promise<{ slots: ProvisionLine[]; created: number; skipped: number }> {
  const root = await mainRoot(ctx.cwd).catch(() => ctx.cwd);
  const config = await loadConfig(root);
  const plan = poolPlan(config);
  if (plan.length === 0)
    throw usageError(
      'no-pool',
      `The layout of ${config.source} declares no pool slots.`,
      'Add pool.slots to kinfra.yaml.',
    );
  const template = await templateText(config, root);
  const leases = plan.map((s) => planLease(s, slotDir(ctx, s.slot)));
  const portsOf = (s: PoolLease) => leasePortMap(config, s);
  const blocked = (registry: Registry, s: PoolLease): ProvisionLine | undefined => {
    const adHoc = adHocHolder(registry, s.slot);
    if (adHoc === undefined) return undefined;
    const reason = `slot ${s.slot} is used by the sandbox ${adHoc}`;
    return { slot: s.slot, profile: s.profile, ports: portsOf(s), action: 'blocked', reason };
  };

  if (opts.dryRun) {
    const registry = await ctx.registry.snapshot();
    const slots = leases.map((s): ProvisionLine => {
      const action = registry.slots[String(s.slot)] && pathExists(s.folder) ? 'exists' : 'would-create';
      return blocked(registry, s) ?? { slot: s.slot, profile: s.profile, ports: portsOf(s), action };
    });
    return { slots, created: 0, skipped: slots.filter((s) => s.action === 'exists').length };
  }

  return ctx.registry.update(async (registry) => {
    const slots: ProvisionLine[] = [];
    for (const s of leases) {
      const dir = s.folder;
      const existing = registry.slots[String(s.slot)];
      const block = blocked(registry, s);
      if (block) {
        slots.push(block);
        continue;
      }
      const compose = renderSlot(config, s, template);
      const envLines = leaseEnvLines(config, s, sharedRoot(ctx, config));
      const composeFile = poolComposeFile(s);
      const envFile = join(dir, ENV_FILE_NAME);
      const current = existing && pathExists(dir);
      // Absent when someone removed it: a registered slot folder without its compose file is refreshed, never a crash.
      const onDisk = current ? await readTextIfExists(composeFile) : undefined;
      if (current && existing.claimed_by) {
        // A claimed slot's files are not rewritten under its sandbox; a lost compose file is written
        // again (its stack cannot run without one).
        if (onDisk === undefined) await writeTextAtomic(composeFile, compose);
        slots.push({
          slot: s.slot,
          profile: existing.profile,
          ports: existing.ports,
          action: onDisk === undefined ? 'refreshed' : 'exists',
        });
        continue;
      }
      const changed =
        !current ||
        onDisk !== compose ||
        (await readTextIfExists(envFile)) !== formatEnvText(envLines) ||
        existing.profile !== s.profile;
      if (changed) {
        await makeFolder(dir);
        await writeTextAtomic(composeFile, compose);
        await writeEnvFile(dir, envLines);
      }
      registry.slots[String(s.slot)] = {
        ...(existing ?? {}),
        ...unclaimedSlotEntry(config, s),
        claimed_by: existing?.claimed_by ?? null,
        claimed_at: existing?.claimed_at ?? null,
      };
      slots.push({
        slot: s.slot,
        profile: s.profile,
        ports: portsOf(s),
        action: !current ? 'created' : changed ? 'refreshed' : 'exists',
      });
    }
    return {
      slots,
      created: slots.filter((s) => s.action === 'created').length,
      skipped: slots.filter((s) => s.action === 'exists' || s.action === 'refreshed').length,
    };
  });
}

export interface SlotRow {
  slot: number;
  profile: string;
  workers: Record<string, number>;
  apiPort: number | null;
  claimedBy: string | null;
  claimedAt: string | null;
  /** running, stopped, partial x/y, missing; null when Docker could not be asked. */
  status: string | null;
  /** empty, `warm: a copy of X from T`, `warming from X`. */
  database: string;
  path: string;
}

/** `kinfra sandbox slots`: the pool, with status from Docker; stale claims are released. */
export async function listSlots(
  ctx: AppContext,
): Promise<{ slots: SlotRow[]; released: { slot: number; claimedBy: string }[] }> {
  const { rows, released, databases } = await ctx.registry.update((registry) => {
    const released: { slot: number; claimedBy: string }[] = [];
    for (const s of Object.values(registry.slots)) {
      if (!s.claimed_by) continue;
      const owner = registry.instances[s.claimed_by];
      if (!owner || !pathExists(owner.path)) {
        released.push({ slot: s.slot_id, claimedBy: s.claimed_by });
        if (owner) delete registry.instances[s.claimed_by];
        s.claimed_by = null;
        s.claimed_at = null;
      }
    }
    const rows = Object.values(registry.slots).sort((a, b) => a.slot_id - b.slot_id);
    return { rows, released, databases: structuredClone(databaseRecords(registry)) };
  });
  const prefix = (await loadConfig(await mainRoot(ctx.cwd).catch(() => ctx.cwd))).prefix;
  const containers = await listContainers().catch(() => undefined);
  const owner = await ownerIdOrNone(ctx);
  return {
    released,
    slots: rows.map((s) => ({
      slot: s.slot_id,
      profile: s.profile,
      workers: s.workers,
      apiPort: s.ports.api ?? null,
      claimedBy: s.claimed_by,
      claimedAt: s.claimed_at,
      status: containers
        ? stateLabel(slotState(containers, owner, slotProjectOf(prefix, s), s.infrastructure_path))
        : null,
      database: warmState(databases[slotProjectOf(prefix, s)], processRuns),
      path: s.infrastructure_path,
    })),
  };
}

/**
 * `kinfra sandbox release <slot> [-f]`, in three steps, so that every read-check-write of the slot's ownership is
 * one locked decision and no Docker call happens under the lock:
 * 1. under the lock: check who holds the slot and mark it as being released (no claim takes it from then on);
 * 2. outside it: reset its containers and volumes;
 * 3. under the lock again: free it and unregister the claim step 1 checked (nobody else can have claimed it).
 * Killed between 1 and 3, the mark stays, with a pid that no longer runs: doctor reports it and --repair finishes it.
 */
export async function releaseSlot(
  ctx: AppContext,
  slot: number,
  force: boolean,
): Promise<{ slot: number; releasedFrom: string | null; rewarming: Reseeding | null }> {
  const prefix = (await loadConfig(await mainRoot(ctx.cwd).catch(() => ctx.cwd))).prefix;
  const { entry, mark } = await ctx.registry.update((r) => {
    const s = r.slots[String(slot)];
    if (!s)
      throw notFoundError(
        'unknown-slot',
        `Slot ${slot} is not a provisioned pool slot.`,
        'See the pool with: kinfra sandbox slots',
      );
    const running = releaseMark(s);
    // A mark whose process is gone is an interrupted release: this one takes it over.
    if (running?.pid !== undefined && processRuns(running.pid)) {
      throw conflictError(
        'slot-being-released',
        `Slot ${slot} is being released by another kinfra process (pid ${running.pid}).`,
        'Wait for it to finish; see the pool with: kinfra sandbox slots (a release that was killed is finished by ' +
          'kinfra sandbox doctor --repair).',
      );
    }
    const owner = s.claimed_by ? r.instances[s.claimed_by] : undefined;
    if (owner && pathExists(owner.path) && !force) {
      throw conflictError(
        'slot-in-use',
        `Slot ${slot} is claimed by ${s.claimed_by}, whose worktree ${owner.path} still exists.`,
        `Destroy that sandbox (kinfra sandbox destroy ${s.claimed_by}), ` +
          `or release with -f (the sandbox then has no slot until it claims one again).`,
      );
    }
    const mark: SlotRelease = { pid: process.pid, startedAt: new Date().toISOString(), from: s.claimed_by };
    setReleaseMark(s, mark);
    return { entry: structuredClone(s), mark };
  });
  try {
    await resetSlot(ctx, prefix, entry);
  } catch (e) {
    // Nothing was freed: the slot goes back to how step 1 found it.
    await ctx.registry
      .update((r) => {
        const cur = r.slots[String(slot)];
        if (cur && sameRelease(releaseMark(cur), mark)) setReleaseMark(cur, undefined);
      })
      .catch(() => undefined);
    throw e;
  }
  await ctx.registry.update(async (r) => {
    const cur = r.slots[String(slot)];
    // Finished meanwhile by doctor --repair (it took this process for dead): nothing left to do.
    if (!cur || !sameRelease(releaseMark(cur), mark)) return;
    await completeRelease(r, cur, slotProjectOf(prefix, cur));
  });
  return { slot, releasedFrom: mark.from, rewarming: await reseed(ctx, entry) };
}

type Reseeding = { from: string; pid: number | null; log: string };

/** A slot provision --db-from seeded is seeded again, in the background: the next claim finds a ready copy. */
async function reseed(ctx: AppContext, s: SlotEntry): Promise<Reseeding | null> {
  const warm = s.db_warm_from as { from?: unknown } | undefined;
  if (typeof warm?.from !== 'string') return null;
  const { rewarmInBackground } = await import('./database-pool.js');
  const pid = rewarmInBackground(ctx, s.slot_id, warm.from);
  return { from: warm.from, pid: pid ?? null, log: join(ctx.paths.sandboxesDir, `slot-${s.slot_id}-warm.log`) };
}

/**
 * Under the lock: the last step of a release whose mark `s` carries (release itself, or doctor --repair after a
 * killed one). Frees the slot and unregisters the claim the release checked; a claim made by anyone else is kept,
 * since the release never looked at it (claims skip a slot being released, so only a hand edit gets there).
 * `resetProject`: the compose project whose resources were reset, so its adoption records can go.
 */
export async function completeRelease(
  r: Registry,
  s: SlotEntry,
  resetProject: string | undefined,
): Promise<string | null> {
  const from = releaseMark(s)?.from ?? null;
  setReleaseMark(s, undefined);
  if (s.claimed_by && s.claimed_by !== from) return null;
  if (s.claimed_by) {
    const held = r.instances[s.claimed_by];
    // A worktree that loses its slot stops being a sandbox: its .env.sandbox would point at a slot someone else gets.
    if (held && (held.pool_slot === undefined || held.pool_slot === s.slot_id)) {
      if (pathExists(join(held.path, ENV_FILE_NAME))) {
        const env = await readEnvFile(held.path).catch(() => undefined);
        if (env?.INSTANCE_ID === s.claimed_by) await removeFile(join(held.path, ENV_FILE_NAME));
      }
      delete r.instances[s.claimed_by];
    }
  }
  s.claimed_by = null;
  s.claimed_at = null;
  if (resetProject !== undefined) {
    forgetAdopted(r, resetProject);
    // Its database's volumes went with the reset: nothing of the record is left to keep.
    dropRecord(r, resetProject);
  }
  return from;
}
