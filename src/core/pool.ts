// The pre-provisioned slot pool (seed 004): slots with a fixed profile (how many workers of each kind), claimed by
// worktrees and released again. Pure.

import type { Config } from './config/config.js';
import { conflictError, usageError } from './errors.js';
import { portFor, portsForSlot, type SlotPort } from './ports.js';
import type { Registry, SlotEntry } from './registry/model.js';

export interface PoolSlot {
  slot: number;
  profile: string;
  workers: Record<string, number>;
  totalWorkers: number;
}

export function poolPlan(config: Config): PoolSlot[] {
  return config.pool.map(({ slot, profile }) => {
    const workers = config.profiles[profile]!.workers;
    return { slot, profile, workers, totalWorkers: Object.values(workers).reduce((a, b) => a + b, 0) };
  });
}

/** Profiles from smallest to largest (by total workers, then declaration order). */
export function profileOrder(config: Config): string[] {
  const total = (p: string) => Object.values(config.profiles[p]!.workers).reduce((a, b) => a + b, 0);
  return Object.keys(config.profiles)
    .map((p, i) => ({ p, i, t: total(p) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.p);
}

export function slotProject(prefix: string, slot: number): string {
  return `${prefix}--slot-${slot}`;
}

/** The compose project a registered pool slot's stack runs as: the one the registry records, else the default name. */
export function slotProjectOf(prefix: string, s: SlotEntry): string {
  return s.compose_project ?? slotProject(prefix, s.slot_id);
}

/**
 * The published ports of a pool slot: the layout's ports, with as many worker
 * ports as the profile runs (worker k of slot N: base + step*N + k-1).
 */
export function poolSlotPorts(config: Config, slot: PoolSlot): SlotPort[] {
  const plain = portsForSlot(
    config.ports.filter((p) => p.worker === undefined),
    slot.slot,
  );
  const first = config.ports.find((p) => p.worker === 1);
  if (!first) return plain;
  const prefix = first.env.replace(/1$/, '');
  const workers = Array.from({ length: slot.totalWorkers }, (_, k) => ({
    name: `worker_${k + 1}`,
    env: `${prefix}${k + 1}`,
    port: portFor({ ...first, base: first.base + k, main: (first.main ?? first.base) + k }, slot.slot),
  }));
  return [...plain, ...workers];
}

/** Profiles whose worker count does not fit between two slots' worker ranges. */
export function checkProfilesFit(config: Config): void {
  const first = config.ports.find((p) => p.worker === 1);
  for (const s of poolPlan(config)) {
    if (first && s.totalWorkers > first.step) {
      throw usageError(
        'invalid-config',
        `${config.source}: profiles.${s.profile}: ${s.totalWorkers} workers do not fit the ${first.step} worker ` +
          `ports a slot has (workers.step)`,
        "Lower the profile's workers or raise workers.step in kinfra.yaml.",
      );
    }
  }
}

export function isPoolProvisioned(registry: Registry): boolean {
  return Object.keys(registry.slots).length > 0;
}

/**
 * A release under way (`kinfra sandbox release`), recorded on the slot under the registry lock before its
 * resources are reset outside it, and removed under the lock when the slot is freed. While it is there no claim
 * takes the slot; left by a killed release (its process is gone), doctor reports it and --repair finishes it.
 * Kept as an extra field of the slot entry, which the registry format preserves.
 */
export interface SlotRelease {
  /** The releasing kinfra process; undefined when the field was edited into something else. */
  pid: number | undefined;
  startedAt: string | undefined;
  /** The claim the release checked and will clear (null: the slot was free). */
  from: string | null;
}

export function releaseMark(s: SlotEntry): SlotRelease | undefined {
  const m = s.releasing;
  if (m === undefined || m === null) return undefined;
  const o = (typeof m === 'object' ? m : {}) as Record<string, unknown>;
  return {
    pid: Number.isInteger(o.pid) && (o.pid as number) > 0 ? (o.pid as number) : undefined,
    startedAt: typeof o.started_at === 'string' ? o.started_at : undefined,
    from: typeof o.from === 'string' ? o.from : null,
  };
}

export function setReleaseMark(s: SlotEntry, mark: SlotRelease | undefined): void {
  if (mark) s.releasing = { pid: mark.pid, started_at: mark.startedAt, from: mark.from };
  else delete s.releasing;
}

export function sameRelease(a: SlotRelease | undefined, b: SlotRelease): boolean {
  return a !== undefined && a.pid === b.pid && a.startedAt === b.startedAt && a.from === b.from;
}

/** Free to claim: nobody holds it and no release of it is under way. */
export function isClaimable(s: SlotEntry): boolean {
  return !s.claimed_by && releaseMark(s) === undefined;
}

/** The lowest free pool slot whose profile is at least `minProfile`, or an error that says why none is. */
export function choosePoolSlot(registry: Registry, config: Config, minProfile: string | undefined): SlotEntry {
  const order = profileOrder(config);
  if (minProfile !== undefined && !order.includes(minProfile)) {
    throw usageError('unknown-profile', `There is no profile ${minProfile}.`, `Use one of: ${order.join(', ')}.`);
  }
  const rank = (p: string) => order.indexOf(p);
  const minRank = minProfile === undefined ? 0 : rank(minProfile);
  const slots = Object.values(registry.slots).sort((a, b) => a.slot_id - b.slot_id);
  const free = slots.find((s) => isClaimable(s) && rank(s.profile) >= minRank);
  if (free) return free;
  const rows = slots.map(
    (s) => `  Slot ${s.slot_id} (${s.profile}): ${s.claimed_by ?? (releaseMark(s) ? 'being released' : 'free')}`,
  );
  throw conflictError(
    'pool-exhausted',
    `No free pool slot${minProfile ? ` with profile ${minProfile} or larger` : ''}:\n${rows.join('\n')}`,
    'Release one with: kinfra sandbox release <slot> (or destroy a sandbox that holds one).',
    { slots: rows },
  );
}

/**
 * Which pool slot create/init should claim: none without a pool (ad-hoc slots
 * as before), the requested one, or the lowest free one meeting the profile.
 * A slot in `reserved` (held by someone the registry does not know, such as the
 * Python tool) counts as claimed.
 */
export function pickPoolSlot(
  registry: Registry,
  config: Config,
  slot: number | undefined,
  profile: string | undefined,
  reserved: ReadonlyMap<number, string> = new Map(),
): SlotEntry | undefined {
  if (!isPoolProvisioned(registry)) {
    if (profile !== undefined) {
      throw usageError(
        'no-pool',
        `--profile needs a provisioned slot pool, and there is none.`,
        'Provision one with: kinfra sandbox provision',
      );
    }
    return undefined;
  }
  if (slot !== undefined) return requestedPoolSlot(registry, slot, reserved);
  if (reserved.size === 0) return choosePoolSlot(registry, config, profile);
  const seen: Registry = { ...registry, slots: {} };
  for (const [k, s] of Object.entries(registry.slots)) {
    seen.slots[k] = s.claimed_by || !reserved.has(s.slot_id) ? s : { ...s, claimed_by: reserved.get(s.slot_id)! };
  }
  // The entry the caller claims must be the registry's own, not the copy.
  const chosen = choosePoolSlot(seen, config, profile).slot_id;
  return Object.values(registry.slots).find((s) => s.slot_id === chosen);
}

function requestedPoolSlot(registry: Registry, slot: number, reserved: ReadonlyMap<number, string>): SlotEntry {
  const s = registry.slots[String(slot)];
  if (!s) {
    throw usageError('not-a-pool-slot', `Slot ${slot} is not a pool slot.`, 'See the pool with: kinfra sandbox slots');
  }
  const by = s.claimed_by ?? reserved.get(slot);
  if (by) {
    throw conflictError(
      'slot-taken',
      `Slot ${slot} is not free: it is claimed by ${by}.`,
      'Leave out --slot to take the lowest free one.',
    );
  }
  if (releaseMark(s)) {
    throw conflictError(
      'slot-taken',
      `Slot ${slot} is not free: it is being released.`,
      'Leave out --slot to take the lowest free one, or wait for the release to finish.',
    );
  }
  return s;
}
