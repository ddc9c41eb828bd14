import type { ContainerInfo, LabelledResource } from '../adapters/engine.js';

/** What the engine says about one compose project (counted honestly: running and healthy apart). */
export interface ProjectState {
  state: 'running' | 'stopped' | 'partial' | 'missing';
  total: number;
  running: number;
  /** Containers whose healthcheck reports healthy; containers without a healthcheck are not counted. */
  healthy: number;
  unhealthy: number;
  /** Healthcheck not decided yet (Docker's first interval has not passed). */
  starting: number;
  withHealthcheck: number;
}

export function projectState(containers: readonly ContainerInfo[], project: string): ProjectState {
  const mine = containers.filter((c) => c.project === project);
  const running = mine.filter((c) => c.state === 'running').length;
  const withHealthcheck = mine.filter((c) => c.health !== undefined).length;
  const state = mine.length === 0 ? 'missing' : running === mine.length ? 'running' : running === 0 ? 'stopped' : 'partial';
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

/** "running", "stopped", "partial 3/8", "missing" (the list's Status column). */
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

/** Every compose project of kinfra's shape among these containers, volumes and networks. */
export function sandboxProjects(
  containers: readonly ContainerInfo[], volumes: readonly LabelledResource[], networks: readonly LabelledResource[],
): ProjectResources[] {
  const names = new Set<string>();
  for (const r of [...containers, ...volumes, ...networks]) if (r.project && SANDBOX_PROJECT.test(r.project)) names.add(r.project);
  return [...names].sort().map((project) => {
    const cs = containers.filter((c) => c.project === project);
    return {
      project,
      containers: cs.length,
      running: cs.filter((c) => c.state === 'running').length,
      volumes: volumes.filter((v) => v.project === project).map((v) => v.name),
      networks: networks.filter((n) => n.project === project).map((n) => n.name),
    };
  });
}
