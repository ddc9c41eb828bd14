import { listContainers, listProjectNetworks, listProjectVolumes, type ContainerInfo, type LabelledResource } from '../adapters/engine.js';
import { readEnvFile } from '../adapters/env-store.js';
import { isKinfraError } from '../core/errors.js';
import type { InstanceEntry, Registry } from '../core/registry/model.js';
import type { AppContext } from './context.js';
import { projectState, sandboxProjects, stateLabel, type ProjectResources, type ProjectState } from './engine-state.js';
import { removeStaleEntries } from './stale.js';

export interface InstanceRow {
  instanceId: string;
  slot: number;
  apiPort: number | undefined;
  path: string;
  branch: string | undefined;
  isWorktree: boolean;
  parentRepo: string;
  createdAt: string;
  ports: Record<string, number>;
  /** running, stopped, partial x/y, missing; null when the engine could not be asked. */
  status: string | null;
  containers: ProjectState | null;
  /** "creating" or "destroying" while such a command runs, or after it was killed (see doctor). */
  state: string | null;
}

export type OrphanProject = ProjectResources;

export interface ListResult {
  instances: InstanceRow[];
  /** Entries removed because their folder is gone. */
  cleaned: string[];
  /** Compose projects of kinfra's naming that no registry entry owns (never deleted). */
  orphans: OrphanProject[];
  /** Why there is no status, when Docker could not be asked. */
  engineError: { code: string; message: string; hint: string | undefined } | null;
}

interface EngineView {
  containers: ContainerInfo[];
  volumes: LabelledResource[];
  networks: LabelledResource[];
}

/** One query per kind of resource, however many instances there are. */
async function engineView(): Promise<EngineView> {
  const [containers, volumes, networks] = await Promise.all([listContainers(), listProjectVolumes(), listProjectNetworks()]);
  return { containers, volumes, networks };
}

function orphansOf(view: EngineView, owned: (project: string) => boolean): OrphanProject[] {
  return sandboxProjects(view.containers, view.volumes, view.networks).filter((p) => !owned(p.project));
}

/** `kinfra sandbox list`: every registered sandbox, after dropping stale entries. */
export async function listSandboxes(ctx: AppContext): Promise<ListResult> {
  const entriesOf = (registry: Registry, clean: boolean) => {
    const cleaned = clean ? removeStaleEntries(registry) : [];
    const slotProjects = Object.values(registry.slots).map((s) => s.compose_project).filter((p): p is string => typeof p === 'string');
    return { entries: Object.entries(registry.instances), cleaned, slotProjects };
  };
  const { entries, cleaned, slotProjects } = await ctx.registry.update((registry) => entriesOf(registry, true)).catch(async (e: unknown) => {
    // A registry folder that cannot be written (read-only, full disk) can still be listed; stale entries stay until it can.
    if (!(isKinfraError(e) && e.category === 'registry' && e.code.startsWith('file-'))) throw e;
    return entriesOf(await ctx.registry.peek(), false);
  });
  let view: EngineView | undefined;
  let engineError: ListResult['engineError'] = null;
  try {
    view = await engineView();
  } catch (e) {
    if (!isKinfraError(e)) throw e;
    engineError = { code: e.code, message: e.message, hint: e.hint };
  }
  const instances = await Promise.all(entries.map(([id, e]) => row(id, e, view)));
  instances.sort((a, b) => a.slot - b.slot || a.instanceId.localeCompare(b.instanceId));
  const ids = new Set([...entries.map(([id, e]) => e.compose_project ?? id), ...slotProjects]);
  const orphans = view ? orphansOf(view, (p) => ids.has(p)) : [];
  return { instances, cleaned, orphans, engineError };
}

async function row(instanceId: string, e: InstanceEntry, view: EngineView | undefined): Promise<InstanceRow> {
  const containers = view ? projectState(view.containers, e.compose_project ?? instanceId) : null;
  // Entries migrated from version 1 carry no ports: read them from the sandbox's file.
  const ports = e.ports ?? (await portsFromEnvFile(e.path));
  return {
    instanceId,
    slot: e.slot,
    apiPort: ports.api,
    path: e.path,
    branch: e.branch,
    isWorktree: e.is_worktree,
    parentRepo: e.parent_repo,
    createdAt: e.created_at,
    ports,
    status: containers ? stateLabel(containers) : null,
    containers,
    state: e.state ?? null,
  };
}

async function portsFromEnvFile(dir: string): Promise<Record<string, number>> {
  const env = await readEnvFile(dir).catch(() => undefined);
  const ports: Record<string, number> = {};
  for (const [key, value] of Object.entries(env ?? {})) {
    const m = /^[A-Z0-9]+_(.+)_PORT(?:_(\d+))?$/.exec(key);
    if (m && /^\d+$/.test(value)) ports[m[2] ? `worker_${m[2]}` : m[1]!.toLowerCase()] = Number(value);
  }
  return ports;
}
