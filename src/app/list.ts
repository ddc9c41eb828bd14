// `kinfra sandbox list`: the registered sandboxes with their engine state, and the compose projects of none.

import { engineSnapshot, type EngineSnapshot } from './ownership.js';
import { readEnvFile } from '../adapters/env-store.js';
import { pathExists } from '../adapters/folders.js';
import { isKinfraError } from '../core/errors.js';
import type { InstanceEntry, Registry } from '../core/registry/model.js';
import type { AppContext } from './context.js';
import {
  engineProjects,
  ownsContainer,
  projectState,
  stateLabel,
  type ForeignProject,
  type ProjectResources,
  type ProjectState,
} from './engine-state.js';
import { focusView, type FocusView } from './focus-state.js';
import { ownerIdOrNone } from './owner.js';
import { namedUrlsFor } from './router-address.js';
import type { HostnameUrls } from '../core/router/urls.js';

type NamedUrls = Awaited<ReturnType<typeof namedUrlsFor>>;
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
  /** Its URLs by name through the router. */
  hostnames: HostnameUrls;
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
  /** Compose projects of this kinfra's (its owner label) that no registry entry owns (never deleted). */
  orphans: OrphanProject[];
  /** Compose projects that are another kinfra's on this engine, or unlabelled: shown, never offered for removal. */
  foreign: ForeignProject[];
  /** Why there is no status, when Docker could not be asked. */
  engineError: { code: string; message: string; hint: string | undefined } | null;
  /** The sandbox the main checkout's ports forward to (`kinfra sandbox focus`), while its forwarder runs. */
  focus: FocusView | null;
}

/** One query per kind of resource, however many instances there are. */
type EngineView = EngineSnapshot;

/** `kinfra sandbox list`: every registered sandbox, after dropping stale entries. */
export async function listSandboxes(ctx: AppContext): Promise<ListResult> {
  const entriesOf = (registry: Registry, clean: boolean) => {
    const cleaned = clean ? removeStaleEntries(registry) : [];
    const slotProjects = Object.values(registry.slots)
      .filter((s) => typeof s.compose_project === 'string')
      .map((s) => ({ project: s.compose_project!, path: s.infrastructure_path }));
    return { entries: Object.entries(registry.instances), cleaned, slotProjects, registry };
  };
  const { entries, cleaned, slotProjects, registry } = await ctx.registry
    .update((registry) => entriesOf(registry, true))
    .catch(async (e: unknown) => {
      // A registry folder that cannot be written (read-only, full disk) can still be
      // listed; stale entries stay until it can.
      if (!(isKinfraError(e) && e.category === 'registry' && e.code.startsWith('file-'))) throw e;
      return entriesOf(await ctx.registry.snapshot(), false);
    });
  let view: EngineView | undefined;
  let engineError: ListResult['engineError'] = null;
  try {
    view = await engineSnapshot();
  } catch (e) {
    if (!isKinfraError(e)) throw e;
    engineError = { code: e.code, message: e.message, hint: e.hint };
  }
  const owner = await ownerIdOrNone(ctx);
  const named = await namedUrlsFor(ctx);
  const slotDirs = new Map(slotProjects.map((p) => [p.project, p.path]));
  const instances = await Promise.all(
    entries.map(([id, e]) => row(id, e, view, owner, slotDirs.get(e.compose_project ?? '') ?? e.path, named)),
  );
  instances.sort((a, b) => a.slot - b.slot || a.instanceId.localeCompare(b.instanceId));
  const ids = new Set([...entries.map(([id, e]) => e.compose_project ?? id), ...slotProjects.map((p) => p.project)]);
  const projects = view
    ? engineProjects(view.containers, view.volumes, view.networks, owner, ids)
    : { orphans: [], foreign: [] };
  return { instances, cleaned, ...projects, engineError, focus: await focusView(ctx, registry) };
}

async function row(
  instanceId: string,
  e: InstanceEntry,
  view: EngineView | undefined,
  owner: string,
  composeDir: string,
  named: NamedUrls,
): Promise<InstanceRow> {
  const project = e.compose_project ?? instanceId;
  const containers = view
    ? projectState(view.containers, project, (c) => ownsContainer(c, owner, project, composeDir))
    : null;
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
    hostnames: named(instanceId, ports, e.main_http),
    // The one other word: a registered folder that is gone (kept only when the registry cannot be written).
    status: !pathExists(e.path) ? 'missing' : containers ? stateLabel(containers) : null,
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
