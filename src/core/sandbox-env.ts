// The .env.sandbox file: its name, the keys kinfra relies on, and what a file read from disk says about its
// sandbox (range-checked once, here). Its contents are written from a slot lease (slot-lease.ts). Pure.
import type { EnvMap } from './env-file.js';
import { MAX_PORT, SLOT_LIMIT, type NamedPort } from './ports.js';

export const ENV_FILE_NAME = '.env.sandbox';
export const SANDBOX_VERSION = '1';

/** Marks a .env.sandbox written by `create`, whose worktree kinfra made. */
export const CREATED_WORKTREE_KEY = 'KINFRA_CREATED_WORKTREE';
/** The owner id of the kinfra whose `create` made the worktree. */
export const OWNER_KEY = 'KINFRA_OWNER';

/** Names the pool slot a worktree's .env.sandbox claims (absent for an ad-hoc slot). */
export const POOL_SLOT_KEY = 'KINFRA_POOL_SLOT';

/** The pool slot a .env.sandbox names, when it names one as a slot number. */
export function envPoolSlot(env: EnvMap): number | undefined {
  const named = env[POOL_SLOT_KEY];
  return named !== undefined && /^\d+$/.test(named) ? Number(named) : undefined;
}

/** What identityFromEnv knows of the layout, when the caller has one: its highest slot and its port variables. */
export interface EnvLayout {
  maxSlot: number;
  ports: readonly NamedPort[];
}

/**
 * The variables of `env` that hold a published port: the layout's, a pool profile's
 * extra workers, and any *_PORT / *_PORT_N.
 */
function portKeys(env: EnvMap, layout: EnvLayout | undefined): string[] {
  const named = new Set(layout?.ports.map((p) => p.env) ?? []);
  const worker = layout?.ports.find((p) => p.worker === 1)?.env.replace(/1$/, '');
  return Object.keys(env).filter(
    (k) =>
      named.has(k) ||
      (worker !== undefined && k.startsWith(worker) && /^\d+$/.test(k.slice(worker.length))) ||
      /_PORT(_\d+)?$/.test(k),
  );
}

/**
 * What a .env.sandbox says about its instance, or a reason it says nothing usable. Every number it is trusted
 * with is range-checked here, once: the slot (0-99, and within the layout's slots when the caller knows the
 * layout) and every port (1-65535). A hand-edited 70000 must be a finding, not a crash when something binds it.
 */
export function identityFromEnv(env: EnvMap, layout?: EnvLayout): { instanceId: string; slot: number } | string {
  const instanceId = env.INSTANCE_ID;
  // Digits only: Number('') is 0, which would silently mean the main checkout's ports.
  const raw = [env.SLOT_NUMBER, env.SLOT_ID].find((v) => v !== undefined && v.trim() !== '')?.trim();
  if (!instanceId) return 'it has no INSTANCE_ID';
  if (raw === undefined || !/^\d+$/.test(raw)) return 'it has no valid SLOT_NUMBER';
  const slot = Number(raw);
  const max = Math.min(layout?.maxSlot ?? SLOT_LIMIT, SLOT_LIMIT);
  if (slot > max) return `it names slot ${slot}, outside ${layout ? "this layout's" : 'the'} slots 0-${max}`;
  for (const key of portKeys(env, layout)) {
    const v = env[key]!.trim();
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_PORT)
      return `its ${key} is ${JSON.stringify(env[key])}, not a port number (1-${MAX_PORT})`;
  }
  return { instanceId, slot };
}
