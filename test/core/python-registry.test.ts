import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatRegistry, parseRegistryText } from '../../src/core/registry/model.js';
import { parsePythonRegistry, pythonHeldSlots } from '../../src/core/registry/python.js';
import { REPO_ROOT } from '../helpers/cli.js';

/** The Python ktrdr's two formats, pinned by test/fixtures/python (see its README). */
const fixture = (name: string) =>
  readFileSync(join(REPO_ROOT, 'test/fixtures/python', name), 'utf8')
    .replaceAll('${DEV}', '/home/me/dev')
    .replaceAll('${HOME}', '/home/me');

describe('parsePythonRegistry', () => {
  it('reads version 1: every instance and field, neutral values where the Python tool wrote null', () => {
    const r = parsePythonRegistry(fixture('instances.v1.json'));
    if (!r.ok) throw new Error(r.reason);
    expect(r.version).toBe(1);
    expect(r.registry.slots).toEqual({});
    expect(r.registry.local_prod).toBeNull();
    expect(r.registry.instances['ktrdr--clone']).toEqual({
      instance_id: 'ktrdr--clone',
      slot: 2,
      path: '/home/me/dev/ktrdr--clone',
      created_at: '2025-01-16T08:00:00.000001',
      is_worktree: false,
      parent_repo: '',
    });
    expect(parseRegistryText(formatRegistry(r.registry)).ok).toBe(true);
  });

  it(
    'reads version 2: instances, pool slots, and a claim by folder becomes a claim ' + 'by a sandbox named after it',
    () => {
      const r = parsePythonRegistry(fixture('instances.v2.json'));
      if (!r.ok) throw new Error(r.reason);
      expect(r.version).toBe(2);
      expect(Object.keys(r.registry.instances).sort()).toEqual([
        'ktrdr--clone',
        'ktrdr--feat-a',
        'ktrdr-impl-genome-M1',
      ]);
      expect(r.registry.instances['ktrdr-impl-genome-M1']).toEqual({
        slot: 1,
        path: '/home/me/dev/ktrdr-impl-genome-M1',
        created_at: '2025-02-01T09:15:00.654321',
        is_worktree: true,
        parent_repo: '',
        pool_slot: 1,
      });
      expect(r.registry.slots['1']).toMatchObject({
        claimed_by: 'ktrdr-impl-genome-M1',
        status: 'running',
        infrastructure_path: '/home/me/.ktrdr/sandboxes/slot-1',
      });
      expect(r.registry.slots['2']).toMatchObject({ claimed_by: null, status: 'stopped' });
      expect(r.registry.local_prod).toMatchObject({ slot: 0, instance_id: 'ktrdr-prod' });
      expect(parseRegistryText(formatRegistry(r.registry)).ok).toBe(true);
      expect(pythonHeldSlots(r.registry)).toEqual([
        { slot: 1, instanceId: 'ktrdr-impl-genome-M1', path: '/home/me/dev/ktrdr-impl-genome-M1' },
        { slot: 7, instanceId: 'ktrdr--feat-a', path: '/home/me/dev/ktrdr--feat-a' },
        { slot: 8, instanceId: 'ktrdr--clone', path: '/home/me/dev/ktrdr--clone' },
      ]);
    },
  );

  it('a claim by the folder of a listed instance names that instance', () => {
    const doc = JSON.parse(fixture('instances.v2.json'));
    doc.slots['2'].claimed_by = '/home/me/dev/ktrdr--feat-a';
    const r = parsePythonRegistry(JSON.stringify(doc));
    if (!r.ok) throw new Error(r.reason);
    expect(r.registry.slots['2']!.claimed_by).toBe('ktrdr--feat-a');
  });

  it.each([
    ['not JSON', '{"version": 2, "inst', /not valid JSON/],
    ['version 3', JSON.stringify({ version: 3, instances: {} }), /version 3 is not one the Python tool writes/],
    [
      'an instance without a slot',
      JSON.stringify({ version: 2, instances: { x: { path: '/x' } }, slots: {} }),
      /instances\.x\.slot: missing/,
    ],
    [
      'a slot out of range',
      JSON.stringify({ version: 1, instances: { x: { path: '/x', slot: 100 } } }),
      /instances\.x\.slot: expected a slot number \(0-99\), got 100/,
    ],
    [
      'a pool slot port out of range',
      fixture('instances.v2.json').replace('"api": 8002', '"api": 80020'),
      /slots\.2\.ports\.api: expected a port number/,
    ],
  ])('is not ok for %s', (_label, text, reason) => {
    const r = parsePythonRegistry(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});
