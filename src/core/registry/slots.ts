// The one allocator. A slot is free when no registered instance and no claimed pool slot uses its number, and none of
// its ports is held by any registered instance (projects with other port plans share this registry and this machine).

import { conflictError, usageError } from '../errors.js';
import { portEnv, type NamedPort } from '../ports.js';
import type { Registry } from './model.js';

export interface SlotPlan {
  maxSlot: number;
  ports: readonly NamedPort[];
  /** Host ports something outside the registry already publishes (another project's containers): port -> who. */
  busy?: ReadonlyMap<number, string> | undefined;
}

/** Port -> the registered instance holding it (`except` left out: a sandbox's own ports are no clash). */
export function heldPorts(registry: Registry, except?: string): Map<number, string> {
  const held = new Map<number, string>();
  for (const [id, e] of Object.entries(registry.instances)) {
    if (id !== except) for (const port of Object.values(e.ports ?? {})) held.set(port, id);
  }
  return held;
}

/** Slot number -> who holds it (instance id or `pool slot N`). */
export function slotOwners(registry: Registry): Map<number, string> {
  const owners = new Map<number, string>();
  for (const [id, e] of Object.entries(registry.instances)) owners.set(e.slot, id);
  // A provisioned pool slot is reserved for the pool, claimed or not: ad-hoc
  // sandboxes never take its number.
  for (const s of Object.values(registry.slots)) {
    if (!owners.has(s.slot_id)) owners.set(s.slot_id, s.claimed_by ?? `pool slot ${s.slot_id} (${s.profile}, free)`);
  }
  return owners;
}

/** Why `slot` cannot be used, or undefined when it can. */
export function slotUnavailableReason(
  registry: Registry,
  plan: SlotPlan,
  slot: number,
  reservedElsewhere: ReadonlyMap<number, string> = new Map(),
): string | undefined {
  const owner = slotOwners(registry).get(slot) ?? reservedElsewhere.get(slot);
  if (owner) return `slot ${slot} is used by ${owner}`;
  const held = heldPorts(registry);
  // The main checkout's ports (slot 0) are never a sandbox's: a derived port is published there as the file says.
  const main = new Map(Object.entries(portEnv(plan.ports, 0)).map(([env, port]) => [port, env]));
  for (const [env, port] of Object.entries(portEnv(plan.ports, slot))) {
    const ofMain = slot > 0 ? main.get(port) : undefined;
    if (ofMain) return `port ${port} (${env} of slot ${slot}) is the main checkout's ${ofMain}`;
    const holder = held.get(port);
    if (holder) return `port ${port} (${env} of slot ${slot}) is held by ${holder}`;
    const publisher = plan.busy?.get(port);
    if (publisher) return `port ${port} (${env} of slot ${slot}) is published by ${publisher}`;
  }
  return undefined;
}

/**
 * Why the slot the registry gives `instanceId` is not its alone, or is outside the layout's slots; undefined when it
 * is fine. Repairs that write a .env.sandbox from the registry ask first: writing one onto a slot two entries share
 * (a hand edit, a merge of registries) would turn a conflict on paper into two sandboxes on one slot.
 */
export function slotConflict(registry: Registry, plan: SlotPlan, instanceId: string): string | undefined {
  const e = registry.instances[instanceId];
  if (!e) return undefined;
  const others = Object.entries(registry.instances).filter(([id]) => id !== instanceId);
  if (e.pool_slot !== undefined) {
    const other = others.find(([, o]) => o.slot === e.pool_slot || o.pool_slot === e.pool_slot);
    return other ? `slot ${e.pool_slot} is also registered to ${other[0]}` : undefined;
  }
  if (!Number.isInteger(e.slot) || e.slot < 1 || e.slot > plan.maxSlot)
    return `slot ${e.slot} is outside the slots 1-${plan.maxSlot}`;
  return slotUnavailableReason({ ...registry, instances: Object.fromEntries(others) }, plan, e.slot);
}

export function checkRequestedSlot(
  registry: Registry,
  plan: SlotPlan,
  slot: number,
  reservedElsewhere?: ReadonlyMap<number, string>,
): number {
  if (!Number.isInteger(slot) || slot < 1 || slot > plan.maxSlot) {
    throw usageError(
      'slot-out-of-range',
      `Slot ${slot} is out of range: sandboxes use slots 1-${plan.maxSlot}.`,
      `Pick a slot from 1 to ${plan.maxSlot}, or leave out --slot to take the lowest free one.`,
    );
  }
  const reason = slotUnavailableReason(registry, plan, slot, reservedElsewhere);
  if (reason) {
    throw conflictError(
      'slot-taken',
      `Slot ${slot} is not free: ${reason}.`,
      'Leave out --slot to take the lowest free slot, or see `kinfra sandbox list`.',
    );
  }
  return slot;
}

/** The lowest free slot 1..max, or a slot-exhaustion error listing every holder. */
export function allocateSlot(
  registry: Registry,
  plan: SlotPlan,
  reservedElsewhere: ReadonlyMap<number, string> = new Map(),
): number {
  for (let slot = 1; slot <= plan.maxSlot; slot++) {
    if (!slotUnavailableReason(registry, plan, slot, reservedElsewhere)) return slot;
  }
  const owners = slotOwners(registry);
  for (const [slot, who] of reservedElsewhere) if (!owners.has(slot)) owners.set(slot, who);
  const rows = [...owners.entries()].sort((a, b) => a[0] - b[0]).map(([slot, id]) => `  Slot ${slot}: ${id}`);
  throw conflictError(
    'slots-exhausted',
    `All ${plan.maxSlot} sandbox slots are in use:\n${rows.join('\n')}`,
    'Destroy unused instances with: kinfra sandbox destroy <name>',
    { slots: Object.fromEntries(owners) },
  );
}

/** Free every pool slot `instanceId` holds (its volumes are reset at the next claim). */
export function releaseClaimsOf(registry: Registry, instanceId: string): void {
  for (const s of Object.values(registry.slots)) {
    if (s.claimed_by === instanceId) Object.assign(s, { claimed_by: null, claimed_at: null });
  }
}
