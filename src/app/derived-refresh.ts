// A branch that publishes a port its sandbox was not given gets it at the next `up`: derived from the sandbox's own
// worktree, kept in the registry with the others (which never move), and written to its .env.sandbox, all under the
// registry lock. Its steps avoid every port another sandbox holds or the engine publishes for something else.
import { loadConfig } from '../adapters/config-loader.js';
import { adHocLease } from '../core/slot-lease.js';
import { storeDerived, storedDerived } from '../core/derived-ports.js';
import { CREATED_WORKTREE_KEY, OWNER_KEY } from '../core/sandbox-env.js';
import type { Registry } from '../core/registry/model.js';
import type { AppContext } from './context.js';
import { deriveLayout } from './derived-layout.js';
import { publishedPorts } from './published-ports.js';
import { writeLeaseEnv } from './slot-lease.js';
import { resolveSandbox, type Sandbox } from './the-sandbox.js';
import { cannotIsolate } from './isolation.js';

function heldByOthers(registry: Registry, instanceId: string): Set<number> {
  const held = new Set<number>();
  for (const [id, e] of Object.entries(registry.instances)) {
    if (id !== instanceId) for (const port of Object.values(e.ports ?? {})) held.add(port);
  }
  return held;
}

/** The sandbox with every port its worktree publishes; itself when nothing was added (or Compose cannot tell). */
export async function refreshDerivedPorts(ctx: AppContext, s: Sandbox, registry: Registry): Promise<Sandbox> {
  if (s.entry.pool_slot !== undefined) return s;
  const keep = storedDerived(s.entry.derived_ports);
  const configured = await loadConfig(s.path, s.entry.parent_repo);
  const busy = await publishedPorts(s.project.name);
  const avoid = new Set([...heldByOthers(registry, s.instanceId), ...busy.keys()]);
  const layout = await deriveLayout(s.path, configured, keep, avoid).catch(() => undefined);
  if (layout && layout.problems.length > 0) throw cannotIsolate(s.instanceId, layout.problems);
  const added = layout?.derived.filter((d) => !keep.some((k) => k.env === d.env)) ?? [];
  if (!layout || added.length === 0) return s;
  await ctx.registry.update(async (r) => {
    const e = r.instances[s.instanceId];
    // Moved or destroyed meanwhile: resolving again below says what happened.
    if (!e || e.path !== s.path || e.slot !== s.slot) return;
    const all = [...storedDerived(e.derived_ports), ...added.filter((a) => !(e.derived_ports ?? {})[a.name])];
    e.derived_ports = storeDerived(all);
    e.ports = { ...(e.ports ?? {}), ...Object.fromEntries(added.map((a) => [a.name, a.base + a.step * e.slot])) };
    const holder = {
      instanceId: s.instanceId,
      path: s.path,
      createdAt: s.env.CREATED_AT ?? e.created_at,
      createdWorktree: s.env[CREATED_WORKTREE_KEY] === 'true',
      owner: s.env[OWNER_KEY],
    };
    await writeLeaseEnv(ctx, layout.config, adHocLease(e.slot), holder);
  });
  return resolveSandbox(ctx, { name: s.instanceId });
}
