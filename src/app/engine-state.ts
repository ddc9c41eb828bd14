// What the engine says about a compose project's containers, in the one vocabulary of list, slots and status.

import type { ContainerInfo, LabelledResource } from '../adapters/engine.js';
import { OWNER_LABEL, projectOwner, SANDBOX_LABEL, type Labelled } from '../core/ownership.js';

/** What the engine says about one compose project (counted honestly: running and healthy apart). */
export interface ProjectState {
  /** One vocabulary everywhere (list, slots, status): stopped means no container runs, none existing included. */
  state: 'running' | 'stopped' | 'partial';
  total: number;
  running: number;
  /** Containers whose healthcheck reports healthy; containers without a healthcheck are not counted. */
  healthy: number;
  unhealthy: number;
  /** Healthcheck not decided yet (Docker's first interval has not passed). */
  starting: number;
  withHealthcheck: number;
}

/**
 * Is this container the sandbox's? Its owner labels say so, or (made before kinfra labelled its resources) compose
 * ran it from the sandbox's folder. Another kinfra's container under the same project name is never counted.
 */
export function ownsContainer(c: ContainerInfo, owner: string, project: string, composeDir: string): boolean {
  if (c.project !== project) return false;
  const o = c.labels[OWNER_LABEL];
  if (o) return o === owner && c.labels[SANDBOX_LABEL] === project;
  return c.workingDir === composeDir;
}

export function projectState(
  containers: readonly ContainerInfo[],
  project: string,
  owns?: (c: ContainerInfo) => boolean,
): ProjectState {
  const mine = containers.filter((c) => c.project === project && (owns ? owns(c) : true));
  const running = mine.filter((c) => c.state === 'running').length;
  const withHealthcheck = mine.filter((c) => c.health !== undefined).length;
  const state = mine.length > 0 && running === mine.length ? 'running' : running === 0 ? 'stopped' : 'partial';
  return {
    state,
    total: mine.length,
    running,
    healthy: mine.filter((c) => c.health === 'healthy').length,
    unhealthy: mine.filter((c) => c.health === 'unhealthy').length,
    starting: mine.filter((c) => c.health === 'starting').length,
    withHealthcheck,
  };
}

/**
 * "running", "stopped", "partial 3/8" (the Status column of list and slots; list
 * says "missing" for a folder that is gone).
 */
export function stateLabel(p: ProjectState): string {
  return p.state === 'partial' ? `partial ${p.running}/${p.total}` : p.state;
}

/** Compose project names of kinfra's shape (`<prefix>--<name>`). */
export const SANDBOX_PROJECT = /^[a-z0-9][a-z0-9-]*?--[a-z0-9][a-z0-9_-]*$/;

/** A compose project of kinfra's naming as the engine holds it (list's orphans, doctor's facts). */
export interface ProjectResources {
  project: string;
  containers: number;
  running: number;
  volumes: string[];
  networks: string[];
}

/** A compose project that is someone else's: another kinfra's (owner label), or unlabelled and unregistered. */
export interface ForeignProject extends ProjectResources {
  owner: 'other-kinfra' | 'unlabelled';
  /** Its folder, as its labels say. */
  path: string | null;
}

export interface EngineProjects {
  /** This kinfra's own resources (its owner label) that no registry entry claims. */
  orphans: ProjectResources[];
  foreign: ForeignProject[];
}

const toLabelled = (
  kind: Labelled['kind'],
  r: { name: string; project: string | undefined; labels: Record<string, string>; workingDir?: string | undefined },
): Labelled => ({ kind, name: r.name, project: r.project, labels: r.labels, workingDir: r.workingDir });

/**
 * Sort the engine's compose projects by owner. `registered` names the projects this registry holds. Only this
 * kinfra's labelled resources can be orphans; another kinfra's projects (any name) and unlabelled projects of
 * kinfra's naming are someone else's, shown but never offered for removal.
 */
export function engineProjects(
  containers: readonly ContainerInfo[],
  volumes: readonly LabelledResource[],
  networks: readonly LabelledResource[],
  owner: string,
  registered: ReadonlySet<string>,
): EngineProjects {
  const names = new Set<string>();
  for (const r of [...containers, ...volumes, ...networks]) {
    if (r.project && (SANDBOX_PROJECT.test(r.project) || r.labels[OWNER_LABEL])) names.add(r.project);
  }
  const out: EngineProjects = { orphans: [], foreign: [] };
  for (const project of [...names].sort()) {
    const cs = containers.filter((c) => c.project === project);
    const vs = volumes.filter((v) => v.project === project);
    const ns = networks.filter((n) => n.project === project);
    const labelled = [
      ...cs.map((c) => toLabelled('container', { ...c, name: c.id })),
      ...vs.map((v) => toLabelled('volume', v)),
      ...ns.map((n) => toLabelled('network', n)),
    ];
    const theirs = labelled.filter((r) => r.labels[OWNER_LABEL] && r.labels[OWNER_LABEL] !== owner);
    const row = (rs: readonly Labelled[]): ProjectResources => {
      const ids = new Set(rs.map((r) => r.name));
      const mineCs = cs.filter((c) => ids.has(c.id));
      return {
        project,
        containers: mineCs.length,
        running: mineCs.filter((c) => c.state === 'running').length,
        volumes: vs.filter((v) => ids.has(v.name)).map((v) => v.name),
        networks: ns.filter((n) => ids.has(n.name)).map((n) => n.name),
      };
    };
    if (theirs.length > 0) {
      const who = projectOwner(theirs, owner);
      out.foreign.push({
        ...row(theirs),
        owner: 'other-kinfra',
        path: who.kind === 'this' ? null : (who.path ?? null),
      });
    }
    if (registered.has(project)) continue;
    const ours = labelled.filter((r) => r.labels[OWNER_LABEL] === owner);
    if (ours.length > 0) out.orphans.push(row(ours));
    const unlabelled = labelled.filter((r) => !r.labels[OWNER_LABEL]);
    if (unlabelled.length > 0 && SANDBOX_PROJECT.test(project)) {
      const who = projectOwner(unlabelled, owner);
      out.foreign.push({
        ...row(unlabelled),
        owner: 'unlabelled',
        path: who.kind === 'this' ? null : (who.path ?? null),
      });
    }
  }
  return out;
}
