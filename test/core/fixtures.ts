/**
 * Hand-made domain values shared by the core tests (registry entries, pool
 * slots, a catcher for KinfraError). Not a test file: vitest picks up
 * *.test.ts only.
 */
import { expect } from 'vitest';
import { KinfraError, type ErrorCategory } from '../../src/core/errors.js';
import { emptyRegistry, type InstanceEntry, type Registry, type SlotEntry } from '../../src/core/registry/model.js';

export const HOME = '/home/dev';
export const MAIN = `${HOME}/src/ktrdr`;

/** A registered ad-hoc sandbox `ktrdr--<name>` on `slot`, beside MAIN. */
export function sandboxEntry(slot: number, name = `s${slot}`, overrides: Partial<InstanceEntry> = {}): InstanceEntry {
  return {
    slot,
    path: `${HOME}/src/ktrdr--${name}`,
    created_at: '2025-03-01T09:00:00Z',
    is_worktree: true,
    parent_repo: MAIN,
    created_worktree: true,
    ...overrides,
  };
}

/** A provisioned pool slot; `claimedBy` null when free. */
export function pooled(
  slotId: number,
  profile: string,
  claimedBy: string | null = null,
  overrides: Partial<SlotEntry> = {},
): SlotEntry {
  return {
    slot_id: slotId,
    profile,
    workers: {},
    ports: {},
    infrastructure_path: `${HOME}/.kinfra/slot-${slotId}`,
    claimed_by: claimedBy,
    claimed_at: claimedBy === null ? null : '2025-03-02T10:00:00Z',
    ...overrides,
  };
}

/** A registry holding the given instances (by id) and pool slots (keyed by their slot_id). */
export function registryOf(instances: Record<string, InstanceEntry> = {}, slots: readonly SlotEntry[] = []): Registry {
  const r = emptyRegistry();
  r.instances = { ...instances };
  for (const s of slots) r.slots[String(s.slot_id)] = s;
  return r;
}

/** The KinfraError `fn` throws, checked for its category and code. */
export function kinfraErrorOf(fn: () => unknown, category: ErrorCategory, code: string): KinfraError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a KinfraError').toBeInstanceOf(KinfraError);
  const err = caught as KinfraError;
  expect(err.category).toBe(category);
  expect(err.code).toBe(code);
  return err;
}
