// Rebuilding a lost registry from the sandbox folders found on disk and their .env.sandbox files.

import { loadConfig } from '../adapters/config-loader.js';
import { listContainers } from '../adapters/engine.js';
import { readEnvFile } from '../adapters/env-store.js';
import { pathExists } from '../adapters/folders.js';
import { currentBranch, listWorktrees, mainRoot } from '../adapters/git.js';
import type { Config } from '../core/config/config.js';
import type { EnvMap } from '../core/env-file.js';
import { poolPlan, releaseMark } from '../core/pool.js';
import type { InstanceEntry, Registry } from '../core/registry/model.js';
import { slotUnavailableReason } from '../core/registry/slots.js';
import { CREATED_WORKTREE_KEY, envPoolSlot, identityFromEnv, POOL_SLOT_KEY } from '../core/sandbox-env.js';
import {
  adHocLease,
  adHocHolder,
  claimLease,
  leaseEntryFields,
  planLease,
  poolComposeFile,
  poolLease,
  unclaimedSlotEntry,
  type SlotLease,
} from '../core/slot-lease.js';
import type { AppContext } from './context.js';
import { engineSandboxDirs, findUnregistered, knownRepos } from './doctor.js';
import { ownerIdOrNone } from './owner.js';
import { slotDir } from './pool.js';
import { deriveLayout } from './derived-layout.js';
import { storeDerived, withDerivedPorts, type DerivedPort } from '../core/derived-ports.js';

/** What the disk says about a sandbox folder, read before it is registered. */
export interface FoundSandbox {
  path: string;
  env: EnvMap;
  instanceId: string;
  slot: number;
  root: string;
  config: Config;
  /** A linked worktree of `root` (not its main checkout, not a clone). */
  linked: boolean;
  branch: string | undefined;
  /** The derived ports its .env.sandbox still holds at their slot values (`config` includes them). */
  derived: DerivedPort[];
}

/**
 * The ports kinfra derived for the sandbox, found again from its compose files: those its .env.sandbox holds at the
 * value the derivation gives its slot. Without them a rebuilt registry would not know the ports it holds.
 */
async function derivedStill(path: string, config: Config, env: EnvMap, slot: number): Promise<DerivedPort[]> {
  const layout = await deriveLayout(path, config).catch(() => undefined);
  return (layout?.derived ?? []).filter((d) => env[d.env] === String(d.base + d.step * slot));
}

/** Read a sandbox folder's .env.sandbox and git facts; a string says why it cannot be registered. */
export async function readFound(path: string): Promise<FoundSandbox | string> {
  const env = await readEnvFile(path).catch(() => undefined);
  const config = await loadConfig(path);
  // Range-checked against this layout: a slot beyond slots.max or a port beyond 65535 is never registered.
  const id = env && identityFromEnv(env, config);
  if (!env || !id || typeof id === 'string')
    return `${path} has no usable .env.sandbox${typeof id === 'string' ? `: ${id}` : ''}`;
  const root = await mainRoot(path);
  const linked = (await listWorktrees(root)).findIndex((w) => w.path === path) > 0;
  const derived = env[POOL_SLOT_KEY] === undefined ? await derivedStill(path, config, env, id.slot) : [];
  return {
    path,
    env,
    instanceId: id.instanceId,
    slot: id.slot,
    root,
    config: withDerivedPorts(config, derived),
    linked,
    branch: await currentBranch(path),
    derived,
  };
}

/**
 * Put a sandbox found on disk into `reg`, on the slot its .env.sandbox names,
 * unless that would make two sandboxes share an id, a slot or a port: then it
 * stays out, and the note says how to move it.
 */
export function registerFound(reg: Registry, f: FoundSandbox): { done: boolean; note: string } {
  const { path, env, instanceId: id } = f;
  if (Object.values(reg.instances).some((e) => e.path === path)) return { done: false, note: 'no longer needed' };
  const other = reg.instances[id];
  if (other) {
    return {
      done: false,
      note:
        `the id ${id} is registered for ${other.path}; keeping both would share one compose project. Run ` +
        `\`cd ${path} && kinfra sandbox init --name <new-name>\``,
    };
  }
  const entry: InstanceEntry = {
    slot: f.slot,
    path,
    created_at: env.CREATED_AT ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    is_worktree: path !== f.root,
    parent_repo: f.root,
    ...(f.branch ? { branch: f.branch } : {}),
    created_worktree: f.linked && env[CREATED_WORKTREE_KEY] === 'true',
    ports: {},
  };
  const lease = leaseToRegister(reg, f);
  if (typeof lease === 'string') return { done: false, note: lease };
  // No reset: a pool slot's volumes are this sandbox's data.
  claimLease(reg, lease, id, entry.created_at);
  Object.assign(entry, leaseEntryFields(f.config, lease));
  if (f.derived.length > 0) entry.derived_ports = storeDerived(f.derived);
  reg.instances[id] = entry;
  return { done: true, note: `registered ${path} as ${id} on slot ${f.slot}` };
}

/**
 * The lease the found sandbox's .env.sandbox names, if it can have it: the pool slot its file claims, or its
 * ad-hoc slot while nobody else holds it. A string says why not, and how to move it.
 */
function leaseToRegister(reg: Registry, f: FoundSandbox): SlotLease | string {
  const { path, env, instanceId: id } = f;
  const named = env[POOL_SLOT_KEY];
  if (named === undefined) {
    // Slot 0 is the main checkout's ports, never a sandbox's.
    const plan = { maxSlot: f.config.maxSlot, ports: f.config.ports };
    const taken = f.slot < 1 ? "slot 0 is the main checkout's" : slotUnavailableReason(reg, plan, f.slot);
    if (taken) return `${taken}; move this sandbox to a free slot with: cd ${path} && kinfra sandbox init`;
    return adHocLease(f.slot);
  }
  const s = envPoolSlot(env) === f.slot ? reg.slots[String(f.slot)] : undefined;
  if (!s) {
    return (
      `pool slot ${named} is not provisioned (or is not the slot ${f.slot} the file names); ` +
      'run kinfra sandbox provision, then doctor --repair again'
    );
  }
  const claimAnother =
    `this worktree must claim another: cd ${path} && rm .env.sandbox && ` + 'kinfra sandbox init --profile <profile>';
  if (s.claimed_by && s.claimed_by !== id && reg.instances[s.claimed_by]) {
    return `pool slot ${named} is claimed by ${s.claimed_by}; ${claimAnother}`;
  }
  const sharer = Object.entries(reg.instances).find(([, e]) => e.slot === s.slot_id || e.pool_slot === s.slot_id);
  if (sharer) return `slot ${s.slot_id} is also registered to ${sharer[0]}; ${claimAnother}`;
  if (releaseMark(s)) return `pool slot ${named} is being released; ${claimAnother}`;
  return poolLease(f.config, s);
}

export interface RebuildReport {
  /** Entries kept from the moved-aside files. */
  kept: string[];
  registered: string[];
  /** Pool slots restored from their folders. */
  pool: number[];
  /** Sandboxes found on disk that could not be registered, and entries of the moved-aside files left out, with why. */
  skipped: string[];
  movedAside: string[];
}

/**
 * Rebuild a lost registry in one locked step (docs/architecture.md, "Registry
 * loss"): what the moved-aside files still hold, then the pool slots whose
 * folders exist, then every sandbox folder found on disk (worktrees and
 * siblings of every known repository, and the folders the engine's containers
 * carrying this kinfra's owner label name). Undefined when nothing is lost.
 */
export async function rebuildLostRegistry(ctx: AppContext): Promise<RebuildReport | undefined> {
  // Outside the lock: a slow engine must not hold every other kinfra command. The folders are read again under it.
  const owner = await ownerIdOrNone(ctx);
  const containers = await listContainers().catch(() => undefined);
  const engineDirs = await engineSandboxDirs(ctx, containers, owner);
  const done = await ctx.registry.rebuild(async (sources) => {
    const reg = structuredClone(sources.salvaged);
    const report: RebuildReport = {
      kept: Object.keys(reg.instances),
      registered: [],
      pool: [],
      skipped: [...sources.dropped],
      movedAside: sources.movedAside,
    };
    const known = [sources.salvaged, ...sources.imported].flatMap((r) => Object.values(r.instances));
    // Repositories to look in: here, every one a registry has named (kept beside it), every parent_repo the old
    // entries name, and the repositories of their folders.
    const hints: Registry = { ...reg, instances: Object.fromEntries(known.map((e, i) => [String(i), e])) };
    const dirs = [...engineDirs, ...(await ctx.registry.knownRepositories()), ...known.map((e) => e.path)].filter((p) =>
      pathExists(p),
    );
    const repos = await knownRepos(ctx, hints, dirs);
    report.pool = await restorePoolSlots(ctx, reg, repos);
    const found = await findUnregistered(reg, repos, engineDirs);
    // Running sandboxes first: if two files name one slot, the one whose containers hold its ports keeps it.
    found.sort((a, b) => Number(b.foundBy === 'engine') - Number(a.foundBy === 'engine'));
    for (const d of found) {
      const f = await readFound(d.path).catch((e: Error) => `${d.path}: ${e.message}`);
      const outcome = typeof f === 'string' ? { done: false, note: f } : registerFound(reg, f);
      if (outcome.done) report.registered.push(`${d.instanceId} (slot ${d.slot}, ${d.path})`);
      else report.skipped.push(`${d.path}: ${outcome.note}`);
    }
    return { registry: reg, result: report };
  });
  return done?.result;
}

/**
 * Pool slots whose folders survive but whose entries were lost, as provision
 * writes them (unclaimed; the sandboxes that claimed them claim them again when
 * they are registered), from the first known repository whose layout has a pool.
 */
async function restorePoolSlots(ctx: AppContext, reg: Registry, repos: readonly string[]): Promise<number[]> {
  for (const repo of repos) {
    const config = await loadConfig(repo).catch(() => undefined);
    const plan = config ? poolPlan(config) : [];
    if (!config || plan.length === 0) continue;
    const restored: number[] = [];
    for (const s of plan) {
      const lease = planLease(s, slotDir(ctx, s.slot));
      if (reg.slots[String(s.slot)] || !pathExists(poolComposeFile(lease))) continue;
      if (adHocHolder(reg, s.slot) !== undefined) continue;
      reg.slots[String(s.slot)] = unclaimedSlotEntry(config, lease);
      restored.push(s.slot);
    }
    return restored;
  }
  return [];
}
