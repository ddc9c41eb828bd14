// Slots the allocator must keep free beyond the registry's own: those named by unregistered .env.sandbox files of
// the repository, and those the Python tool's registry lists while that tool is still in use.
import { join } from 'node:path';
import { readEnvFile } from '../adapters/env-store.js';
import { pathExists } from '../adapters/folders.js';
import type { Worktree } from '../adapters/git.js';
import type { Registry } from '../core/registry/model.js';
import { pythonHeldSlots, pythonHolder } from '../core/registry/python.js';
import { identityFromEnv } from '../core/sandbox-env.js';
import type { AppContext } from './context.js';

/**
 * Slots named by .env.sandbox files of this repository's worktrees that the
 * registry does not know (e.g. after a corrupt registry was moved aside): the
 * allocator must not hand them out again.
 */
export async function unregisteredSlots(
  worktrees: readonly Worktree[],
  registry: Registry,
): Promise<Map<number, string>> {
  const registeredPaths = new Set(Object.values(registry.instances).map((e) => e.path));
  const reserved = new Map<number, string>();
  for (const wt of worktrees) {
    if (registeredPaths.has(wt.path) || !pathExists(join(wt.path, '.env.sandbox'))) continue;
    const env = await readEnvFile(wt.path).catch(() => undefined);
    const id = env && identityFromEnv(env);
    if (id && typeof id !== 'string' && id.slot > 0) {
      reserved.set(id.slot, `${id.instanceId} (unregistered, ${wt.path})`);
    }
  }
  return reserved;
}

/**
 * Slots the Python ktrdr's registry lists while that tool is still in use (its
 * file changed since kinfra imported it, or was never imported): it hands out
 * slots without knowing kinfra's, so kinfra keeps its slots free. `except` is a
 * folder being registered itself (init adopting a Python sandbox).
 */
export async function pythonReservedSlots(ctx: AppContext, except?: string): Promise<Map<number, string>> {
  const py = await ctx.registry.python();
  if (py.state !== 'changed' && py.state !== 'not-imported') return new Map();
  const held = pythonHeldSlots(py.registry).filter((h) => h.path !== except);
  return new Map(held.map((h) => [h.slot, pythonHolder(h.instanceId)]));
}

/** Every slot the allocator must not hand out beyond the registry's own: one rule for create and init. */
export async function reservedSlots(
  ctx: AppContext,
  worktrees: readonly Worktree[],
  registry: Registry,
  except?: string,
): Promise<Map<number, string>> {
  return new Map([...(await pythonReservedSlots(ctx, except)), ...(await unregisteredSlots(worktrees, registry))]);
}
