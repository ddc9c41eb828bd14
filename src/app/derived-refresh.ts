// A branch that publishes a port its sandbox was not given gets it at the next `up`: derived from the sandbox's own
// worktree, kept in the registry with the others (which never move), and written to its .env.sandbox, all under the
// registry lock. Its steps avoid every port another sandbox holds or the engine publishes for something else.
import { loadConfig } from '../adapters/config-loader.js';
import { adHocLease } from '../core/slot-lease.js';
import { storeDerived, storedDerived, withDerivedPorts, type DerivedPort } from '../core/derived-ports.js';
import { publishedEntries } from '../core/compose-model.js';
import { conflictError } from '../core/errors.js';
import { CREATED_WORKTREE_KEY, OWNER_KEY } from '../core/sandbox-env.js';
import type { Registry } from '../core/registry/model.js';
import type { AppContext } from './context.js';
import { deriveLayout } from './derived-layout.js';
import { portsPublishedBy, publishedPorts } from './published-ports.js';
import { heldPorts } from '../core/registry/slots.js';
import type { ContainerInfo } from '../adapters/engine.js';
import { writeLeaseEnv } from './slot-lease.js';
import { resolveSandbox, type Sandbox } from './the-sandbox.js';
import { cannotIsolate } from './isolation.js';

/**
 * Ports of the sandbox (its own and those it is about to get) that its compose files, as they stand, publish in the
 * main checkout: the two would collide whenever both run.
 */
function mainClashes(s: Sandbox, effective: unknown, added: readonly DerivedPort[]): string[] {
  const main = new Map(publishedEntries(effective).map((e) => [e.host, e.service]));
  const mine = [
    ...s.ports.map((p) => ({ env: p.env, port: p.port })),
    ...added.map((a) => ({ env: a.env, port: a.base + a.step * s.slot })),
  ];
  return mine
    .filter((p) => main.has(p.port))
    .map(
      (p) =>
        `this sandbox's ${p.env} is ${p.port}, which service ${main.get(p.port)} publishes in the main checkout: ` +
        'destroy it with --keep-worktree and init it again to move it',
    );
}

/** The sandbox with every port its worktree publishes; itself when nothing was added (or Compose cannot tell). */
export async function refreshDerivedPorts(
  ctx: AppContext,
  s: Sandbox,
  registry: Registry,
  containers?: readonly ContainerInfo[],
): Promise<Sandbox> {
  if (s.entry.pool_slot !== undefined) return s;
  const keep = storedDerived(s.entry.derived_ports);
  const configured = await loadConfig(s.path, s.entry.parent_repo);
  // `up` lists the engine's containers once and passes them; read here only for a caller that has none.
  const busy = containers ? portsPublishedBy(containers, s.project.name) : await publishedPorts(s.project.name);
  const avoid = new Set([...heldPorts(registry, s.instanceId).keys(), ...busy.keys()]);
  const layout = await deriveLayout(s.path, configured, keep, avoid).catch(() => undefined);
  if (!layout) return s;
  const added = layout.derived.filter((d) => !keep.some((k) => k.env === d.env));
  const clashes = [...layout.problems, ...mainClashes(s, layout.effective, added)];
  if (clashes.length > 0) throw cannotIsolate(s.instanceId, clashes);
  if (added.length === 0) return s;
  await ctx.registry.update(async (r) => {
    const e = r.instances[s.instanceId];
    // Moved or destroyed meanwhile: resolving again below says what happened.
    if (!e || e.path !== s.path || e.slot !== s.slot) return;
    const have = storedDerived(e.derived_ports);
    const fresh = added.filter((a) => !have.some((h) => h.env === a.env || h.name === a.name));
    // Chosen from a snapshot: under the lock, each value must still be nobody else's (another up added it meanwhile).
    const held = heldPorts(r, s.instanceId);
    const taken = fresh.find((a) => held.has(a.base + a.step * e.slot));
    if (taken) {
      throw conflictError(
        'port-taken-meanwhile',
        `Port ${taken.base + taken.step * e.slot}, which ${s.instanceId} was to get for ${taken.service}, was ` +
          'given to another sandbox meanwhile.',
        'Run kinfra sandbox up again: it gives the port another value.',
      );
    }
    const all = [...have, ...fresh];
    e.derived_ports = storeDerived(all);
    e.ports = { ...(e.ports ?? {}), ...Object.fromEntries(fresh.map((a) => [a.name, a.base + a.step * e.slot])) };
    const holder = {
      instanceId: s.instanceId,
      path: s.path,
      createdAt: s.env.CREATED_AT ?? e.created_at,
      createdWorktree: s.env[CREATED_WORKTREE_KEY] === 'true',
      owner: s.env[OWNER_KEY],
    };
    // Every port the entry holds, kept ones the branch no longer publishes included: the file agrees with it.
    await writeLeaseEnv(ctx, withDerivedPorts(configured, all), adHocLease(e.slot), holder);
  });
  return resolveSandbox(ctx, { name: s.instanceId });
}
