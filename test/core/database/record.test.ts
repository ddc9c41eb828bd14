// What the registry knows of a compose project's database: read strictly (a malformed record is an unreadable
// registry, never an empty one), made and dropped under the lock, and the names kinfra gives the volumes it makes.
import { describe, expect, it } from 'vitest';
import {
  autoSnapshotName,
  copyVolumeName,
  databaseRecords,
  defaultSnapshotName,
  dropRecord,
  ensureRecord,
  keptVolumes,
  liveVolume,
  recordOf,
  referencedVolumes,
  SNAPSHOT_NAME,
  snapshotNameProblem,
  volumeNamesOf,
  warmState,
  type DatabaseRecord,
} from '../../../src/core/database/record.js';
import type { Registry } from '../../../src/core/registry/model.js';
import { kinfraErrorOf, registryOf, sandboxEntry } from '../fixtures.js';

const NOW = new Date('2026-12-01T21:30:00.123Z');

/** A registry holding a sandbox and the given database records (the field as it comes from the JSON file). */
function withDatabases(databases: unknown): Registry {
  const r = registryOf({ 'ktrdr--a': sandboxEntry(1, 'a') });
  r.databases = databases;
  return r;
}

/** A record as `db clone` leaves it: switched live volume, a reset point, one snapshot. */
function cloned(overrides: Partial<DatabaseRecord> = {}): DatabaseRecord {
  return {
    service: 'db',
    volume_key: 'db-data',
    volume: 'ktrdr--a_db-data-clone-20261201t213000-k3j9',
    image: 'postgres:16',
    origin: {
      volume: 'ktrdr--a_db-data-origin-20261201t213000-k3j9',
      from: 'main',
      at: '2026-12-01T21:30:00Z',
      method: 'pg_basebackup',
    },
    last: { from: 'main', at: '2026-12-01T21:30:00Z', method: 'pg_basebackup' },
    snapshots: {
      'before-migration': {
        volume: 'ktrdr--a_db-data-snapshot-20261201t220000-p2q8',
        created_at: '2026-12-01T22:00:00Z',
        bytes: 48_000_000,
        method: 'file copy',
      },
    },
    ...overrides,
  };
}

const alive = (pids: number[]) => (pid: number) => pids.includes(pid);

describe('databaseRecords', () => {
  it('gives no records for a registry that has none yet', () => {
    expect(databaseRecords(registryOf())).toEqual({});
    expect(recordOf(registryOf(), 'ktrdr--a')).toBeUndefined();
  });

  it('gives the records as they are, unknown fields kept', () => {
    const r = withDatabases({ 'ktrdr--a': { ...cloned(), added_by_newer: { x: 1 } } });
    expect(recordOf(r, 'ktrdr--a')).toEqual({ ...cloned(), added_by_newer: { x: 1 } });
    expect(recordOf(r, 'ktrdr--b')).toBeUndefined();
  });

  it('reads an empty databases object as no records', () => {
    expect(databaseRecords(withDatabases({}))).toEqual({});
  });

  it.each([
    ['null', null],
    ['a list', []],
    ['a string', 'db'],
    ['a number', 0],
    ['false', false],
  ])('refuses databases that is %s, rather than reading it as empty', (_what, databases) => {
    const err = kinfraErrorOf(() => databaseRecords(withDatabases(databases)), 'registry', 'registry-unreadable');
    expect(err.message).toContain('databases: expected an object');
    expect(err.hint).toContain('registry.json');
  });

  it.each([
    ['null', null],
    ['a list', [cloned()]],
    ['without its service', { volume_key: 'db-data', snapshots: {} }],
    ['with a service that is not a name', { service: 1, volume_key: 'db-data', snapshots: {} }],
    ['without its volume key', { service: 'db', snapshots: {} }],
    ['without its snapshots', { service: 'db', volume_key: 'db-data' }],
    ['with snapshots as a list', { service: 'db', volume_key: 'db-data', snapshots: [] }],
    ['with snapshots null', { service: 'db', volume_key: 'db-data', snapshots: null }],
  ])('refuses a record %s, naming the project', (_what, record) => {
    const err = kinfraErrorOf(
      () => databaseRecords(withDatabases({ 'ktrdr--a': cloned(), 'ktrdr--b': record })),
      'registry',
      'registry-unreadable',
    );
    expect(err.message).toContain('databases.ktrdr--b');
  });

  it.each([
    ['null', null],
    ['a number', 7],
    ['an object', { name: 'x' }],
  ])('refuses a live volume that is %s', (_what, volume) => {
    const err = kinfraErrorOf(
      () => databaseRecords(withDatabases({ 'ktrdr--a': { ...cloned(), volume } })),
      'registry',
      'registry-unreadable',
    );
    expect(err.message).toContain('databases.ktrdr--a.volume');
  });

  it.each([
    ['null', null],
    ['a bare volume name', 'ktrdr--a_db-data-snapshot'],
    ['without its volume', { created_at: '2026-12-01T22:00:00Z', bytes: null, method: 'file copy' }],
    ['with a volume that is not a name', { volume: 3 }],
  ])('refuses a snapshot that is %s, naming it', (_what, snapshot) => {
    const err = kinfraErrorOf(
      () => databaseRecords(withDatabases({ 'ktrdr--a': { ...cloned(), snapshots: { nightly: snapshot } } })),
      'registry',
      'registry-unreadable',
    );
    expect(err.message).toContain('databases.ktrdr--a.snapshots.nightly');
  });

  // BUG: databaseRecords checks the live volume and the snapshots but not the reset point: `origin: {}` (or
  // `origin: "name"`) passes, keptVolumes then lists `undefined` among the kept volumes, and `db reset` looks for
  // a volume named `undefined`. The module's rule is that a malformed record is an unreadable registry.
  it('refuses a reset point without its volume', () => {
    const r = withDatabases({ 'ktrdr--a': { ...cloned(), origin: { from: 'main', at: 'x', method: 'y' } } });
    kinfraErrorOf(() => databaseRecords(r), 'registry', 'registry-unreadable');
  });

  // BUG: nor the pending operation: `pending: { op: 'clone', pid: 4242 }` without `volumes` passes, and
  // referencedVolumes (doctor) then dies with a TypeError (`r.pending.volumes is not iterable`) while its process
  // runs; `volumes: "name"` is read letter by letter as volumes `n`, `a`, ...
  it('refuses a pending operation whose volumes are not a list', () => {
    const pending = { op: 'clone', pid: 4242, started_at: '2026-12-01T21:30:00Z' };
    const r = withDatabases({ 'ktrdr--a': { ...cloned(), pending } });
    kinfraErrorOf(() => referencedVolumes(r, () => true), 'registry', 'registry-unreadable');
  });
});

describe('ensureRecord and dropRecord', () => {
  it('makes the first record, and the registry’s databases with it', () => {
    const r = registryOf();
    const rec = ensureRecord(r, 'ktrdr--a', 'db', 'db-data');
    expect(rec).toEqual({ service: 'db', volume_key: 'db-data', snapshots: {} });
    expect(r.databases).toEqual({ 'ktrdr--a': rec });
    expect(recordOf(r, 'ktrdr--a')).toBe(rec);
  });

  it('gives the record that is there, unchanged, so a change to it is a change to the registry', () => {
    const r = withDatabases({ 'ktrdr--a': cloned() });
    const rec = ensureRecord(r, 'ktrdr--a', 'postgres', 'pg');
    expect(rec).toEqual(cloned());
    rec.volume = 'ktrdr--a_db-data-restore-20261202t080000-zz11';
    expect(recordOf(r, 'ktrdr--a')?.volume).toBe('ktrdr--a_db-data-restore-20261202t080000-zz11');
  });

  it('adds a record beside the others', () => {
    const r = withDatabases({ 'ktrdr--a': cloned() });
    ensureRecord(r, 'ktrdr-pool-2', 'db', 'db-data');
    expect(Object.keys(databaseRecords(r)).sort()).toEqual(['ktrdr--a', 'ktrdr-pool-2']);
  });

  it('refuses to make a record in a malformed registry', () => {
    const r = withDatabases([]);
    kinfraErrorOf(() => ensureRecord(r, 'ktrdr--a', 'db', 'db-data'), 'registry', 'registry-unreadable');
    expect(r.databases).toEqual([]);
  });

  it('drops one record and keeps the others', () => {
    const r = withDatabases({ 'ktrdr--a': cloned(), 'ktrdr--b': cloned({ volume: undefined }) });
    expect(dropRecord(r, 'ktrdr--a')).toEqual(cloned());
    expect(Object.keys(r.databases as object)).toEqual(['ktrdr--b']);
  });

  it('removes registry.databases when it drops the last record', () => {
    const r = withDatabases({ 'ktrdr--a': cloned() });
    dropRecord(r, 'ktrdr--a');
    expect('databases' in r).toBe(false);
  });

  it('drops nothing for a project without a record', () => {
    const none = registryOf();
    expect(dropRecord(none, 'ktrdr--a')).toBeUndefined();
    expect('databases' in none).toBe(false);
    const other = withDatabases({ 'ktrdr--b': cloned() });
    expect(dropRecord(other, 'ktrdr--a')).toBeUndefined();
    expect(Object.keys(other.databases as object)).toEqual(['ktrdr--b']);
  });

  it('refuses to drop from a malformed registry, leaving it as it was', () => {
    const r = withDatabases({ 'ktrdr--a': { service: 'db' } });
    kinfraErrorOf(() => dropRecord(r, 'ktrdr--a'), 'registry', 'registry-unreadable');
    expect(r.databases).toEqual({ 'ktrdr--a': { service: 'db' } });
  });
});

describe('liveVolume, keptVolumes and referencedVolumes', () => {
  it('names Compose’s own volume when no record switched it', () => {
    expect(liveVolume('ktrdr--a', 'db-data', undefined)).toBe('ktrdr--a_db-data');
    expect(liveVolume('ktrdr--a', 'db-data', cloned({ volume: undefined }))).toBe('ktrdr--a_db-data');
  });

  it('names the record’s volume once a clone switched it', () => {
    expect(liveVolume('ktrdr--a', 'db-data', cloned())).toBe('ktrdr--a_db-data-clone-20261201t213000-k3j9');
  });

  it('keeps the live volume, the reset point and every snapshot', () => {
    expect(keptVolumes('ktrdr--a', cloned())).toEqual([
      'ktrdr--a_db-data-clone-20261201t213000-k3j9',
      'ktrdr--a_db-data-origin-20261201t213000-k3j9',
      'ktrdr--a_db-data-snapshot-20261201t220000-p2q8',
    ]);
  });

  it('keeps only Compose’s own volume for a fresh record', () => {
    expect(keptVolumes('ktrdr-pool-2', { service: 'db', volume_key: 'pg', snapshots: {} })).toEqual([
      'ktrdr-pool-2_pg',
    ]);
  });

  const pendingClone = (pid: number) =>
    cloned({
      pending: {
        op: 'clone',
        pid,
        started_at: '2026-12-02T08:00:00Z',
        volumes: ['ktrdr--a_db-data-clone-20261202t080000-aaaa', 'ktrdr--a_db-data-origin-20261202t080000-aaaa'],
        from: 'main',
      },
    });

  it('counts what every record keeps, across projects', () => {
    const r = withDatabases({
      'ktrdr--a': cloned(),
      'ktrdr-pool-2': { service: 'db', volume_key: 'db-data', snapshots: {} },
    });
    expect([...referencedVolumes(r, alive([]))].sort()).toEqual(
      [...keptVolumes('ktrdr--a', cloned()), 'ktrdr-pool-2_db-data'].sort(),
    );
  });

  it('counts a pending operation’s volumes while its process runs', () => {
    const refs = referencedVolumes(withDatabases({ 'ktrdr--a': pendingClone(4242) }), alive([4242]));
    expect(refs.has('ktrdr--a_db-data-clone-20261202t080000-aaaa')).toBe(true);
    expect(refs.has('ktrdr--a_db-data-origin-20261202t080000-aaaa')).toBe(true);
    expect(refs.size).toBe(5);
  });

  it('leaves a killed operation’s volumes to doctor, still keeping what the record keeps', () => {
    const asked: number[] = [];
    const refs = referencedVolumes(withDatabases({ 'ktrdr--a': pendingClone(4242) }), (pid) => {
      asked.push(pid);
      return false;
    });
    expect(asked).toEqual([4242]);
    expect(refs.has('ktrdr--a_db-data-clone-20261202t080000-aaaa')).toBe(false);
    expect([...refs].sort()).toEqual(keptVolumes('ktrdr--a', cloned()).sort());
  });

  it('counts nothing for a registry without records, and refuses a malformed one', () => {
    expect(referencedVolumes(registryOf(), alive([])).size).toBe(0);
    kinfraErrorOf(() => referencedVolumes(withDatabases('x'), alive([])), 'registry', 'registry-unreadable');
  });
});

describe('the names kinfra gives', () => {
  it('names a copy’s volume by project, key, purpose, UTC time to the second and nonce', () => {
    expect(copyVolumeName('ktrdr--a', 'db-data', 'clone', NOW, 'k3j9')).toBe(
      'ktrdr--a_db-data-clone-20261201t213000-k3j9',
    );
  });

  it('gives two copies made in the same second different names by their nonces', () => {
    const a = copyVolumeName('ktrdr--a', 'db-data', 'clone', NOW, 'aaaa');
    const b = copyVolumeName('ktrdr--a', 'db-data', 'clone', new Date('2026-12-01T21:30:00.999Z'), 'bbbb');
    expect(a).not.toBe(b);
    expect(a.replace(/-aaaa$/, '')).toBe(b.replace(/-bbbb$/, ''));
  });

  it('names a volume Docker accepts, and starts it with the project so Compose’s own never clashes', () => {
    const name = copyVolumeName('ktrdr-pool-2', 'db-data', 'origin', NOW, 'x1y2');
    expect(name).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
    expect(name.startsWith('ktrdr-pool-2_db-data-')).toBe(true);
    expect(name).not.toBe(liveVolume('ktrdr-pool-2', 'db-data', undefined));
  });

  it('names an automatic snapshot by the operation and the time', () => {
    expect(autoSnapshotName('clone', NOW, {})).toBe('auto-before-clone-20261201t213000');
  });

  it('numbers an automatic snapshot past the names taken', () => {
    const base = 'auto-before-restore-20261201t213000';
    expect(autoSnapshotName('restore', NOW, { [base]: {} })).toBe(`${base}-2`);
    expect(autoSnapshotName('restore', NOW, { [base]: {}, [`${base}-2`]: {}, [`${base}-3`]: {} })).toBe(`${base}-4`);
    expect(autoSnapshotName('restore', NOW, { [`${base}-2`]: {} })).toBe(base);
  });

  it('gives automatic snapshots names a user could have typed', () => {
    for (const op of ['clone', 'restore', 'reset'])
      expect(snapshotNameProblem(autoSnapshotName(op, NOW, { [`auto-before-${op}-20261201t213000`]: {} }))).toBe(
        undefined,
      );
  });

  it('names a default snapshot by the UTC date and time', () => {
    expect(defaultSnapshotName(NOW)).toBe('snap-20261201-213000');
    expect(defaultSnapshotName(new Date('2027-01-02T03:04:05+02:00'))).toBe('snap-20270102-010405');
    expect(snapshotNameProblem(defaultSnapshotName(NOW))).toBeUndefined();
  });
});

describe('snapshotNameProblem', () => {
  it.each(['before-migration', 'v1.2.3', 'a', '0', 'nightly_2026-12-01', 'x'.repeat(63), 'a..b', 'a-'])(
    'accepts %s',
    (name) => {
      expect(snapshotNameProblem(name)).toBeUndefined();
      expect(SNAPSHOT_NAME.test(name)).toBe(true);
    },
  );

  it.each([
    ['empty', ''],
    ['64 characters', 'x'.repeat(64)],
    ['uppercase', 'Before'],
    ['starting with a dash', '-rf'],
    ['starting with a dot', '.hidden'],
    ['starting with an underscore', '_x'],
    ['with a space', 'before migration'],
    ['with a slash', '../etc'],
    ['with a colon', 'a:b'],
    ['ending in a newline', 'snap\n'],
    ['with a non-ASCII letter', 'café'],
  ])('rejects a name %s, saying what a name may be', (_what, name) => {
    expect(snapshotNameProblem(name)).toMatch(/lowercase letters, digits/);
  });
});

describe('warmState', () => {
  const warming = (pid: number, from?: string): DatabaseRecord => ({
    service: 'db',
    volume_key: 'db-data',
    snapshots: {},
    pending: { op: 'warm', pid, started_at: '2026-12-01T21:30:00Z', volumes: [], ...(from ? { from } : {}) },
  });

  it('says a slot without a record, or never seeded, is empty', () => {
    expect(warmState(undefined, alive([]))).toBe('empty');
    expect(warmState({ service: 'db', volume_key: 'db-data', snapshots: {} }, alive([]))).toBe('empty');
  });

  it('says what a seeded slot’s data is a copy of, and from when', () => {
    expect(warmState(cloned(), alive([]))).toBe('warm: a copy of main from 2026-12-01T21:30:00Z');
  });

  it('says a slot is warming while the warming process runs', () => {
    expect(warmState(warming(4242, 'main'), alive([4242]))).toBe('warming from main');
    expect(warmState(warming(4242), alive([4242]))).toBe('warming from ?');
  });

  it('no longer says warming once that process is gone', () => {
    expect(warmState(warming(4242, 'main'), alive([]))).toBe('empty');
    const killedReseed = { ...cloned(), pending: warming(4242, 'ktrdr--b').pending };
    expect(warmState(killedReseed, alive([]))).toBe('warm: a copy of main from 2026-12-01T21:30:00Z');
  });

  it('does not call another operation under way warming', () => {
    const cloning: DatabaseRecord = {
      ...cloned(),
      pending: { op: 'clone', pid: 4242, started_at: 'x', volumes: [], from: 'ktrdr--b' },
    };
    expect(warmState(cloning, alive([4242]))).toBe('warm: a copy of main from 2026-12-01T21:30:00Z');
  });
});

describe('volumeNamesOf', () => {
  it('names nothing for a project without a record, or whose record kept Compose’s volume', () => {
    expect(volumeNamesOf(registryOf(), 'ktrdr--a').size).toBe(0);
    expect(volumeNamesOf(withDatabases({ 'ktrdr--a': cloned({ volume: undefined }) }), 'ktrdr--a').size).toBe(0);
    expect(volumeNamesOf(withDatabases({ 'ktrdr--b': cloned() }), 'ktrdr--a').size).toBe(0);
  });

  it('maps the volume key to the live volume the record names', () => {
    expect([...volumeNamesOf(withDatabases({ 'ktrdr--a': cloned() }), 'ktrdr--a')]).toEqual([
      ['db-data', 'ktrdr--a_db-data-clone-20261201t213000-k3j9'],
    ]);
  });

  it('refuses a malformed registry rather than giving Compose its own volume back', () => {
    const r = withDatabases({ 'ktrdr--a': { ...cloned(), volume: 42 } });
    kinfraErrorOf(() => volumeNamesOf(r, 'ktrdr--a'), 'registry', 'registry-unreadable');
  });
});
