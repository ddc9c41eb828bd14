import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { builtInConfig } from '../../src/core/config/config.js';
import { KinfraError } from '../../src/core/errors.js';
import { emptyRegistry, type InstanceEntry, type Registry, type SlotEntry } from '../../src/core/registry/model.js';
import { choosePoolSlot } from '../../src/core/pool.js';
import {
  allocateSlot,
  checkRequestedSlot,
  slotConflict,
  slotOwners,
  slotUnavailableReason,
  type SlotPlan,
} from '../../src/core/registry/slots.js';

const config = builtInConfig();
const plan: SlotPlan = { maxSlot: config.maxSlot, ports: config.ports };

function instance(slot: number, extra: Partial<InstanceEntry> = {}): InstanceEntry {
  return {
    slot,
    path: `/dev/ktrdr--s${slot}`,
    created_at: '2024-01-15T10:30:00Z',
    is_worktree: true,
    parent_repo: '/dev/ktrdr2',
    ...extra,
  };
}

function poolSlot(slot: number, claimedBy: string | null): SlotEntry {
  return {
    slot_id: slot,
    profile: 'light',
    workers: { backtest: 1, training: 1 },
    ports: { api: 8000 + slot },
    infrastructure_path: `/pool/slot-${slot}`,
    claimed_by: claimedBy,
    claimed_at: claimedBy ? '2024-01-16T08:00:00Z' : null,
  };
}

function registryWith(slots: number[]): Registry {
  const reg = emptyRegistry();
  for (const s of slots) reg.instances[`ktrdr--s${s}`] = instance(s);
  return reg;
}

function thrown(fn: () => unknown): KinfraError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KinfraError);
    return e as KinfraError;
  }
  throw new Error('expected a KinfraError');
}

describe('allocateSlot', () => {
  it('picks slot 1 in an empty registry', () => {
    expect(allocateSlot(emptyRegistry(), plan)).toBe(1);
  });

  it('picks the lowest free slot', () => {
    expect(allocateSlot(registryWith([1, 2, 3]), plan)).toBe(4);
  });

  it('fills gaps', () => {
    expect(allocateSlot(registryWith([1, 3, 4]), plan)).toBe(2);
    expect(allocateSlot(registryWith([2, 3, 5]), plan)).toBe(1);
    expect(allocateSlot(registryWith([1, 2, 3, 4, 6, 7]), plan)).toBe(5);
  });

  it('ignores an instance registered on slot 0 (the main checkout)', () => {
    expect(allocateSlot(registryWith([0]), plan)).toBe(1);
  });

  it('respects slots reserved elsewhere', () => {
    const reserved = new Map([
      [1, 'ktrdr--being-created'],
      [2, 'ktrdr--also-being-created'],
    ]);
    expect(allocateSlot(registryWith([3]), plan, reserved)).toBe(4);
    expect(allocateSlot(emptyRegistry(), plan, new Map([[1, 'x']]))).toBe(2);
  });

  it('skips a slot when another instance holds one of its ports', () => {
    // An instance on slot 3 (of another project, or created under another plan) holds 8001,
    // which is slot 1's api port in the default plan.
    const reg = emptyRegistry();
    reg.instances['other--x'] = instance(3, { ports: { api: 8001 } });
    expect(allocateSlot(reg, plan)).toBe(2);
    expect(slotUnavailableReason(reg, plan, 1)).toBe('port 8001 (KTRDR_API_PORT of slot 1) is held by other--x');
  });

  it('skips a slot when a worker port of it is held', () => {
    const reg = emptyRegistry();
    reg.instances['other--y'] = instance(9, { ports: { web: 5012 } });
    expect(slotUnavailableReason(reg, plan, 1)).toContain('KTRDR_WORKER_PORT_3 of slot 1');
    expect(allocateSlot(reg, plan)).toBe(2);
  });

  it('is not blocked by ports that no slot uses', () => {
    const reg = emptyRegistry();
    reg.instances['other--z'] = instance(7, { ports: { api: 12345 } });
    expect(allocateSlot(reg, plan)).toBe(1);
  });

  it('counts a claimed pool slot as used', () => {
    const reg = emptyRegistry();
    reg.slots['1'] = poolSlot(1, 'ktrdr--pooled');
    expect(allocateSlot(reg, plan)).toBe(2);
    expect(slotUnavailableReason(reg, plan, 1)).toBe('slot 1 is used by ktrdr--pooled');
  });

  it('reserves a provisioned pool slot for the pool, even unclaimed: ad-hoc allocation skips it', () => {
    const reg = emptyRegistry();
    reg.slots['1'] = poolSlot(1, null);
    expect(allocateSlot(reg, plan)).toBe(2);
    expect(slotUnavailableReason(reg, plan, 1)).toContain('pool slot 1');
  });

  it('throws slots-exhausted when all 10 slots are used, listing every instance by slot', () => {
    const reg = registryWith([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const err = thrown(() => allocateSlot(reg, plan));
    expect(err.category).toBe('conflict');
    expect(err.code).toBe('slots-exhausted');
    expect(err.message.startsWith('All 10 sandbox slots are in use')).toBe(true);
    for (let s = 1; s <= 10; s++) expect(err.message).toContain(`Slot ${s}: ktrdr--s${s}`);
    const lines = err.message.split('\n').slice(1);
    expect(lines).toEqual(Array.from({ length: 10 }, (_, i) => `  Slot ${i + 1}: ktrdr--s${i + 1}`));
    expect(err.hint).toContain('kinfra sandbox destroy');
  });

  it('lists instances, claimed pool slots and reservations in slot order when exhausted', () => {
    const reg = emptyRegistry();
    for (const s of [10, 4, 7, 1, 9, 2]) reg.instances[`ktrdr--s${s}`] = instance(s);
    reg.slots['3'] = poolSlot(3, 'ktrdr--pooled');
    reg.slots['5'] = poolSlot(5, 'ktrdr--pooled-5');
    const reserved = new Map([
      [8, 'ktrdr--pending-8'],
      [6, 'ktrdr--pending-6'],
    ]);
    const err = thrown(() => allocateSlot(reg, plan, reserved));
    expect(err.code).toBe('slots-exhausted');
    expect(err.message.split('\n')).toEqual([
      'All 10 sandbox slots are in use:',
      '  Slot 1: ktrdr--s1',
      '  Slot 2: ktrdr--s2',
      '  Slot 3: ktrdr--pooled',
      '  Slot 4: ktrdr--s4',
      '  Slot 5: ktrdr--pooled-5',
      '  Slot 6: ktrdr--pending-6',
      '  Slot 7: ktrdr--s7',
      '  Slot 8: ktrdr--pending-8',
      '  Slot 9: ktrdr--s9',
      '  Slot 10: ktrdr--s10',
    ]);
  });

  it('uses the plan maxSlot in the exhaustion message', () => {
    const small: SlotPlan = { maxSlot: 3, ports: plan.ports };
    const err = thrown(() => allocateSlot(registryWith([1, 2, 3]), small));
    expect(err.message.startsWith('All 3 sandbox slots are in use')).toBe(true);
    expect(allocateSlot(registryWith([1, 2]), small)).toBe(3);
  });

  it('property: the allocated slot is the lowest slot that is neither registered nor reserved', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 10 }), { maxLength: 10 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 10 }), { maxLength: 4 }),
        (used, reservedSlots) => {
          const reg = registryWith(used);
          const reserved = new Map(reservedSlots.map((s) => [s, `pending-${s}`] as const));
          const taken = new Set([...used, ...reservedSlots]);
          const expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].find((s) => !taken.has(s));
          if (expected === undefined) {
            expect(() => allocateSlot(reg, plan, reserved)).toThrow(/All 10 sandbox slots are in use/);
          } else {
            expect(allocateSlot(reg, plan, reserved)).toBe(expected);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: the allocated slot never overlaps a port held by any instance', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ slot: fc.integer({ min: 11, max: 40 }), port: fc.integer({ min: 3000, max: 17000 }) }), {
          maxLength: 6,
        }),
        (holders) => {
          const reg = emptyRegistry();
          holders.forEach((h, i) => (reg.instances[`other--${i}`] = instance(h.slot, { ports: { p: h.port } })));
          const heldPorts = new Set(holders.map((h) => h.port));
          const free = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].find((s) =>
            config.ports.every((p) => !heldPorts.has(s === 0 && p.main !== undefined ? p.main : p.base + p.step * s)),
          );
          if (free === undefined) {
            expect(() => allocateSlot(reg, plan)).toThrow(KinfraError);
          } else {
            expect(allocateSlot(reg, plan)).toBe(free);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('checkRequestedSlot', () => {
  it('returns a free requested slot', () => {
    expect(checkRequestedSlot(registryWith([1, 2]), plan, 5)).toBe(5);
    expect(checkRequestedSlot(emptyRegistry(), plan, 10)).toBe(10);
    expect(checkRequestedSlot(emptyRegistry(), plan, 1)).toBe(1);
  });

  it.each([0, 11, -1, 2.5, Number.NaN])('rejects slot %s as out of range (usage)', (slot) => {
    const err = thrown(() => checkRequestedSlot(emptyRegistry(), plan, slot));
    expect(err.category).toBe('usage');
    expect(err.code).toBe('slot-out-of-range');
    expect(err.message).toContain('1-10');
  });

  it('rejects a slot taken by an instance (conflict slot-taken)', () => {
    const err = thrown(() => checkRequestedSlot(registryWith([3]), plan, 3));
    expect(err.category).toBe('conflict');
    expect(err.code).toBe('slot-taken');
    expect(err.message).toContain('Slot 3');
    expect(err.message).toContain('ktrdr--s3');
  });

  it('rejects a slot whose port is held by another instance', () => {
    const reg = emptyRegistry();
    reg.instances['other--x'] = instance(3, { ports: { api: 8001 } });
    const err = thrown(() => checkRequestedSlot(reg, plan, 1));
    expect(err.category).toBe('conflict');
    expect(err.code).toBe('slot-taken');
    expect(err.message).toContain('8001');
    expect(err.message).toContain('other--x');
  });

  it('rejects a claimed pool slot', () => {
    const reg = emptyRegistry();
    reg.slots['4'] = poolSlot(4, 'ktrdr--pooled');
    const err = thrown(() => checkRequestedSlot(reg, plan, 4));
    expect(err.category).toBe('conflict');
    expect(err.code).toBe('slot-taken');
    expect(err.message).toContain('ktrdr--pooled');
  });

  it('rejects a slot reserved elsewhere', () => {
    const err = thrown(() => checkRequestedSlot(emptyRegistry(), plan, 2, new Map([[2, 'ktrdr--pending']])));
    expect(err.code).toBe('slot-taken');
    expect(err.message).toContain('ktrdr--pending');
  });
});

describe('slotOwners', () => {
  it('maps slots to instances and pool slots (claimed or free); instances win over pool claims', () => {
    const reg = registryWith([1, 2]);
    reg.slots['2'] = poolSlot(2, 'ktrdr--pooled-2');
    reg.slots['3'] = poolSlot(3, 'ktrdr--pooled-3');
    reg.slots['4'] = poolSlot(4, null);
    const owners = [...slotOwners(reg).entries()].sort((a, b) => a[0] - b[0]);
    expect(owners.slice(0, 3)).toEqual([
      [1, 'ktrdr--s1'],
      [2, 'ktrdr--s2'],
      [3, 'ktrdr--pooled-3'],
    ]);
    expect(owners[3]![0]).toBe(4);
    expect(owners[3]![1]).toMatch(/^pool slot 4 \(.*, free\)$/);
  });
});

describe(
  'slotConflict: whether the registry gives an entry a slot of its own (repairs ask ' +
    'before writing a .env.sandbox)',
  () => {
    it('is undefined for an entry alone on its slot, and names the other entry or the pool slot otherwise', () => {
      const r: Registry = { ...emptyRegistry(), instances: { 'ktrdr--a': instance(1), 'ktrdr--b': instance(2) } };
      expect(slotConflict(r, plan, 'ktrdr--a')).toBeUndefined();
      r.instances['ktrdr--b']!.slot = 1;
      expect(slotConflict(r, plan, 'ktrdr--b')).toBe('slot 1 is used by ktrdr--a');
      r.instances['ktrdr--b']!.slot = 3;
      r.slots['3'] = poolSlot(3, null);
      expect(slotConflict(r, plan, 'ktrdr--b')).toMatch(/^slot 3 is used by pool slot 3/);
    });

    it('refuses a slot outside the layout, and a pool slot another entry also names', () => {
      const r: Registry = { ...emptyRegistry(), instances: { 'ktrdr--a': instance(99) } };
      expect(slotConflict(r, plan, 'ktrdr--a')).toBe(`slot 99 is outside the slots 1-${plan.maxSlot}`);
      r.instances['ktrdr--a'] = instance(4, { pool_slot: 4 });
      r.instances['ktrdr--x'] = instance(4);
      r.slots['4'] = poolSlot(4, 'ktrdr--a');
      expect(slotConflict(r, plan, 'ktrdr--a')).toBe('slot 4 is also registered to ktrdr--x');
    });
  },
);

describe('choosePoolSlot and a release under way', () => {
  it('skips a slot marked as being released, and says so when none is left', () => {
    const r: Registry = {
      ...emptyRegistry(),
      slots: {
        '1': { ...poolSlot(1, null), profile: 'light', releasing: { pid: 1, started_at: 'x', from: null } },
        '2': { ...poolSlot(2, null), profile: 'light' },
      },
    };
    expect(choosePoolSlot(r, config, 'light').slot_id).toBe(2);
    r.slots['2']!.claimed_by = 'ktrdr--b';
    expect(() => choosePoolSlot(r, config, 'light')).toThrow(/Slot 1 \(light\): being released/);
  });
});
