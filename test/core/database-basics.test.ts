import { describe, expect, it } from 'vitest';
import { credentialsOf, findDatabaseService } from '../../src/core/database/service.js';
import {
  autoSnapshotName,
  databaseRecords,
  dropRecord,
  ensureRecord,
  referencedVolumes,
  snapshotNameProblem,
  volumeNamesOf,
  warmState,
} from '../../src/core/database/record.js';
import { sandboxLayer } from '../../src/core/compose-layer.js';
import { emptyRegistry } from '../../src/core/registry/model.js';
import { isKinfraError } from '../../src/core/errors.js';

const stack = (services: Record<string, unknown>, volumes: Record<string, unknown> = { 'db-data': {} }) => ({
  services,
  volumes,
});
const pg = {
  image: 'postgres:16',
  environment: { POSTGRES_USER: 'app', POSTGRES_PASSWORD: 'pw' },
  volumes: [{ type: 'volume', source: 'db-data', target: '/var/lib/postgresql/data' }],
};

describe('the database of a stack', () => {
  it('is its Postgres service and the named volume at its data folder, with the login from its environment', () => {
    const svc = findDatabaseService(stack({ web: { image: 'nginx' }, db: pg }));
    expect(svc).toEqual({
      service: 'db',
      volumeKey: 'db-data',
      mountTarget: '/var/lib/postgresql/data',
      image: 'postgres:16',
    });
    expect(credentialsOf({ POSTGRES_USER: 'app', POSTGRES_PASSWORD: 'pw' })).toEqual({
      user: 'app',
      database: 'app',
      password: 'pw',
    });
    expect(credentialsOf({}, { user: 'x', passwordEnv: 'DB_PASS' })).toEqual({
      user: 'x',
      database: 'x',
      password: undefined,
    });
  });

  it('refuses MySQL as not yet supported, and a bind-mounted Postgres as nothing to switch', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isKinfraError(e) ? e.code : 'other';
      }
      return 'none';
    };
    expect(code(() => findDatabaseService(stack({ db: { image: 'mysql:8' } })))).toBe('database-not-supported');
    const bind = { ...pg, volumes: [{ type: 'bind', source: './pg', target: '/var/lib/postgresql/data' }] };
    expect(code(() => findDatabaseService(stack({ db: bind })))).toBe('no-database');
    expect(code(() => findDatabaseService(stack({ db: pg }), { service: 'nope' }))).toBe('no-database');
  });
});

describe('the registry record of a database', () => {
  it('is created and dropped under the lock; a malformed one is an unreadable registry, never an empty one', () => {
    const r = emptyRegistry();
    const rec = ensureRecord(r, 'p', 'db', 'db-data');
    rec.volume = 'p_db-data-clone-x';
    expect(volumeNamesOf(r, 'p')).toEqual(new Map([['db-data', 'p_db-data-clone-x']]));
    dropRecord(r, 'p');
    expect(r.databases).toBeUndefined();
    const bad = { ...emptyRegistry(), databases: { p: { service: 'db' } } };
    expect(() => databaseRecords(bad)).toThrow(/cannot be read/);
  });

  it('keeps the volumes of an operation under way only while its process runs', () => {
    const r = emptyRegistry();
    const rec = ensureRecord(r, 'p', 'db', 'db-data');
    rec.pending = { op: 'clone', pid: 42, started_at: '', volumes: ['new'] };
    expect(referencedVolumes(r, () => true).has('new')).toBe(true);
    expect(referencedVolumes(r, () => false).has('new')).toBe(false);
    expect(referencedVolumes(r, () => false).has('p_db-data')).toBe(true);
    expect(warmState(rec, () => true)).toBe('empty');
  });

  it('names snapshots safely and never twice', () => {
    expect(snapshotNameProblem('before-migration')).toBeUndefined();
    expect(snapshotNameProblem('../x')).toBeDefined();
    const now = new Date('2026-12-01T21:30:00Z');
    const first = autoSnapshotName('clone', now, {});
    expect(autoSnapshotName('clone', now, { [first]: 1 })).toBe(`${first}-2`);
  });
});

describe('the generated layer of a switched database', () => {
  it('names the live volume the registry gives, over the fixed-name renaming', () => {
    const config = stack({ db: pg }, { 'db-data': { name: 'fixed' } });
    const layer = sandboxLayer(
      config,
      { owner: 'o', sandbox: 'p', path: '/x' },
      new Map(),
      new Map([['db-data', 'live']]),
    );
    expect((layer.volumes as Record<string, { name?: string }>)['db-data']!.name).toBe('live');
  });
});
