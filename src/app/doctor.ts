// `kinfra sandbox doctor`: gathers the facts (registry, folders, engine, leftover files) that core/doctor.ts judges.

import { basename, dirname, join, sep } from 'node:path';
import { loadConfig } from '../adapters/config-loader.js';
import { entryConfig } from './entry-config.js';
import { detectCompose } from '../adapters/compose.js';
import {
  engineVersion,
  listContainers,
  listProjectNetworks,
  listProjectVolumes,
  type ContainerInfo,
} from '../adapters/engine.js';
import { readEnvFile } from '../adapters/env-store.js';
import { readTextIfExists } from '../adapters/file-store.js';
import { listFolder, modifiedAt, pathExists } from '../adapters/folders.js';
import { listWorktrees, mainRoot } from '../adapters/git.js';
import { expandHome } from '../adapters/paths.js';
import {
  diagnose,
  type DiskSandbox,
  type DoctorFacts,
  type Finding,
  type InstanceFacts,
  type PortHolding,
  type ProjectFacts,
  type PythonFacts,
} from '../core/doctor.js';
import { isKinfraError } from '../core/errors.js';
import { emptyRegistry, parseRegistryText, type Registry } from '../core/registry/model.js';
import { pythonHeldSlots } from '../core/registry/python.js';
import { releaseMark } from '../core/pool.js';
import { processRuns } from '../adapters/processes.js';
import { ENV_FILE_NAME, envPoolSlot, identityFromEnv, type EnvLayout } from '../core/sandbox-env.js';
import type { AppContext } from './context.js';
import { engineProjects, SANDBOX_PROJECT } from './engine-state.js';
import { ownerIdOrNone } from './owner.js';
import { OWNER_LABEL, PATH_LABEL } from '../core/ownership.js';
import { findPortConflicts } from './port-conflicts.js';
import { envDisagreement } from './env-agreement.js';
import { resolveSandbox } from './the-sandbox.js';
import { focusLiveness } from './focus-state.js';
import { databaseFacts } from './database-doctor.js';

/** A lock folder nobody has renewed for this long belongs to a killed process (proper-lockfile renews every 2 s). */
const STALE_LOCK_MS = 10_000;
/**
 * A registry temp file younger than this may be a write still under way (a writer that lost its lock to a stale
 * takeover can still be finishing it): --repair leaves it. A write takes milliseconds; a minute is far beyond any.
 */
export const TEMP_SAFE_AGE_MS = 60_000;

/** Look at everything kinfra owns on this machine and say what is wrong. Writes nothing. */
export async function gatherFacts(ctx: AppContext): Promise<DoctorFacts> {
  const [engine, compose, registry, python] = await Promise.all([
    checkEngine(),
    checkCompose(),
    readRegistry(ctx),
    pythonFacts(ctx),
  ]);
  const containers = engine.ok ? await listContainers().catch(() => undefined) : undefined;
  const reg = registry.ok ? registry.value : undefined;
  const instances = reg ? await Promise.all(Object.entries(reg.instances).map(([id, e]) => instanceFacts(id, e))) : [];
  const owner = await ownerIdOrNone(ctx);
  const engineDirs = await engineSandboxDirs(ctx, containers, owner);
  const repos = await knownRepos(ctx, reg, engineDirs);
  return {
    engine,
    compose,
    registryFile: ctx.paths.registry,
    registry,
    python,
    leftovers: await leftovers(ctx),
    instances,
    unregistered: await findUnregistered(reg, repos, engineDirs),
    slotDirs: await slotDirs(ctx),
    liveReleases: liveReleases(reg),
    projects: containers ? await projects(containers, owner, reg) : undefined,
    ports: reg && containers ? await portHoldings(ctx, reg, containers) : [],
    shared: await sharedDirs(ctx, repos),
    focus: reg ? await focusFacts(ctx, reg) : undefined,
    databases: reg && engine.ok ? await databaseFacts(reg, owner).catch(() => undefined) : undefined,
  };
}

/** The registry's focus record, if any, and whether it is live (its forwarder runs, its sandbox is registered). */
async function focusFacts(ctx: AppContext, reg: Registry): Promise<DoctorFacts['focus']> {
  const f = await focusLiveness(ctx, reg);
  if (!f) return undefined;
  const { instance, pid, since } = f.record;
  return { instance, pid, since, forwarderRuns: f.forwarderRuns, registered: f.registered };
}

export async function diagnoseAll(ctx: AppContext): Promise<Finding[]> {
  return diagnose(await gatherFacts(ctx));
}

async function checkEngine(): Promise<DoctorFacts['engine']> {
  try {
    return { ok: true, detail: `Docker ${await engineVersion()}` };
  } catch (e) {
    if (!isKinfraError(e)) throw e;
    return { ok: false, message: e.message, hint: e.hint };
  }
}

async function checkCompose(): Promise<DoctorFacts['compose']> {
  try {
    const tool = await detectCompose();
    return { ok: true, detail: `${tool.kind === 'v2' ? 'docker compose' : 'docker-compose'} ${tool.version}` };
  } catch (e) {
    if (!isKinfraError(e)) throw e;
    return { ok: false, message: e.message, hint: e.hint };
  }
}

/**
 * Read without the lock and without moving a bad file aside: doctor only looks. A registry that cannot even be
 * read as a file (a folder in its place, no permission) is a finding like one that does not parse, not a failure
 * of doctor itself.
 */
async function readRegistry(ctx: AppContext): Promise<DoctorFacts['registry']> {
  let text: string | undefined;
  try {
    text = await readTextIfExists(ctx.paths.registry);
  } catch (e) {
    if (!isKinfraError(e)) throw e;
    return { ok: false, reason: e.message, unreadable: true };
  }
  if (text === undefined) {
    const loss = await ctx.registry.loss();
    if (loss) {
      const why =
        loss.movedAside.length > 0
          ? `it is missing: it could not be read and was moved to ${loss.movedAside.join(', ')}, ` +
            `and it has not been rebuilt since`
          : `it is missing, although a registry existed (it imported Python ktrdr's registry, ` +
            `copied to ${loss.backups.join(', ')})`;
      return { ok: false, reason: `${why}; until it is rebuilt, no command hands out a slot` };
    }
    // An unreadable Python file that was never imported: the python finding says so; there is no registry yet.
    const py = await ctx.registry.python();
    return { ok: true, value: py.state === 'pending' ? py.registry : emptyRegistry() };
  }
  const parsed = parseRegistryText(text);
  return parsed.ok ? { ok: true, value: parsed.registry } : { ok: false, reason: parsed.reason };
}

/** The Python tool's file: undefined when there is none. */
async function pythonFacts(ctx: AppContext): Promise<PythonFacts | undefined> {
  const py = await ctx.registry.python();
  if (py.state === 'absent') return undefined;
  if (py.state === 'unreadable') {
    // Never imported and no registry yet: every command refuses to start one (registry-store.ts load).
    const blocking = !py.imported && !pathExists(ctx.paths.registry) && !(await ctx.registry.loss());
    return { file: py.file, state: 'unreadable', reason: py.reason, imported: py.imported, blocking };
  }
  return {
    file: py.file,
    state: py.state,
    version: py.version,
    backup: 'backup' in py ? py.backup : undefined,
    sandboxes: Object.keys(py.registry.instances).length,
    held: pythonHeldSlots(py.registry).map(({ slot, instanceId }) => ({ slot, instanceId })),
  };
}

async function instanceFacts(instanceId: string, entry: Registry['instances'][string]): Promise<InstanceFacts> {
  const folderExists = pathExists(entry.path);
  const config = folderExists ? await entryConfig(entry.path, entry).catch(() => undefined) : undefined;
  const env = folderExists ? await envIdentity(entry.path, config) : undefined;
  // Every value, ports included: a hand-edited port is a disagreement like any other.
  const raw =
    config && env && typeof env !== 'string' ? await readEnvFile(entry.path).catch(() => undefined) : undefined;
  return {
    instanceId,
    entry,
    folderExists,
    isCheckout: folderExists && pathExists(join(entry.path, '.git')),
    env,
    disagreement: config && raw ? envDisagreement(raw, instanceId, entry, config) : undefined,
  };
}

async function envIdentity(dir: string, layout: EnvLayout | undefined): Promise<InstanceFacts['env']> {
  let env;
  try {
    env = await readEnvFile(dir);
  } catch (e) {
    return `it cannot be read (${(e as Error).message})`;
  }
  if (!env) return undefined;
  const id = identityFromEnv(env, layout);
  return typeof id === 'string' ? id : { ...id, project: env.COMPOSE_PROJECT_NAME };
}

/** Temp files of atomic writes a killed process left, and lock folders nobody renews. */
async function leftovers(ctx: AppContext): Promise<DoctorFacts['leftovers']> {
  const dir = dirname(ctx.paths.registry);
  const names = await listFolder(dir).catch(() => [] as string[]);
  const base = basename(ctx.paths.registry);
  const found: DoctorFacts['leftovers'] = [];
  for (const name of names) {
    const path = join(dir, name);
    // write-file-atomic writes `<file>.<hash>` and renames it over the file.
    if (name.startsWith(`${base}.`) && /^\d+$|^[0-9a-f]{6,}$/.test(name.slice(base.length + 1))) {
      const age = Date.now() - ((await modifiedAt(path)) ?? Date.now());
      found.push(
        age >= TEMP_SAFE_AGE_MS
          ? { path, what: 'Temp file of a registry write that was killed' }
          : {
              path,
              what:
                `Temp file of a registry write, ${Math.round(age / 1000)} s old (its writer may still be ` +
                `running; --repair removes it once it is ${TEMP_SAFE_AGE_MS / 1000} s old)`,
            },
      );
    } else if (name === `${base}.lock`) {
      const age = Date.now() - ((await modifiedAt(path)) ?? Date.now());
      if (age > STALE_LOCK_MS)
        found.push({ path, what: `Registry lock not renewed for ${Math.round(age / 1000)} s (its kinfra was killed)` });
    }
  }
  return found;
}

/**
 * Repositories whose sandboxes doctor looks for: the one here and every
 * registered one. The Engine is shared by every user (and every HOME) of the
 * machine, so a compose project's folder adds its repository only when it is
 * this user's: under this HOME, or its .env.sandbox names this HOME.
 */
export async function knownRepos(
  ctx: AppContext,
  reg: Registry | undefined,
  engineDirs: readonly string[],
): Promise<string[]> {
  const candidates = new Set<string>();
  const here = await mainRoot(ctx.cwd).catch(() => undefined);
  if (here) candidates.add(here);
  for (const e of Object.values(reg?.instances ?? {}))
    if (e.parent_repo && pathExists(e.parent_repo)) candidates.add(e.parent_repo);
  for (const d of engineDirs) {
    const root = await mainRoot(d).catch(() => undefined);
    if (root) candidates.add(root);
  }
  return [...candidates];
}

/** Folders compose projects of kinfra's naming ran from, that belong to this HOME. */
export async function engineSandboxDirs(
  ctx: AppContext,
  containers: ContainerInfo[] | undefined,
  owner: string,
): Promise<string[]> {
  const all = containers ?? [];
  // Labelled: its owner label says whose it is. Unlabelled (an older kinfra): only a folder of this HOME's.
  const labelled = all
    .filter((c) => c.labels[OWNER_LABEL] === owner && c.labels[PATH_LABEL])
    .map((c) => c.labels[PATH_LABEL]!);
  const dirs = new Set(
    all
      .filter((c) => !c.labels[OWNER_LABEL] && c.project && SANDBOX_PROJECT.test(c.project) && c.workingDir)
      .map((c) => c.workingDir!),
  );
  const mine: string[] = [...new Set(labelled)].filter((d) => pathExists(d));
  for (const d of dirs) {
    if (!pathExists(d)) continue;
    const home = ctx.paths.home.endsWith(sep) ? ctx.paths.home : ctx.paths.home + sep;
    const text = await readTextIfExists(join(d, ENV_FILE_NAME)).catch(() => undefined);
    if (d.startsWith(home) || text?.includes(home)) mine.push(d);
  }
  return mine;
}

export async function findUnregistered(
  reg: Registry | undefined,
  repos: string[],
  engineDirs: readonly string[],
): Promise<DiskSandbox[]> {
  const registered = new Set(Object.values(reg?.instances ?? {}).map((e) => e.path));
  const found = new Map<string, DiskSandbox>();
  const consider = async (path: string, foundBy: DiskSandbox['foundBy']) => {
    if (registered.has(path) || found.has(path) || !pathExists(join(path, ENV_FILE_NAME))) return;
    const env = await readEnvFile(path).catch(() => undefined);
    if (!env?.INSTANCE_ID) return;
    // Checked against the folder's own layout: a slot beyond its slots.max, or a port out
    // of range, is reported, never registered.
    const id = identityFromEnv(env, await loadConfig(path).catch(() => undefined));
    const slot = /^\d+$/.test(env.SLOT_NUMBER ?? env.SLOT_ID ?? '')
      ? Number(env.SLOT_NUMBER ?? env.SLOT_ID)
      : undefined;
    found.set(
      path,
      typeof id === 'string'
        ? { path, instanceId: env.INSTANCE_ID, slot, poolSlot: undefined, foundBy, unusable: id }
        : { path, instanceId: id.instanceId, slot: id.slot, poolSlot: envPoolSlot(env), foundBy },
    );
  };
  for (const repo of repos) {
    for (const wt of await listWorktrees(repo).catch(() => [])) await consider(wt.path, 'worktree');
    // create puts sandboxes beside the main checkout; a clone initialised there is a sandbox too.
    const parent = dirname(repo);
    for (const name of await listFolder(parent).catch(() => [] as string[]))
      await consider(join(parent, name), 'sibling');
  }
  for (const d of engineDirs) await consider(d, 'engine');
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path));
}

async function slotDirs(ctx: AppContext): Promise<DoctorFacts['slotDirs']> {
  const names = await listFolder(ctx.paths.sandboxesDir).catch(() => [] as string[]);
  return names
    .map((n) => /^slot-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const path = join(ctx.paths.sandboxesDir, m[0]);
      return { slot: Number(m[1]), path, hasCompose: pathExists(join(path, 'docker-compose.yml')) };
    })
    .sort((a, b) => a.slot - b.slot);
}

/** Slots whose release mark names a process that still runs: a release under way, not one to finish. */
function liveReleases(reg: Registry | undefined): number[] {
  return Object.values(reg?.slots ?? {})
    .filter((s) => {
      const pid = releaseMark(s)?.pid;
      return pid !== undefined && processRuns(pid);
    })
    .map((s) => s.slot_id);
}

async function projects(containers: ContainerInfo[], owner: string, reg: Registry | undefined): Promise<ProjectFacts> {
  const [volumes, networks] = await Promise.all([
    listProjectVolumes().catch(() => []),
    listProjectNetworks().catch(() => []),
  ]);
  const registered = new Set([
    ...Object.entries(reg?.instances ?? {}).map(([id, e]) => e.compose_project ?? id),
    ...Object.values(reg?.slots ?? {})
      .map((s) => s.compose_project)
      .filter((p): p is string => typeof p === 'string'),
  ]);
  return engineProjects(containers, volumes, networks, owner, registered);
}

/** Ports of registered sandboxes held by something other than that sandbox (and by what). */
async function portHoldings(ctx: AppContext, reg: Registry, containers: ContainerInfo[]): Promise<PortHolding[]> {
  const out: PortHolding[] = [];
  for (const [id, e] of Object.entries(reg.instances)) {
    if (e.state || !pathExists(join(e.path, ENV_FILE_NAME))) continue;
    const s = await resolveSandbox({ ...ctx, cwd: e.path }, { registry: reg }).catch(() => undefined);
    if (!s || s.instanceId !== id) continue;
    for (const c of await findPortConflicts(s, containers, reg))
      out.push({ instanceId: id, port: c.port, env: c.env, holder: c.holder });
  }
  return out;
}

async function sharedDirs(ctx: AppContext, repos: string[]): Promise<DoctorFacts['shared']> {
  const seen = new Set<string>();
  for (const repo of repos) {
    const config = await loadConfig(repo).catch(() => undefined);
    if (!config?.shared) continue;
    const root = expandHome(config.shared.root, ctx.paths.home);
    for (const d of config.shared.dirs) seen.add(join(root, d.name));
  }
  return [...seen].sort().map((path) => ({ path, exists: pathExists(path) }));
}
