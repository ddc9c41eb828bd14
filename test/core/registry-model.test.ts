import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  REGISTRY_VERSION,
  emptyRegistry,
  formatRegistry,
  migrateV1Text,
  parseRegistryText,
  salvageRegistryText,
  type ParsedRegistry,
  type Registry,
} from '../../src/core/registry/model.js';

const V2 = {
  version: 2,
  instances: {
    'ktrdr--feat-operation-metrics': {
      slot: 2,
      path: '/Users/karl/Documents/dev/ktrdr--feat-operation-metrics',
      created_at: '2024-01-15T10:30:00Z',
      is_worktree: true,
      parent_repo: '/Users/karl/Documents/dev/ktrdr2',
      branch: 'feat/operation-metrics',
      created_worktree: true,
      ports: { api: 8002, db: 5434, worker_1: 5020 },
    },
  },
  slots: {
    '1': {
      slot_id: 1,
      profile: 'light',
      workers: { backtest: 1, training: 1 },
      ports: { api: 8001, db: 5433 },
      infrastructure_path: '/Users/karl/.ktrdr/sandboxes/slot-1',
      claimed_by: null,
      claimed_at: null,
    },
    '5': {
      slot_id: 5,
      profile: 'standard',
      workers: { backtest: 2, training: 2 },
      ports: { api: 8005 },
      infrastructure_path: '/Users/karl/.ktrdr/sandboxes/slot-5',
      claimed_by: 'ktrdr--other',
      claimed_at: '2024-01-16T08:00:00Z',
    },
  },
};

const V1_SEED = {
  version: 1,
  instances: {
    'ktrdr--feat-operation-metrics': {
      slot: 2,
      path: '/Users/karl/Documents/dev/ktrdr--feat-operation-metrics',
      created_at: '2024-01-15T10:30:00Z',
      is_worktree: true,
      parent_repo: '/Users/karl/Documents/dev/ktrdr2',
    },
  },
};

function ok(r: ParsedRegistry): Registry {
  if (!r.ok) throw new Error(`expected ok, got: ${r.reason}`);
  return r.registry;
}

function notOk(r: ParsedRegistry): string {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('unreachable');
  expect(typeof r.reason).toBe('string');
  expect(r.reason.length).toBeGreaterThan(0);
  return r.reason;
}

describe('parseRegistryText', () => {
  it('reads a version 2 document', () => {
    const reg = ok(parseRegistryText(JSON.stringify(V2)));
    expect(reg.version).toBe(2);
    expect(reg).toEqual(V2);
    expect(reg.instances['ktrdr--feat-operation-metrics']!.slot).toBe(2);
    expect(reg.slots['5']!.claimed_by).toBe('ktrdr--other');
  });

  it('reads an empty registry', () => {
    expect(ok(parseRegistryText(formatRegistry(emptyRegistry())))).toEqual({ version: 2, instances: {}, slots: {} });
  });

  it('keeps unknown fields on instances, slots and at top level through formatRegistry', () => {
    const doc = structuredClone(V2) as Record<string, unknown> & typeof V2;
    (doc as Record<string, unknown>).machine = { name: 'karl-mbp', tags: ['a'] };
    (doc.instances['ktrdr--feat-operation-metrics'] as Record<string, unknown>).python_only = { nested: [1, 2, 3] };
    (doc.slots['1'] as Record<string, unknown>).health = 'ok';
    const first = ok(parseRegistryText(JSON.stringify(doc)));
    const text = formatRegistry(first);
    const second = ok(parseRegistryText(text));
    expect(second).toEqual(doc);
    expect(second.machine).toEqual({ name: 'karl-mbp', tags: ['a'] });
    expect(second.instances['ktrdr--feat-operation-metrics']!.python_only).toEqual({ nested: [1, 2, 3] });
    expect(second.slots['1']!.health).toBe('ok');
    expect(formatRegistry(second)).toBe(text);
  });

  it.each([
    ['invalid JSON', '{ not json'],
    ['an empty string', ''],
    ['only whitespace', '   \n'],
    ['truncated JSON', JSON.stringify(V2).slice(0, 60)],
    ['truncated after the last brace', JSON.stringify(V2).slice(0, -1)],
  ])('is not ok for %s, with a reason', (_label, text) => {
    expect(notOk(parseRegistryText(text))).toMatch(/not valid JSON/);
  });

  it.each([
    ['version 1', { ...V2, version: 1 }],
    ['version 3', { ...V2, version: 3 }],
    ['version "2"', { ...V2, version: '2' }],
    ['no version', { instances: {}, slots: {} }],
  ])('is not ok for %s', (_label, doc) => {
    expect(notOk(parseRegistryText(JSON.stringify(doc)))).toMatch(/version/);
  });

  it.each([
    ['null', 'null'],
    ['an array', '[]'],
    ['a number', '2'],
    ['a string', '"registry"'],
  ])('is not ok for a top level that is %s', (_label, text) => {
    notOk(parseRegistryText(text));
  });

  it('is not ok when instances is missing', () => {
    expect(notOk(parseRegistryText(JSON.stringify({ version: 2, slots: {} })))).toContain('instances');
  });

  it('is not ok when instances is not an object', () => {
    expect(notOk(parseRegistryText(JSON.stringify({ version: 2, instances: [], slots: {} })))).toContain('instances');
  });

  it('is not ok when slots is missing', () => {
    expect(notOk(parseRegistryText(JSON.stringify({ version: 2, instances: {} })))).toContain('slots');
  });

  it.each([
    ['slot', 'two', 'instances.x.slot'],
    ['slot', -1, 'instances.x.slot'],
    ['slot', 1.5, 'instances.x.slot'],
    ['path', '', 'instances.x.path'],
    ['is_worktree', 'yes', 'instances.x.is_worktree'],
    ['ports', { api: 'x' }, 'instances.x.ports'],
    ['branch', 3, 'instances.x.branch'],
  ])('is not ok when an instance field %s is %j', (field, value, where) => {
    const entry = { ...V1_SEED.instances['ktrdr--feat-operation-metrics'], [field]: value };
    const reason = notOk(parseRegistryText(JSON.stringify({ version: 2, instances: { x: entry }, slots: {} })));
    expect(reason).toContain(where);
  });

  it.each([
    [
      'an instance slot above 99',
      (d: any) => {
        d.instances['ktrdr--feat-operation-metrics'].slot = 100;
      },
      'instances.ktrdr--feat-operation-metrics.slot: expected a slot number (0-99), got 100',
    ],
    [
      'an instance port above 65535',
      (d: any) => {
        d.instances['ktrdr--feat-operation-metrics'].ports.api = 70000;
      },
      'instances.ktrdr--feat-operation-metrics.ports.api: expected a port number (1-65535), got 70000',
    ],
    [
      'an instance port 0',
      (d: any) => {
        d.instances['ktrdr--feat-operation-metrics'].ports.db = 0;
      },
      'instances.ktrdr--feat-operation-metrics.ports.db: expected a port number (1-65535), got 0',
    ],
    [
      'a pool_slot 0',
      (d: any) => {
        d.instances['ktrdr--feat-operation-metrics'].pool_slot = 0;
      },
      'instances.ktrdr--feat-operation-metrics.pool_slot: expected a slot number (1-99), got 0',
    ],
    [
      'a pool_slot above 99',
      (d: any) => {
        d.instances['ktrdr--feat-operation-metrics'].pool_slot = 250;
      },
      'pool_slot: expected a slot number (1-99), got 250',
    ],
    [
      'a pool slot_id above 99',
      (d: any) => {
        d.slots['5'].slot_id = 100;
      },
      'slots.5.slot_id: expected a slot number (1-99), got 100',
    ],
    [
      'a pool slot port above 65535',
      (d: any) => {
        d.slots['1'].ports.api = 65536;
      },
      'slots.1.ports.api: expected a port number (1-65535), got 65536',
    ],
    [
      'a negative worker count',
      (d: any) => {
        d.slots['1'].workers.backtest = -1;
      },
      'slots.1.workers.backtest: expected a worker count, got -1',
    ],
  ])('range-checks every slot and port: is not ok for %s, naming the field', (_label, edit, reason) => {
    const doc = structuredClone(V2);
    edit(doc);
    expect(notOk(parseRegistryText(JSON.stringify(doc)))).toContain(reason);
  });

  it('accepts the edges of the ranges: slot 0 (the main checkout) and 99, ports 1 and 65535', () => {
    const doc: any = structuredClone(V2);
    doc.instances['ktrdr--feat-operation-metrics'].slot = 99;
    doc.instances['ktrdr--feat-operation-metrics'].ports = { api: 1, db: 65535 };
    doc.instances.main = { ...doc.instances['ktrdr--feat-operation-metrics'], slot: 0 };
    doc.slots['5'].slot_id = 99;
    expect(ok(parseRegistryText(JSON.stringify(doc)))).toEqual(doc);
  });

  it('is not ok when an instance misses a required field', () => {
    const { parent_repo: _p, ...entry } = V1_SEED.instances['ktrdr--feat-operation-metrics'];
    const reason = notOk(parseRegistryText(JSON.stringify({ version: 2, instances: { x: entry }, slots: {} })));
    expect(reason).toContain('instances.x.parent_repo');
    expect(reason).toContain('missing');
  });

  it('is not ok when a slot entry is malformed', () => {
    const bad = structuredClone(V2);
    (bad.slots['1'] as Record<string, unknown>).claimed_by = 42;
    expect(notOk(parseRegistryText(JSON.stringify(bad)))).toContain('slots.1.claimed_by');
  });

  it('property: never returns ok (let alone an empty registry) for a prefix of a valid document', () => {
    const full = formatRegistry(ok(parseRegistryText(JSON.stringify(V2))));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: full.trimEnd().length - 1 }), (n) => {
        expect(parseRegistryText(full.slice(0, n)).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('property: arbitrary text is either rejected or a registry with version 2', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const r = parseRegistryText(text);
        if (r.ok) {
          expect(r.registry.version).toBe(2);
        } else {
          expect(r.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('migrateV1Text', () => {
  it('carries the seed 001 v1 instance over with every field, version 2 and no slots', () => {
    const reg = ok(migrateV1Text(JSON.stringify(V1_SEED)));
    expect(reg).toEqual({ version: 2, instances: V1_SEED.instances, slots: {} });
    // The result is a valid v2 registry.
    expect(ok(parseRegistryText(formatRegistry(reg)))).toEqual(reg);
  });

  it('carries every instance and every field, including unknown extra fields', () => {
    const v1 = {
      version: 1,
      owner: 'karl',
      instances: {
        'ktrdr--a': {
          ...V1_SEED.instances['ktrdr--feat-operation-metrics'],
          slot: 1,
          path: '/a',
          note: 'extra',
          tags: ['x'],
        },
        'ktrdr--b': {
          ...V1_SEED.instances['ktrdr--feat-operation-metrics'],
          slot: 2,
          path: '/b',
          custom: { deep: true },
        },
        'ktrdr--c': { slot: 3, path: '/c', is_worktree: false, api_port: 8003 },
      },
    };
    const reg = ok(migrateV1Text(JSON.stringify(v1)));
    expect(reg.version).toBe(REGISTRY_VERSION);
    expect(reg.version).toBe(2);
    expect(reg.slots).toEqual({});
    expect(reg.owner).toBe('karl');
    expect(Object.keys(reg.instances)).toEqual(['ktrdr--a', 'ktrdr--b', 'ktrdr--c']);
    expect(reg.instances['ktrdr--a']).toEqual(v1.instances['ktrdr--a']);
    expect(reg.instances['ktrdr--b']).toEqual(v1.instances['ktrdr--b']);
    // Fields v1 lacks get neutral values; the rest is carried as is.
    expect(reg.instances['ktrdr--c']).toEqual({
      slot: 3,
      path: '/c',
      is_worktree: false,
      api_port: 8003,
      created_at: '',
      parent_repo: '',
    });
    expect(parseRegistryText(formatRegistry(reg)).ok).toBe(true);
  });

  it('migrates an empty v1 registry', () => {
    expect(ok(migrateV1Text('{"version":1,"instances":{}}'))).toEqual({ version: 2, instances: {}, slots: {} });
  });

  it.each([
    ['invalid JSON', '{', /not valid JSON/],
    ['an empty string', '', /not valid JSON/],
    ['a v2 document', JSON.stringify(V2), /version 1/],
    ['no version', JSON.stringify({ instances: {} }), /version 1/],
    ['no instances', JSON.stringify({ version: 1 }), /instances/],
    [
      'an instance without a slot',
      JSON.stringify({ version: 1, instances: { x: { path: '/x' } } }),
      /instances\.x\.slot/,
    ],
    ['an instance without a path', JSON.stringify({ version: 1, instances: { x: { slot: 1 } } }), /instances\.x\.path/],
  ])('is not ok for %s', (_label, text, reason) => {
    expect(notOk(migrateV1Text(text))).toMatch(reason);
  });
});

describe('salvageRegistryText', () => {
  it('keeps every entry that is valid on its own and says why the others were left out', () => {
    const doc: any = structuredClone(V2);
    doc.version = 3;
    doc.instances.bad = { ...doc.instances['ktrdr--feat-operation-metrics'], ports: { api: 70000 } };
    doc.slots['9'] = { ...doc.slots['1'], slot_id: 'nine' };
    const s = salvageRegistryText(JSON.stringify(doc));
    expect(Object.keys(s.registry.instances)).toEqual(['ktrdr--feat-operation-metrics']);
    expect(Object.keys(s.registry.slots).sort()).toEqual(['1', '5']);
    expect(s.registry.version).toBe(2);
    expect(s.dropped).toEqual([
      'instances.bad.ports.api: expected a port number (1-65535), got 70000',
      'slots.9.slot_id: expected a slot number (1-99), got "nine"',
    ]);
    expect(parseRegistryText(formatRegistry(s.registry)).ok).toBe(true);
  });

  it('keeps nothing of text that is not JSON, and says so', () => {
    const s = salvageRegistryText(JSON.stringify(V2).slice(0, 80));
    expect(s.registry).toEqual(emptyRegistry());
    expect(s.unreadable).toMatch(/not valid JSON/);
  });

  it('property: whatever it keeps is a registry that parses', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(parseRegistryText(formatRegistry(salvageRegistryText(text).registry)).ok).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('formatRegistry', () => {
  it('writes "version": 2 so the seed 004 grep finds it, two-space indented with a final newline', () => {
    const text = formatRegistry(emptyRegistry());
    expect(text).toContain('"version": 2');
    expect(text).toBe('{\n  "version": 2,\n  "instances": {},\n  "slots": {}\n}\n');
  });

  it('writes "slot_id": and "profile": "light" as seed 004 greps for them', () => {
    const text = formatRegistry(ok(parseRegistryText(JSON.stringify(V2))));
    expect(text).toContain('"version": 2');
    expect(text.match(/"slot_id":/g)).toHaveLength(2);
    expect(text).toContain('"profile": "light"');
    expect(text).toContain('"profile": "standard"');
  });

  it('writes "version": 2 after migrating from v1', () => {
    expect(formatRegistry(ok(migrateV1Text(JSON.stringify(V1_SEED))))).toContain('"version": 2');
  });

  it('emptyRegistry returns a fresh object each time', () => {
    const a = emptyRegistry();
    a.instances.x = { slot: 1, path: '/x', created_at: '', is_worktree: false, parent_repo: '' };
    expect(emptyRegistry().instances).toEqual({});
  });
});
