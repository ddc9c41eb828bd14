// The ownership rule applied to the engine: every stop, removal and deletion of kinfra goes through here, and acts only
// on what this registry provably owns (docs/architecture.md, "Ownership").

import {
  type ContainerInfo,
  type LabelledResource,
  containerLabelled,
  listContainers,
  listProjectNetworks,
  listProjectVolumes,
  removeContainers,
  removeNetworks,
  removeVolumes,
  resourceLabelled,
} from '../adapters/engine.js';
import { conflictError, isKinfraError } from '../core/errors.js';
import {
  foreignFolder,
  inventory,
  OWNER_LABEL,
  type Claim,
  type Labelled,
  type ProjectInventory,
  type Stamp,
} from '../core/ownership.js';
import type { Registry } from '../core/registry/model.js';
import type { AppContext } from './context.js';

/** Volumes adopted at an `up` (resources made before kinfra labelled them), per compose project. */
export function adoptedVolumes(registry: Registry, project: string): Record<string, string> {
  const all = registry.adopted_volumes as Record<string, Record<string, string>> | undefined;
  return all?.[project] ?? {};
}

export function claimFor(stamp: Stamp, registry: Registry): Claim {
  return {
    owner: stamp.owner,
    sandbox: stamp.sandbox,
    composeDir: stamp.path,
    adopted: adoptedVolumes(registry, stamp.sandbox),
  };
}

/** What the engine holds, in three queries: one snapshot serves every check of a command. */
export interface EngineSnapshot {
  containers: ContainerInfo[];
  volumes: LabelledResource[];
  networks: LabelledResource[];
}

export async function engineSnapshot(): Promise<EngineSnapshot> {
  const [containers, volumes, networks] = await Promise.all([
    listContainers(),
    listProjectVolumes(),
    listProjectNetworks(),
  ]);
  return { containers, volumes, networks };
}

/** Every container, volume and network of compose project `project`. */
export async function projectResources(project: string, snapshot?: EngineSnapshot): Promise<Labelled[]> {
  const { containers, volumes, networks } = snapshot ?? (await engineSnapshot());
  return [
    ...containers.filter((c) => c.project === project).map(containerLabelled),
    ...volumes.filter((v) => v.project === project).map((v) => resourceLabelled('volume', v)),
    ...networks.filter((n) => n.project === project).map((n) => resourceLabelled('network', n)),
  ];
}

export async function projectInventory(
  stamp: Stamp,
  registry: Registry,
  snapshot?: EngineSnapshot,
): Promise<ProjectInventory> {
  return inventory(await projectResources(stamp.sandbox, snapshot), claimFor(stamp, registry));
}

/**
 * Refuse to run a project whose name the engine already uses for someone
 * else's resources: another kinfra's (its owner label), or containers compose
 * ran from another folder without labels. Compose would take them over. For a
 * new sandbox (`anyUnlabelled`), every unproven resource counts: it cannot be
 * this sandbox's yet.
 */
export function assertProjectFree(inv: ProjectInventory, project: string, what: string, anyUnlabelled = false): void {
  const unproven = anyUnlabelled ? inv.unproven : inv.unproven.filter((r) => r.kind === 'container');
  const others = [...inv.foreign, ...unproven];
  if (others.length === 0) return;
  const folder = foreignFolder(others);
  const byKinfra = others.some((r) => (r.labels[OWNER_LABEL] ?? '') !== '');
  throw conflictError(
    'project-owned-elsewhere',
    `Cannot ${what}: the compose project ${project} on this Docker engine belongs ` +
      `to ${byKinfra ? "another kinfra's sandbox" : 'something else'}` +
      `${folder ? ` (${folder})` : ''}: ${others.length} resource(s) (${summary(others)}).`,
    'The engine is shared by every user and tool of this machine; kinfra never takes over resources it does not own. ' +
      'Use another sandbox name (kinfra sandbox create <other-name>), or stop that stack from its own folder.',
    { project, folder: folder ?? null, resources: others.map((r) => `${r.kind} ${r.name}`) },
  );
}

function summary(rs: readonly Labelled[]): string {
  const count = (k: Labelled['kind']) => rs.filter((r) => r.kind === k).length;
  return (['container', 'volume', 'network'] as const)
    .filter((k) => count(k) > 0)
    .map((k) => `${count(k)} ${k}(s)`)
    .join(', ');
}

export interface Removal {
  containers: number;
  volumes: number;
  networks: number;
  /** Unlabelled volumes of the project nobody proved are this sandbox's: kept (or asked about). */
  keptVolumes: string[];
  /** Resources of the same project name that are someone else's: never touched. */
  foreign: string[];
}

/**
 * Remove what this sandbox owns: its containers (labelled, or compose-run from
 * its folder before labels existed), its volumes (labelled or adopted), and
 * `alsoVolumes` among the unproven ones (only those the user confirmed), then
 * the project's networks when nothing foreign shares the project.
 */
export async function removeOwned(inv: ProjectInventory, alsoVolumes: readonly string[] = []): Promise<Removal> {
  const mine = [...inv.ours, ...inv.legacy];
  const containers = mine.filter((r) => r.kind === 'container').map((r) => r.name);
  const confirmed = new Set(alsoVolumes);
  const unprovenVolumes = inv.unproven.filter((r) => r.kind === 'volume');
  const volumes = [
    ...mine.filter((r) => r.kind === 'volume').map((r) => r.name),
    ...unprovenVolumes.filter((v) => confirmed.has(v.name)).map((v) => v.name),
  ];
  // Networks hold no data, and the engine refuses to remove one a container still uses.
  const noForeign = inv.foreign.length === 0 && !inv.unproven.some((r) => r.kind === 'container');
  const networks = [...inv.ours, ...(noForeign ? [...inv.legacy, ...inv.unproven] : [])]
    .filter((r) => r.kind === 'network')
    .map((r) => r.name);
  await removeContainers(containers);
  await removeVolumes(volumes);
  await removeNetworks(networks);
  return {
    containers: containers.length,
    volumes: volumes.length,
    networks: networks.length,
    keptVolumes: unprovenVolumes.filter((v) => !confirmed.has(v.name)).map((v) => v.name),
    foreign: inv.foreign.map((r) => `${r.kind} ${r.name}`),
  };
}

/**
 * After an `up` with the ownership layer: the project's containers now carry
 * this registry's labels, so the unlabelled volumes they mount are this
 * sandbox's (made before kinfra labelled its resources). Record them, with
 * their creation time, so a volume deleted and made again by someone else under
 * the same name is never taken for the adopted one.
 */
export async function adoptMountedVolumes(ctx: AppContext, stamp: Stamp): Promise<string[]> {
  const [containers, volumes] = await Promise.all([listContainers(), listProjectVolumes()]);
  const ours = containers.filter((c) => c.project === stamp.sandbox && c.labels[OWNER_LABEL] === stamp.owner);
  const mounted = new Set(ours.flatMap((c) => c.volumes));
  const candidates = volumes.filter(
    (v) => v.project === stamp.sandbox && !v.labels[OWNER_LABEL] && mounted.has(v.name),
  );
  if (candidates.length === 0) return [];
  await ctx.registry.update((r) => {
    const all = (r.adopted_volumes ?? {}) as Record<string, Record<string, string>>;
    all[stamp.sandbox] = {
      ...(all[stamp.sandbox] ?? {}),
      ...Object.fromEntries(candidates.map((v) => [v.name, v.createdAt ?? ''])),
    };
    r.adopted_volumes = all;
  });
  return candidates.map((v) => v.name);
}

/** Forget the adoption records of a project whose volumes are gone (destroy, release). */
export function forgetAdopted(registry: Registry, project: string): void {
  const all = registry.adopted_volumes as Record<string, unknown> | undefined;
  if (all && project in all) {
    delete all[project];
    if (Object.keys(all).length === 0) delete registry.adopted_volumes;
  }
}

/**
 * create and init: refuse a compose project name the engine already uses for resources this registry does not
 * own (another kinfra's sandbox of the same name, or a stack of another tool). Skipped when the engine cannot be
 * asked: `up` checks again before it starts anything.
 */
export async function assertNameFreeOnEngine(
  project: string,
  folder: string,
  owner: string,
  what: string,
): Promise<void> {
  let resources: Labelled[];
  try {
    resources = await projectResources(project);
  } catch (e) {
    if (isKinfraError(e) && e.category === 'engine') return;
    throw e;
  }
  assertProjectFree(
    inventory(resources, { owner, sandbox: project, composeDir: folder, adopted: {} }),
    project,
    what,
    true,
  );
}
