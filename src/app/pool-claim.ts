import type { Config } from '../core/config/config.js';
import { usageError, conflictError } from '../core/errors.js';
import { choosePoolSlot, isPoolProvisioned, poolPlan, poolSlotPorts, releaseMark } from '../core/pool.js';
import type { SlotPort } from '../core/ports.js';
import type { Registry, SlotEntry } from '../core/registry/model.js';

/**
 * Which pool slot create/init should claim: none without a pool (ad-hoc slots
 * as before), the requested one, or the lowest free one meeting the profile.
 * A slot in `reserved` (held by someone the registry does not know, such as the
 * Python tool) counts as claimed.
 */
export function pickPoolSlot(
  registry: Registry, config: Config, slot: number | undefined, profile: string | undefined, reserved: ReadonlyMap<number, string> = new Map(),
): SlotEntry | undefined {
  if (!isPoolProvisioned(registry)) {
    if (profile !== undefined) {
      throw usageError('no-pool', `--profile needs a provisioned slot pool, and there is none.`, 'Provision one with: kinfra sandbox provision');
    }
    return undefined;
  }
  if (slot !== undefined) {
    const s = registry.slots[String(slot)];
    if (!s) throw usageError('not-a-pool-slot', `Slot ${slot} is not a pool slot.`, 'See the pool with: kinfra sandbox slots');
    const by = s.claimed_by ?? reserved.get(slot);
    if (by) throw conflictError('slot-taken', `Slot ${slot} is not free: it is claimed by ${by}.`, 'Leave out --slot to take the lowest free one.');
    if (releaseMark(s)) throw conflictError('slot-taken', `Slot ${slot} is not free: it is being released.`, 'Leave out --slot to take the lowest free one, or wait for the release to finish.');
    return s;
  }
  if (reserved.size === 0) return choosePoolSlot(registry, config, profile);
  const seen: Registry = { ...registry, slots: {} };
  for (const [k, s] of Object.entries(registry.slots)) seen.slots[k] = s.claimed_by || !reserved.has(s.slot_id) ? s : { ...s, claimed_by: reserved.get(s.slot_id)! };
  // The entry the caller claims must be the registry's own, not the copy.
  const chosen = choosePoolSlot(seen, config, profile).slot_id;
  return Object.values(registry.slots).find((s) => s.slot_id === chosen);
}

export function poolPorts(config: Config, s: SlotEntry): SlotPort[] {
  const plan = poolPlan(config).find((p) => p.slot === s.slot_id);
  const totalWorkers = Object.values(s.workers).reduce((a, b) => a + b, 0);
  return poolSlotPorts(config, plan ?? { slot: s.slot_id, profile: s.profile, workers: s.workers, totalWorkers });
}
