import type { Config } from './config/config.js';
import type { EnvLine, EnvMap } from './env-file.js';
import { portsForSlot } from './ports.js';

export const ENV_FILE_NAME = '.env.sandbox';
export const SANDBOX_VERSION = '1';

export interface SandboxIdentity {
  instanceId: string;
  slot: number;
  createdAt: string;
  /** Absolute shared root, already expanded (compose does not expand ~). */
  sharedRoot: string | undefined;
  /** kinfra made the worktree (create): recorded so a registry rebuilt from disk knows destroy may remove it. */
  createdWorktree?: boolean;
  /** The owner id of the kinfra that made it: with createdWorktree, the marker that lets repair remove what is left of it. */
  owner?: string | undefined;
}

/** Marks a .env.sandbox written by `create`, whose worktree kinfra made. */
export const CREATED_WORKTREE_KEY = 'KINFRA_CREATED_WORKTREE';
/** The owner id of the kinfra whose `create` made the worktree. */
export const OWNER_KEY = 'KINFRA_OWNER';

/** The lines of .env.sandbox, grouped and commented as in seed 001. */
export function sandboxEnvLines(config: Config, id: SandboxIdentity): EnvLine[] {
  const lines: EnvLine[] = [
    { comment: 'Written by kinfra. Do not edit: `kinfra sandbox` commands rely on it.' },
    { comment: '' },
    { comment: 'Instance Identity' },
    { key: 'INSTANCE_ID', value: id.instanceId },
    { key: 'COMPOSE_PROJECT_NAME', value: id.instanceId },
    { key: 'SLOT_NUMBER', value: String(id.slot) },
    { comment: '' },
    { comment: 'Published Ports' },
    ...portsForSlot(config.ports, id.slot).map((p) => ({ key: p.env, value: String(p.port) })),
  ];
  if (config.shared && id.sharedRoot) {
    lines.push({ comment: '' }, { comment: 'Shared Data' }, { key: config.shared.env, value: id.sharedRoot });
    for (const d of config.shared.dirs) lines.push({ key: d.env, value: `${id.sharedRoot}/${d.name}` });
  }
  lines.push(
    { comment: '' },
    { comment: 'Metadata' },
    { key: 'CREATED_AT', value: id.createdAt },
    { key: 'SANDBOX_VERSION', value: SANDBOX_VERSION },
  );
  if (id.createdWorktree) lines.push({ key: CREATED_WORKTREE_KEY, value: 'true' });
  if (id.createdWorktree && id.owner) lines.push({ key: OWNER_KEY, value: id.owner });
  return lines;
}

/** What a .env.sandbox says about its instance, or a reason it says nothing usable. */
export function identityFromEnv(env: EnvMap): { instanceId: string; slot: number } | string {
  const instanceId = env.INSTANCE_ID;
  // Digits only: Number('') is 0, which would silently mean the main checkout's ports.
  const raw = [env.SLOT_NUMBER, env.SLOT_ID].find((v) => v !== undefined && v.trim() !== '')?.trim();
  if (!instanceId) return 'it has no INSTANCE_ID';
  if (raw === undefined || !/^\d+$/.test(raw)) return 'it has no valid SLOT_NUMBER';
  return { instanceId, slot: Number(raw) };
}
