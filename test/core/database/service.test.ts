// Which service of a stack is its database, which named volume holds its data, and how to log in to it.
// The configurations are what `docker compose config` prints (long-form volumes, map environments), with the
// short forms a hand-written file or an older Compose gives mixed in.
import { describe, expect, it } from 'vitest';
import {
  credentialsOf,
  envListToMap,
  environmentOf,
  findDatabaseService,
  type DatabaseSpec,
} from '../../../src/core/database/service.js';
import { kinfraErrorOf } from '../fixtures.js';

const PGDATA_DIR = '/var/lib/postgresql/data';
const volumeAt = (source: string, target: string) => ({ type: 'volume', source, target, volume: {} });
const bindAt = (source: string, target: string) => ({ type: 'bind', source, target, bind: { create_host_path: true } });

/** A ktrdr-like stack: a backend, a worker, and whatever database the test gives. */
function stack(db: Record<string, unknown>, volumes: Record<string, unknown> = { 'db-data': {} }, name = 'db') {
  return {
    name: 'ktrdr',
    services: {
      backend: {
        image: 'ghcr.io/kpiteam/ktrdr-backend:dev',
        depends_on: { [name]: { condition: 'service_healthy' } },
        ports: [{ target: 8000, published: '8000', protocol: 'tcp' }],
        volumes: [bindAt('/home/dev/src/ktrdr/models', '/app/models')],
      },
      [name]: db,
      worker: { image: 'ghcr.io/kpiteam/ktrdr-backend:dev', command: ['worker'] },
    },
    volumes,
  };
}

describe('findDatabaseService', () => {
  describe('finds Postgres by its image', () => {
    it('finds the official postgres image with a named volume at its data folder', () => {
      const config = stack({
        image: 'postgres:16-alpine',
        environment: { POSTGRES_USER: 'ktrdr', POSTGRES_PASSWORD: 'secret', POSTGRES_DB: 'ktrdr' },
        ports: [{ target: 5432, published: '5432', protocol: 'tcp' }],
        volumes: [volumeAt('db-data', PGDATA_DIR)],
      });
      expect(findDatabaseService(config)).toEqual({
        service: 'db',
        volumeKey: 'db-data',
        mountTarget: PGDATA_DIR,
        image: 'postgres:16-alpine',
      });
    });

    it.each([
      ['postgis/postgis:16-3.4', 'postgis'],
      ['timescale/timescaledb:latest-pg16', 'timescaledb'],
      ['timescale/timescaledb-ha:pg16', 'timescaledb-ha'],
      ['pgvector/pgvector:pg16', 'pgvector'],
      ['docker.io/library/postgres:16@sha256:' + 'ab'.repeat(32), 'a digest-pinned postgres'],
      ['localhost:5000/postgres:15', 'postgres from a registry with a port'],
      ['postgres', 'an untagged postgres'],
    ])('finds %s (%s) as the database', (image) => {
      const config = stack({ image, volumes: [volumeAt('pg', PGDATA_DIR)] }, { pg: {} }, 'timeseries');
      const found = findDatabaseService(config);
      expect(found.service).toBe('timeseries');
      expect(found.volumeKey).toBe('pg');
      expect(found.image).toBe(image);
    });

    it('takes postgrest for no Postgres, though its name starts the same', () => {
      const config = {
        services: {
          api: { image: 'postgrest/postgrest:v12', volumes: [volumeAt('api-cache', '/var/lib/postgresql/data')] },
        },
        volumes: { 'api-cache': {} },
      };
      expect(kinfraErrorOf(() => findDatabaseService(config), 'usage', 'no-database').message).toMatch(
        /No Postgres service found/,
      );
    });

    it('finds the Postgres 18 image’s volume mounted at /var/lib/postgresql (its new layout)', () => {
      const config = stack({ image: 'postgres:18', volumes: [volumeAt('db-data', '/var/lib/postgresql')] });
      expect(findDatabaseService(config)).toMatchObject({ volumeKey: 'db-data', mountTarget: '/var/lib/postgresql' });
    });
  });

  describe('finds Postgres by its healthcheck', () => {
    it('finds a custom-built image by its pg_isready healthcheck alone', () => {
      const config = stack({
        build: { context: '/home/dev/src/ktrdr/docker/db', dockerfile: 'Dockerfile' },
        healthcheck: { test: ['CMD-SHELL', 'pg_isready -U ktrdr -d ktrdr'], interval: '5s', retries: 10 },
        volumes: [volumeAt('db-data', PGDATA_DIR)],
      });
      expect(findDatabaseService(config)).toEqual({
        service: 'db',
        volumeKey: 'db-data',
        mountTarget: PGDATA_DIR,
        image: undefined,
      });
    });

    it('finds a private image by a pg_isready healthcheck written as one string', () => {
      const config = stack({
        image: 'registry.example.com/platform/app-db:3.2',
        healthcheck: { test: 'pg_isready -h localhost' },
        volumes: [volumeAt('db-data', PGDATA_DIR)],
      });
      expect(findDatabaseService(config).service).toBe('db');
    });

    it('does not take a service whose pg_isready healthcheck is disabled for a database', () => {
      const config = stack({
        image: 'registry.example.com/platform/app-db:3.2',
        healthcheck: { test: ['CMD-SHELL', 'pg_isready'], disable: true },
        volumes: [volumeAt('db-data', PGDATA_DIR)],
      });
      kinfraErrorOf(() => findDatabaseService(config), 'usage', 'no-database');
    });
  });

  describe('which volume holds the data', () => {
    it('follows PGDATA set to a subfolder of the mount, past other named volumes mounted before it', () => {
      const config = stack(
        {
          image: 'postgres:16',
          environment: { PGDATA: '/pgdata/16/main' },
          volumes: [
            volumeAt('db-backups', '/backups'),
            volumeAt('db-init', '/var/lib/postgresql/init'),
            volumeAt('pg', '/pgdata'),
          ],
        },
        { 'db-backups': {}, 'db-init': {}, pg: {} },
      );
      expect(findDatabaseService(config)).toMatchObject({ volumeKey: 'pg', mountTarget: '/pgdata' });
    });

    it('follows PGDATA set to the mount itself', () => {
      const config = stack(
        {
          image: 'postgres:16',
          environment: { PGDATA: '/data' },
          volumes: [volumeAt('logs', '/var/log/postgresql'), volumeAt('pg', '/data')],
        },
        { logs: {}, pg: {} },
      );
      expect(findDatabaseService(config).volumeKey).toBe('pg');
    });

    it('does not take a mount for PGDATA’s only because its path is a prefix of PGDATA’s', () => {
      const config = stack(
        {
          image: 'postgres:16',
          environment: { PGDATA: '/var/lib/postgresql/data-16/pgdata' },
          volumes: [volumeAt('old', '/var/lib/postgresql/data'), volumeAt('current', '/var/lib/postgresql/data-16')],
        },
        { old: {}, current: {} },
      );
      expect(findDatabaseService(config).volumeKey).toBe('current');
    });

    it('prefers the volume under /var/lib/postgresql to one mounted before it elsewhere', () => {
      const config = stack(
        { image: 'postgres:16', volumes: [volumeAt('dumps', '/dumps'), volumeAt('db-data', PGDATA_DIR)] },
        { dumps: {}, 'db-data': {} },
      );
      expect(findDatabaseService(config)).toMatchObject({ volumeKey: 'db-data', mountTarget: PGDATA_DIR });
    });

    it('falls back to the first named volume when none is at a Postgres path', () => {
      const config = stack(
        {
          image: 'postgres:16',
          volumes: [bindAt('/tmp/x', '/x'), volumeAt('first', '/srv/a'), volumeAt('second', '/srv/b')],
        },
        { first: {}, second: {} },
      );
      expect(findDatabaseService(config).volumeKey).toBe('first');
    });

    it('reads short-syntax volume strings, with and without a mode', () => {
      for (const entry of ['db-data:/var/lib/postgresql/data', 'db-data:/var/lib/postgresql/data:rw']) {
        const config = stack({ image: 'postgres:16', volumes: ['./init:/docker-entrypoint-initdb.d:ro', entry] });
        expect(findDatabaseService(config)).toMatchObject({ volumeKey: 'db-data', mountTarget: PGDATA_DIR });
      }
    });

    it('takes a top-level volume written with an empty value (`db-data:` in YAML) for defined', () => {
      const config = stack(
        { image: 'postgres:16', volumes: ['db-data:/var/lib/postgresql/data'] },
        { 'db-data': null },
      );
      expect(findDatabaseService(config).volumeKey).toBe('db-data');
    });

    it('reads the environment given as a KEY=VALUE list', () => {
      const config = stack(
        {
          image: 'postgres:16',
          environment: ['POSTGRES_USER=ktrdr', 'PGDATA=/var/lib/postgresql/data/pgdata'],
          volumes: ['scratch:/var/lib/postgresql/scratch', 'db-data:/var/lib/postgresql/data'],
        },
        { scratch: {}, 'db-data': {} },
      );
      expect(findDatabaseService(config).volumeKey).toBe('db-data');
    });

    it('never takes an anonymous volume or a tmpfs for the data', () => {
      const config = stack({
        image: 'postgres:16',
        volumes: [
          { type: 'volume', target: PGDATA_DIR },
          { type: 'tmpfs', target: '/var/lib/postgresql/tmp' },
        ],
      });
      const err = kinfraErrorOf(() => findDatabaseService(config), 'usage', 'no-database');
      expect(err.message).toMatch(/keeps its data in no named volume/);
    });
  });

  describe('kinfra.yaml names the service', () => {
    it('uses the service kinfra.yaml names when two Postgres services are defined', () => {
      const config = {
        services: {
          cache_db: { image: 'postgres:16', volumes: [volumeAt('cache', PGDATA_DIR)] },
          main_db: { image: 'postgis/postgis:16-3.4', volumes: [volumeAt('main', PGDATA_DIR)] },
        },
        volumes: { cache: {}, main: {} },
      };
      expect(findDatabaseService(config).service).toBe('cache_db');
      expect(findDatabaseService(config, { service: 'main_db' })).toMatchObject({
        service: 'main_db',
        volumeKey: 'main',
      });
    });

    it('uses a service kinfra.yaml names though neither its image nor its healthcheck says Postgres', () => {
      const config = stack({
        image: 'registry.example.com/platform/app-db:3.2',
        volumes: [volumeAt('db-data', PGDATA_DIR)],
      });
      expect(findDatabaseService(config, { service: 'db' })).toMatchObject({ service: 'db', volumeKey: 'db-data' });
    });

    it('refuses a service kinfra.yaml names that the compose files do not define, listing those they do', () => {
      const config = stack({ image: 'postgres:16', volumes: [volumeAt('db-data', PGDATA_DIR)] });
      const err = kinfraErrorOf(() => findDatabaseService(config, { service: 'postgres' }), 'usage', 'no-database');
      expect(err.message).toContain('postgres');
      expect(err.hint).toContain('backend, db, worker');
    });

    it('refuses a named service even when another Postgres would have been found', () => {
      const config = stack({ image: 'postgres:16', volumes: [volumeAt('db-data', PGDATA_DIR)] });
      kinfraErrorOf(() => findDatabaseService(config, { service: 'DB' }), 'usage', 'no-database');
    });

    it('says there are no services at all when the compose files define none', () => {
      const err = kinfraErrorOf(() => findDatabaseService({ services: {} }, { service: 'db' }), 'usage', 'no-database');
      expect(err.hint).toContain('services: none');
    });

    // BUG: kinfra.yaml naming a MySQL service skips the MySQL check: findDatabaseService returns it as the
    // (Postgres) database, and clone/snapshot then run pg_isready and pg_basebackup against MySQL. The same stack
    // without `database.service` is refused with database-not-supported.
    it('refuses a MySQL service kinfra.yaml names, as it refuses one it finds', () => {
      const config = stack({ image: 'mysql:8.4', volumes: [volumeAt('db-data', '/var/lib/mysql')] });
      kinfraErrorOf(() => findDatabaseService(config, { service: 'db' }), 'usage', 'database-not-supported');
    });
  });

  describe('why there is no database kinfra can copy', () => {
    it.each(['mysql:8.4', 'mariadb:11', 'percona:8.0', 'docker.io/library/mariadb:10.11'])(
      'refuses a stack whose only database is %s as not supported',
      (image) => {
        const config = stack({ image, volumes: [volumeAt('db-data', '/var/lib/mysql')] });
        const err = kinfraErrorOf(() => findDatabaseService(config), 'usage', 'database-not-supported');
        expect(err.message).toContain('db');
        expect(err.hint).toMatch(/mysqldump/);
      },
    );

    it('takes the Postgres of a stack that runs MySQL beside it', () => {
      const config = {
        services: {
          legacy: { image: 'mysql:8.4', volumes: [volumeAt('legacy-data', '/var/lib/mysql')] },
          db: { image: 'postgres:16', volumes: [volumeAt('db-data', PGDATA_DIR)] },
        },
        volumes: { 'legacy-data': {}, 'db-data': {} },
      };
      expect(findDatabaseService(config).service).toBe('db');
    });

    it('refuses a Postgres whose data is in a bind mount, with a hint to mount a named volume', () => {
      const config = stack({ image: 'postgres:16', volumes: [bindAt('/home/dev/src/ktrdr/.pgdata', PGDATA_DIR)] }, {});
      const err = kinfraErrorOf(() => findDatabaseService(config), 'usage', 'no-database');
      expect(err.message).toMatch(/bind mount/);
      expect(err.hint).toContain('db-data:/var/lib/postgresql/data');
      expect(err.hint).toContain('in db');
    });

    it('refuses a short-syntax bind mount, which names no top-level volume', () => {
      const config = stack({ image: 'postgres:16', volumes: ['./pgdata:/var/lib/postgresql/data'] }, {});
      kinfraErrorOf(() => findDatabaseService(config), 'usage', 'no-database');
    });

    it('refuses a short-syntax entry that names a volume the top level does not define', () => {
      const config = stack({ image: 'postgres:16', volumes: ['db-data:/var/lib/postgresql/data'] }, { other: {} });
      kinfraErrorOf(() => findDatabaseService(config), 'usage', 'no-database');
    });

    it('refuses a Postgres that mounts nothing (its data lives in the container)', () => {
      const config = stack({ image: 'postgres:16' }, {});
      kinfraErrorOf(() => findDatabaseService(config), 'usage', 'no-database');
    });

    it('refuses a stack with no database, and says how to name one', () => {
      const config = { services: { web: { image: 'nginx' }, cache: { image: 'redis:7' } } };
      const err = kinfraErrorOf(() => findDatabaseService(config), 'usage', 'no-database');
      expect(err.hint).toContain('database: { service: <name> }');
    });

    it.each([
      ['null', null],
      ['an empty configuration', {}],
      ['services: null', { services: null }],
      ['a null service', { services: { db: null } }],
    ])('refuses %s without a crash', (_what, config) => {
      kinfraErrorOf(() => findDatabaseService(config), 'usage', 'no-database');
    });
  });
});

describe('environmentOf', () => {
  it('reads a map, writing null and missing values as empty and numbers as text', () => {
    expect(environmentOf({ environment: { A: 'x', B: null, C: 5432, D: true, E: undefined } })).toEqual({
      A: 'x',
      B: '',
      C: '5432',
      D: 'true',
      E: '',
    });
  });

  it('reads a list, a bare name as empty', () => {
    expect(environmentOf({ environment: ['A=1', 'B', 'C='] })).toEqual({ A: '1', B: '', C: '' });
  });

  it('gives an empty map for a service without an environment, or no service', () => {
    expect(environmentOf({})).toEqual({});
    expect(environmentOf(null)).toEqual({});
    expect(environmentOf({ environment: 'A=1' })).toEqual({});
  });
});

describe('credentialsOf', () => {
  it('logs in as postgres to the postgres database when the environment names neither', () => {
    expect(credentialsOf({})).toEqual({ user: 'postgres', database: 'postgres', password: undefined });
  });

  it('defaults the database to POSTGRES_USER, as the image does', () => {
    expect(credentialsOf({ POSTGRES_USER: 'ktrdr', POSTGRES_PASSWORD: 's3cret' })).toEqual({
      user: 'ktrdr',
      database: 'ktrdr',
      password: 's3cret',
    });
  });

  it('uses POSTGRES_DB when it is set', () => {
    expect(credentialsOf({ POSTGRES_USER: 'ktrdr', POSTGRES_DB: 'ktrdr_dev' }).database).toBe('ktrdr_dev');
  });

  it('takes empty POSTGRES_USER and POSTGRES_DB for unset, as the image does', () => {
    expect(credentialsOf({ POSTGRES_USER: '', POSTGRES_DB: '' })).toMatchObject({
      user: 'postgres',
      database: 'postgres',
    });
  });

  it('lets kinfra.yaml’s user and database win over the environment', () => {
    const env = { POSTGRES_USER: 'ktrdr', POSTGRES_DB: 'ktrdr', POSTGRES_PASSWORD: 'pw' };
    expect(credentialsOf(env, { user: 'admin', database: 'analytics' })).toEqual({
      user: 'admin',
      database: 'analytics',
      password: 'pw',
    });
  });

  it('defaults the database to kinfra.yaml’s user when neither names a database', () => {
    expect(credentialsOf({}, { user: 'admin' })).toMatchObject({ user: 'admin', database: 'admin' });
  });

  it('reads the password from the variable kinfra.yaml names, and not from POSTGRES_PASSWORD then', () => {
    const env = { POSTGRES_PASSWORD: 'image-default', DB_ADMIN_PASSWORD: 'the-real-one' };
    expect(credentialsOf(env, { passwordEnv: 'DB_ADMIN_PASSWORD' }).password).toBe('the-real-one');
    expect(credentialsOf({ POSTGRES_PASSWORD: 'x' }, { passwordEnv: 'MISSING' }).password).toBeUndefined();
  });

  it('gives no password for an empty one', () => {
    expect(credentialsOf({ POSTGRES_PASSWORD: '' }).password).toBeUndefined();
    expect(credentialsOf({ PW: '' }, { passwordEnv: 'PW' }).password).toBeUndefined();
  });

  it('keeps a password as it is, spaces and equals signs included', () => {
    expect(credentialsOf({ POSTGRES_PASSWORD: ' a=b c ' }).password).toBe(' a=b c ');
  });

  it('ignores spec fields left undefined', () => {
    const spec: DatabaseSpec = { service: undefined, user: undefined, database: undefined, passwordEnv: undefined };
    expect(credentialsOf({ POSTGRES_USER: 'u', POSTGRES_PASSWORD: 'p' }, spec)).toEqual({
      user: 'u',
      database: 'u',
      password: 'p',
    });
  });
});

describe('envListToMap', () => {
  it('splits each line at its first equals sign, keeping the rest of the value whole', () => {
    expect(
      envListToMap([
        'POSTGRES_PASSWORD=a=b==c',
        'DATABASE_URL=postgres://u:p@db:5432/app?sslmode=disable&x=1',
        'PATH=/usr/local/bin:/usr/bin',
      ]),
    ).toEqual({
      POSTGRES_PASSWORD: 'a=b==c',
      DATABASE_URL: 'postgres://u:p@db:5432/app?sslmode=disable&x=1',
      PATH: '/usr/local/bin:/usr/bin',
    });
  });

  it('reads an empty value, a value that is only equals signs, and a line with no equals sign', () => {
    expect(envListToMap(['EMPTY=', 'EQ===', 'BARE'])).toEqual({ EMPTY: '', EQ: '==', BARE: '' });
  });

  it('lets the last of a repeated name win, as docker does', () => {
    expect(envListToMap(['A=1', 'A=2'])).toEqual({ A: '2' });
  });

  it('gives an empty map for no lines, and leaves the list it is given alone', () => {
    expect(envListToMap([])).toEqual({});
    const lines = Object.freeze(['A=1']);
    expect(envListToMap(lines)).toEqual({ A: '1' });
  });

  it('feeds credentialsOf what docker inspect’s Config.Env says', () => {
    const env = envListToMap(['POSTGRES_USER=ktrdr', 'POSTGRES_PASSWORD=p=w', 'PGDATA=/var/lib/postgresql/data']);
    expect(credentialsOf(env)).toEqual({ user: 'ktrdr', database: 'ktrdr', password: 'p=w' });
  });
});
