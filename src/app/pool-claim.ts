import type { Config } from '../core/config/config.js';
import { usageError, conflictError } from '../core/errors.js';
import { choosePoolSlot, isPoolProvisioned, poolPlan, poolSlotPorts, releaseMark } from '../core/pool.js';
import type { SlotPort } from '../core/ports.js';
import type { Registry, SlotEntry } from '../core/registry/model.js';

/**
 * Which pool slot create/init should claim: none without a pool (ad-hoc slots
 * as before), the requested one, or the lowest free one meeting the profile.
 */
export function pickPoolSlot(registry: Registry, config: Config, slot: number | undefined, profile: string | undefined): SlotEntry | undefined {
  if (!isPoolProvisioned(registry)) {
    if (profile !== undefined) {
      throw usageError('no-pool', `--profile needs a provisioned slot pool, and there is none.`, 'Provision one with: kinfra sandbox provision');
    }
    return undefined;
  }
  if (slot !== undefined) {
    const s = registry.slots[String(slot)];
    if (!s) throw usageError('not-a-pool-slot', `Slot ${slot} is not a pool slot.`, 'See the pool with: kinfra sandbox slots');
    if (s.claimed_by) throw conflictError('slot-taken', `Slot ${slot} is not free: it is claimed by ${s.claimed_by}.`, 'Leave out --slot to take the lowest free one.');
    if (releaseMark(s)) throw conflictError('slot-taken', `Slot ${slot} is not free: it is being released.`, 'Leave out --slot to take the lowest free one, or wait for the release to finish.');
    return s;
  }
  return choosePoolSlot(registry, config, profile);
}

export function poolPorts(config: Config, s: SlotEntry): SlotPort[] {
  const plan = poolPlan(config).find((p) => p.slot === s.slot_id);
  const totalWorkers = Object.values(s.workers).reduce((a, b) => a + b, 0);
  return poolSlotPorts(config, plan ?? { slot: s.slot_id, profile: s.profile, workers: s.workers, totalWorkers });
}
