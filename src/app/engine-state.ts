import type { ContainerInfo } from '../adapters/engine.js';

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
