// The Python ktrdr's registry, `~/.ktrdr/sandbox/instances.json`. It wrote version 1 (`{"version": 1, "instances":
// {...}}`) and, since its slot pool, version 2: kinfra's shape (`instances` and `slots`), except that a pool slot's
// `claimed_by` is the folder of the worktree that claimed it (whose sandbox id is the folder's name), and its entries
// have no kinfra fields. kinfra imports it once, when its own registry does not exist yet. Pure.

import {
  REGISTRY_VERSION,
  instanceMisfit,
  isObject,
  migrateV1Text,
  parseJson,
  slotAndPathMisfit,
  slotMisfit,
  withNeutralFields,
  type ParsedRegistry,
  type Registry,
  type SlotEntry,
} from './model.js';

export type ParsedPython = (ParsedRegistry & { ok: true; version: 1 | 2 }) | (ParsedRegistry & { ok: false });

export function parsePythonRegistry(text: string): ParsedPython {
  const json = parseJson(text);
  if (!json.ok) return json;
  const raw = json.value;
  if (!isObject(raw)) return { ok: false, reason: 'top level: expected an object' };
  if (raw.version === 1) {
    const v1 = migrateV1Text(text);
    return v1.ok ? { ...v1, version: 1 } : v1;
  }
  if (raw.version !== 2)
    return { ok: false, reason: `version ${JSON.stringify(raw.version)} is not one the Python tool writes (1 or 2)` };
  if (!isObject(raw.instances)) return { ok: false, reason: 'instances: expected an object' };
  if (raw.slots !== undefined && !isObject(raw.slots)) return { ok: false, reason: 'slots: expected an object' };
  const {
    version: _v,
    instances,
    slots = {},
    ...rest
  } = raw as Record<string, unknown> & { instances: Record<string, unknown>; slots?: Record<string, unknown> };
  const registry: Registry = { ...rest, version: REGISTRY_VERSION, instances: {}, slots: {} };
  for (const [id, e] of Object.entries(instances)) {
    const problem = slotAndPathMisfit(e, `instances.${id}`);
    if (problem) return { ok: false, reason: problem };
    registry.instances[id] = withNeutralFields(e as Record<string, unknown>);
  }
  for (const [key, s] of Object.entries(slots)) {
    const problem = slotMisfit(s, `slots.${key}`);
    if (problem) return { ok: false, reason: problem };
    registry.slots[key] = claimByInstance(registry, s as SlotEntry);
  }
  // What kinfra writes must read back: a field of a kinfra entry the Python tool
  // filled otherwise is reported, not written.
  for (const [id, e] of Object.entries(registry.instances)) {
    const problem = instanceMisfit(e, `instances.${id}`);
    if (problem) return { ok: false, reason: problem };
  }
  return { ok: true, registry, version: 2 };
}

/**
 * kinfra's claims name an instance id; the Python tool's name the worktree's
 * folder. A folder an instance has becomes that instance's id; any other
 * folder becomes a sandbox of its own on the slot, named by the folder (the
 * id the Python tool gave its .env.sandbox), so the claim is not lost.
 */
function claimByInstance(registry: Registry, s: SlotEntry): SlotEntry {
  const by = s.claimed_by;
  if (!by || registry.instances[by] || !by.startsWith('/')) return s;
  const holder = Object.entries(registry.instances).find(([, e]) => e.path === by);
  if (holder) return { ...s, claimed_by: holder[0] };
  const id = by.replace(/\/+$/, '').split('/').pop() ?? '';
  if (!id || registry.instances[id]) return s;
  registry.instances[id] = {
    slot: s.slot_id,
    path: by,
    created_at: s.claimed_at ?? '',
    is_worktree: true,
    parent_repo: '',
    pool_slot: s.slot_id,
  };
  return { ...s, claimed_by: id };
}

/** The slots a Python registry holds: every instance's slot and every claimed pool slot, with who holds it. */
export function pythonHeldSlots(registry: Registry): { slot: number; instanceId: string; path: string | undefined }[] {
  const held = new Map<number, { slot: number; instanceId: string; path: string | undefined }>();
  for (const [id, e] of Object.entries(registry.instances)) {
    if (e.slot >= 1 && !held.has(e.slot)) held.set(e.slot, { slot: e.slot, instanceId: id, path: e.path });
  }
  for (const s of Object.values(registry.slots)) {
    if (s.claimed_by && !held.has(s.slot_id))
      held.set(s.slot_id, { slot: s.slot_id, instanceId: s.claimed_by, path: registry.instances[s.claimed_by]?.path });
  }
  return [...held.values()].sort((a, b) => a.slot - b.slot);
}

/** How the allocator names a slot the Python tool holds. */
export const pythonHolder = (instanceId: string) => `${instanceId} (Python ktrdr's registry)`;
