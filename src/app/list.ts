import { readEnvFile } from '../adapters/env-store.js';
import type { InstanceEntry } from '../core/registry/model.js';
import type { AppContext } from './context.js';
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
}

export interface ListResult {
  instances: InstanceRow[];
  /** Entries removed because their folder is gone. */
  cleaned: string[];
}

/** `kinfra sandbox list`: every registered sandbox, after dropping stale entries. */
export async function listSandboxes(ctx: AppContext): Promise<ListResult> {
  const { entries, cleaned } = await ctx.registry.update((registry) => {
    const cleaned = removeStaleEntries(registry);
    return { entries: Object.entries(registry.instances), cleaned };
  });
  const instances = await Promise.all(entries.map(([id, e]) => row(id, e)));
  instances.sort((a, b) => a.slot - b.slot || a.instanceId.localeCompare(b.instanceId));
  return { instances, cleaned };
}

async function row(instanceId: string, e: InstanceEntry): Promise<InstanceRow> {
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
