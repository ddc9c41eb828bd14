// `kinfra sandbox doctor --repair`: applies the repairs doctor's findings name, each only when nothing is lost.

import { join } from 'node:path';
import { loadConfig } from '../adapters/config-loader.js';
import { entryConfig } from './entry-config.js';
import { readEnvFile } from '../adapters/env-store.js';
import { listFolder, modifiedAt, pathExists, removeEmptyFolder, removeFile, removeTree } from '../adapters/folders.js';
import { listWorktrees, mainRoot, pruneWorktrees, restoreMissingFiles } from '../adapters/git.js';
import { openFindings, type Finding, type Repair } from '../core/doctor.js';
import { isKinfraError } from '../core/errors.js';
import { poolPlan, releaseMark } from '../core/pool.js';
import { entryLease, leaseHeldBy, leaseTakenBy } from '../core/slot-lease.js';
import type { InstanceEntry, Registry } from '../core/registry/model.js';
import { releaseClaimsOf, slotConflict } from '../core/registry/slots.js';
import { CREATED_WORKTREE_KEY, ENV_FILE_NAME, OWNER_KEY } from '../core/sandbox-env.js';
import { notCreatedWorktree, protectedReason } from '../core/safe-paths.js';
import { ownerIdOrNone } from './owner.js';
import { projectHasResources } from '../adapters/engine.js';
import type { AppContext } from './context.js';
import { completeRelease, provisionPool } from './pool.js';
import { resetLease, takeLease, writeLeaseEnv } from './slot-lease.js';
import { processRuns } from '../adapters/processes.js';
import { withFileLock } from '../adapters/file-store.js';
import { diagnoseAll, TEMP_SAFE_AGE_MS } from './doctor.js';
import { readFound, rebuildLostRegistry, registerFound } from './registry-rebuild.js';

export interface RepairOutcome {
  finding: Finding;
  /** What was done, or why nothing was (then the finding is left for the user). */
  done: boolean;
  note: string;
}

export interface RepairReport {
  repairs: RepairOutcome[];
  /** Findings after repairing: what is left for the user. */
  findings: Finding[];
}

/** Repairs in an order where each can rely on the ones before (a pool before its claims). */
const ORDER: Repair['kind'][] = [
  'rebuild-registry',
  'remove-leftover',
  'drop-entry',
  'finish-destroy',
  'finish-create',
  'finish-release',
  'release-claim',
  'remove-slot-dir',
  'provision',
  'register',
  'rewrite-env',
  'clear-focus',
];

/**
 * `doctor --repair`: fix what can be fixed without losing anything. Each repair
 * takes the registry lock on its own and checks again that it is still needed,
 * so it is safe next to other kinfra processes. Never removes a folder holding
 * work, never removes volumes.
 */
export async function repairAll(ctx: AppContext): Promise<RepairReport> {
  const outcomes = new Map<string, RepairOutcome>();
  // A repair can enable the next (a rebuilt registry, then a re-provisioned
  // pool, then its claims): a few rounds at most.
  for (let round = 0; round < 4; round++) {
    const todo = (await diagnoseAll(ctx))
      .filter((f) => f.repair)
      .sort((a, b) => ORDER.indexOf(a.repair!.kind) - ORDER.indexOf(b.repair!.kind));
    let progress = false;
    for (const finding of todo) {
      const key = JSON.stringify(finding.repair);
      if (outcomes.get(key)?.done) continue;
      let outcome: RepairOutcome;
      try {
        outcome = { finding, ...(await apply(ctx, finding.repair!)) };
      } catch (e) {
        if (!isKinfraError(e)) throw e;
        outcome = { finding, done: false, note: `${e.message}${e.hint ? ` ${e.hint}` : ''}` };
      }
      outcomes.set(key, outcome);
      progress ||= outcome.done;
    }
    if (!progress) break;
  }
  return { repairs: [...outcomes.values()], findings: await diagnoseAll(ctx) };
}

type Applied = { done: boolean; note: string };

async function apply(ctx: AppContext, r: Repair): Promise<Applied> {
  switch (r.kind) {
    case 'rebuild-registry':
      return rebuildRegistry(ctx);
    case 'remove-leftover':
      return removeLeftover(ctx, r.path);
    case 'drop-entry':
      return dropEntry(ctx, r.instanceId);
    case 'finish-destroy':
      return finishDestroy(ctx, r.instanceId);
    case 'finish-create':
      return finishCreate(ctx, r.instanceId);
    case 'release-claim':
      return releaseClaim(ctx, r.slot);
    case 'finish-release':
      return finishRelease(ctx, r.slot);
    case 'provision':
      return reprovision(ctx);
    case 'remove-slot-dir':
      return removeSlotDir(ctx, r.slot, r.path);
    case 'register':
      return register(ctx, r.path);
    case 'rewrite-env':
      return rewriteEnv(ctx, r.instanceId);
    case 'remove-database-leftovers': {
      const { removeDatabaseLeftovers } = await import('./database-doctor.js');
      return removeDatabaseLeftovers(ctx);
    }
    case 'clear-focus': {
      const { clearStaleFocus } = await import('./focus.js');
      return clearStaleFocus(ctx, r.pid);
    }
  }
}

/** The whole rebuild in one locked step, so no command can hand out a slot between its parts. */
async function rebuildRegistry(ctx: AppContext): Promise<Applied> {
  const r = await rebuildLostRegistry(ctx);
  if (!r) return { done: false, note: 'no longer needed: the registry reads' };
  const from =
    r.movedAside.length > 0
      ? `rebuilt the registry from ${r.movedAside.join(', ')} (marked .rebuilt)`
      : 'rebuilt the registry';
  const parts = [
    `${from} and the sandboxes on disk`,
    r.kept.length > 0
      ? `kept ${r.kept.length} entr${r.kept.length === 1 ? 'y' : 'ies'} of the old file (${r.kept.join(', ')})`
      : 'nothing of the old file could be kept',
    r.registered.length > 0 ? `registered ${r.registered.join('; ')}` : 'found no other sandbox on disk',
    ...(r.pool.length > 0 ? [`restored pool slot${r.pool.length === 1 ? '' : 's'} ${r.pool.join(', ')}`] : []),
    ...(r.skipped.length > 0 ? [`left out: ${r.skipped.join('; ')}`] : []),
  ];
  return { done: true, note: parts.join('; ') };
}

/**
 * Only under the registry lock, so no kinfra is writing the registry meanwhile: a temp file only once it is older
 * than any write takes (a writer that lost its lock to a stale takeover may still be finishing one), a lock folder
 * only when it is stale, which the lock library itself decides: taking the lock takes over a stale one and waits
 * for a live one.
 */
async function removeLeftover(ctx: AppContext, path: string): Promise<Applied> {
  if (path === `${ctx.paths.registry}.lock`) {
    const stale = pathExists(path);
    await withFileLock(ctx.paths.registry, async () => undefined);
    return stale
      ? { done: true, note: `took over and removed the stale lock ${path}` }
      : { done: false, note: 'no longer needed' };
  }
  return withFileLock(ctx.paths.registry, async () => {
    const mtime = await modifiedAt(path);
    if (mtime === undefined) return { done: false, note: 'no longer needed' };
    const age = Date.now() - mtime;
    if (age < TEMP_SAFE_AGE_MS) {
      return {
        done: false,
        note:
          `left ${path}: it is ${Math.round(age / 1000)} s old, and its writer may still be running; ` +
          `run doctor --repair again in a minute`,
      };
    }
    await removeFile(path);
    return { done: true, note: `removed ${path}` };
  });
}

async function dropEntry(ctx: AppContext, id: string): Promise<Applied> {
  return ctx.registry.update((reg) => {
    const e = reg.instances[id];
    if (!e || pathExists(e.path)) return { done: false, note: 'no longer needed' };
    delete reg.instances[id];
    releaseClaimsOf(reg, id);
    return { done: true, note: `removed the entry of ${id} (its folder ${e.path} is gone)` };
  });
}

async function forget(reg: Registry, id: string, e: InstanceEntry): Promise<void> {
  delete reg.instances[id];
  releaseClaimsOf(reg, id);
  if (pathExists(e.parent_repo)) await pruneWorktrees(e.parent_repo);
}

async function finishDestroy(ctx: AppContext, id: string): Promise<Applied> {
  return ctx.registry.update(async (reg) => {
    const e = reg.instances[id];
    if (!e || (e.state !== 'destroying' && e.state !== 'removing-worktree'))
      return { done: false, note: 'no longer needed' };
    if (!pathExists(e.path)) {
      await forget(reg, id, e);
      return { done: true, note: `finished destroying ${id} (its folder was already removed)` };
    }
    if (!pathExists(join(e.path, '.git'))) {
      // git had started removing the worktree: finish only what kinfra provably made and had checked.
      const why = await whyNotRemovable(ctx, id, e);
      // The entry stays (and keeps being reported) until someone who can tell has looked.
      if (why)
        return {
          done: false,
          note:
            `left ${e.path} because ${why}: look at it, then remove it by hand or run kinfra sandbox ` +
            `destroy ${id} --keep-worktree`,
        };
      await removeTree(e.path);
      await forget(reg, id, e);
      return { done: true, note: `finished destroying ${id}: removed what was left of ${e.path}` };
    }
    delete e.state;
    return {
      done: true,
      note:
        `${id} is a registered sandbox again, with its folder intact; ` +
        `run \`kinfra sandbox destroy ${id}\` to destroy it`,
    };
  });
}

async function finishCreate(ctx: AppContext, id: string): Promise<Applied> {
  return ctx.registry.update(async (reg) => {
    const e = reg.instances[id];
    if (!e || e.state !== 'creating') return { done: false, note: 'no longer needed' };
    if (!pathExists(e.path)) {
      await forget(reg, id, e);
      return { done: true, note: `dropped ${id}: its create was killed before the worktree existed` };
    }
    if (!pathExists(join(e.path, '.git'))) {
      await forget(reg, id, e);
      if (!protectedReason(e.path, guardOf(ctx, e)) && (await listFolder(e.path)).length === 0) {
        await removeEmptyFolder(e.path);
        return {
          done: true,
          note: `dropped ${id}: its create was killed before git made the worktree (removed the empty ${e.path})`,
        };
      }
      return {
        done: false,
        note:
          `dropped ${id}, whose create was killed early; ${e.path} is not a git checkout: ` +
          `look at it, then remove it`,
      };
    }
    const notOurs = notCreatedWorktree(e.path, id, guardOf(ctx, e));
    if (notOurs)
      return {
        done: false,
        note: `left ${e.path} alone: ${notOurs}; run kinfra sandbox destroy ${id} --keep-worktree`,
      };
    const worktrees = await listWorktrees(e.parent_repo).catch(() => []);
    if (!worktrees.some((w) => w.path === e.path)) {
      return {
        done: false,
        note:
          `${e.path} is not a worktree of ${e.parent_repo}; look at it, ` +
          `then run kinfra sandbox destroy ${id} --keep-worktree`,
      };
    }
    await restoreMissingFiles(e.path);
    const config = await entryConfig(e.parent_repo, e);
    const lease = entryLease(reg, config, e);
    // A slot being released is not claimed again here: the release unregisters this entry when it finishes.
    const busy = lease ? leaseTakenBy(reg, lease, id) : 'gone';
    if (!lease || busy) {
      return { done: false, note: `pool slot ${e.pool_slot} of ${id} is ${busy}; run kinfra sandbox destroy ${id}` };
    }
    await resetLease(ctx, config.prefix, reg, lease);
    const owner = await ownerIdOrNone(ctx);
    const holder = { instanceId: id, path: e.path, createdAt: e.created_at, createdWorktree: true, owner };
    await takeLease(ctx, config, reg, lease, holder);
    delete e.state;
    return { done: true, note: `finished creating ${id} in ${e.path}` };
  });
}

const guardOf = (ctx: AppContext, e: InstanceEntry) => ({ home: ctx.paths.home, mainCheckout: e.parent_repo });

/**
 * Why the folder of an interrupted destroy may not be removed: it must be exactly the worktree kinfra creates for
 * `id`, and either carry kinfra's own marker for it (its .env.sandbox names the sandbox, says create made it and
 * names this kinfra's owner id) or the registry must say destroy had passed its last-moment check and begun.
 */
async function whyNotRemovable(ctx: AppContext, id: string, e: InstanceEntry): Promise<string | undefined> {
  if (!e.created_worktree) return 'kinfra did not create it';
  const notOurs = notCreatedWorktree(e.path, id, guardOf(ctx, e));
  if (notOurs) return notOurs;
  if (e.state === 'removing-worktree') return undefined;
  const env = await readEnvFile(e.path).catch(() => undefined);
  const owner = await ownerIdOrNone(ctx);
  if (env?.INSTANCE_ID === id && env[CREATED_WORKTREE_KEY] === 'true' && env[OWNER_KEY] === owner) return undefined;
  return 'it carries no marker of kinfra for this sandbox';
}

/**
 * A release killed between its two locked steps: finish its last one (the
 * slot's resources are reset at the next claim).
 */
async function finishRelease(ctx: AppContext, slot: number): Promise<Applied> {
  return ctx.registry.update(async (reg) => {
    const s = reg.slots[String(slot)];
    const mark = s && releaseMark(s);
    if (!s || !mark) return { done: false, note: 'no longer needed' };
    if (mark.pid !== undefined && processRuns(mark.pid))
      return { done: false, note: `kinfra pid ${mark.pid} is releasing it` };
    // Its resources may not have been reset: their adoption records stay, so the next
    // claim's reset can still prove them ours.
    const from = await completeRelease(reg, s, undefined);
    return {
      done: true,
      note:
        `finished the interrupted release of pool ` +
        `slot ${slot}${from ? ` (unregistered ${from}, whose claim it was releasing)` : ''}; ` +
        `its volumes are reset at the next claim`,
    };
  });
}

async function releaseClaim(ctx: AppContext, slot: number): Promise<Applied> {
  return ctx.registry.update((reg) => {
    const s = reg.slots[String(slot)];
    if (!s?.claimed_by || reg.instances[s.claimed_by]) return { done: false, note: 'no longer needed' };
    const was = s.claimed_by;
    Object.assign(s, { claimed_by: null, claimed_at: null });
    return {
      done: true,
      note: `released pool slot ${slot} (claimed by ${was}, which is gone; its volumes are reset at the next claim)`,
    };
  });
}

/** Provision again from the repository whose layout has a pool: it only writes what is missing or stale. */
async function reprovision(ctx: AppContext): Promise<Applied> {
  const reg = await ctx.registry.snapshot();
  const repos = new Set<string>();
  const here = await mainRoot(ctx.cwd).catch(() => undefined);
  if (here) repos.add(here);
  for (const e of Object.values(reg.instances))
    if (e.pool_slot !== undefined && pathExists(e.parent_repo)) repos.add(e.parent_repo);
  for (const repo of repos) {
    const config = await loadConfig(repo).catch(() => undefined);
    if (!config || poolPlan(config).length === 0) continue;
    const r = await provisionPool({ ...ctx, cwd: repo }, { dryRun: false });
    return {
      done: true,
      note: `provisioned the pool again from ${config.source} (${r.created} created, ${r.skipped} kept)`,
    };
  }
  return { done: false, note: 'no repository here declares a pool; run kinfra sandbox provision in your project' };
}

/** A slot folder an interrupted provision wrote: only kinfra's two generated files, and nothing running from it. */
async function removeSlotDir(ctx: AppContext, slot: number, path: string): Promise<Applied> {
  const files = await listFolder(path).catch(() => [] as string[]);
  // Its two files, and the temp files of their atomic writes that a provision
  // killed mid-write leaves (`<name>.<digits>`).
  const ours = (f: string) => /^(docker-compose\.yml|\.env\.sandbox)(\.\d+)?$/.test(f);
  if (!files.every(ours)) {
    return { done: false, note: `${path} holds files kinfra did not write; look at it, then remove it` };
  }
  const env = (await readEnvFile(path).catch(() => undefined)) ?? {};
  const project = env.COMPOSE_PROJECT_NAME;
  if (project) {
    if (await projectHasResources(project)) {
      return {
        done: false,
        note:
          `the compose project ${project} of ${path} still has containers or volumes; remove them with: ` +
          `docker compose -p ${project} down --volumes`,
      };
    }
  }
  return ctx.registry.update(async (reg) => {
    if (reg.slots[String(slot)]) return { done: false, note: 'no longer needed' };
    await removeTree(path);
    return { done: true, note: `removed ${path}, left by an interrupted provision` };
  });
}

/** Put a sandbox found on disk back in the registry, on the slot its .env.sandbox names. */
async function register(ctx: AppContext, path: string): Promise<Applied> {
  const found = await readFound(path);
  if (typeof found === 'string') return { done: false, note: found };
  // While the registry is lost, update refuses: registering one sandbox at a time
  // would let a create take a slot in between.
  return ctx.registry.update((reg) => registerFound(reg, found));
}

async function rewriteEnv(ctx: AppContext, id: string): Promise<Applied> {
  return ctx.registry.update(async (reg) => {
    const e = reg.instances[id];
    if (!e || !pathExists(e.path)) return { done: false, note: 'no longer needed' };
    const guarded = protectedReason(e.path, { home: ctx.paths.home, mainCheckout: e.is_worktree ? e.parent_repo : '' });
    if (guarded)
      return {
        done: false,
        note:
          `did not write a .env.sandbox into ${e.path}: ${guarded}; ` +
          `run kinfra sandbox destroy ${id} --keep-worktree`,
      };
    const config = await entryConfig(e.path, e);
    const clash = slotConflict(reg, { maxSlot: config.maxSlot, ports: config.ports }, id);
    if (clash) {
      return {
        done: false,
        note:
          `did not write ${join(e.path, ENV_FILE_NAME)} from the registry: ${clash}. Destroy one of them with ` +
          `--keep-worktree and run kinfra sandbox init in its folder`,
      };
    }
    const lease = entryLease(reg, config, e);
    if (!lease || !leaseHeldBy(reg, lease, id)) {
      const note = `${id} no longer holds pool slot ${e.pool_slot}; run kinfra sandbox destroy ${id} --keep-worktree`;
      return { done: false, note };
    }
    const createdWorktree = e.created_worktree ?? false;
    const owner = await ownerIdOrNone(ctx);
    const holder = { instanceId: id, path: e.path, createdAt: e.created_at, createdWorktree, owner };
    await writeLeaseEnv(ctx, config, lease, holder);
    return { done: true, note: `wrote ${join(e.path, '.env.sandbox')} again from the registry` };
  });
}

export { openFindings };
