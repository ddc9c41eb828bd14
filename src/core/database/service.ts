// Which service of a stack is its database, which named volume holds its data, and how to log in to it. Found the
// way the derived layout finds Postgres (image family or a `pg_isready` healthcheck), or named in kinfra.yaml
// (`database:`). Pure: the effective compose configuration comes in parsed.
import { isMysqlService, isPostgresService, type Service } from '../derived-gate.js';
import { usageError, type KinfraError } from '../errors.js';

/** kinfra.yaml `database:`: what to use when the compose files do not say it plainly. */
export interface DatabaseSpec {
  service?: string | undefined;
  user?: string | undefined;
  database?: string | undefined;
  /** The variable of the service's environment that holds the password (default POSTGRES_PASSWORD). */
  passwordEnv?: string | undefined;
}

/** The database service of a stack, as the copy commands need it. */
export interface DatabaseService {
  service: string;
  /** The top-level named volume that holds its data (`db-data`). */
  volumeKey: string;
  /** Where the service mounts it (`/var/lib/postgresql/data`). */
  mountTarget: string;
  image: string | undefined;
}

export interface Credentials {
  user: string;
  database: string;
  /** Never printed, never on a command line: handed to docker in its environment (`-e PGPASSWORD`). */
  password: string | undefined;
}

type ServiceWithVolumes = Service & { volumes?: unknown; environment?: unknown };

const servicesOf = (config: unknown) =>
  Object.entries((config as { services?: Record<string, ServiceWithVolumes | null> } | null)?.services ?? {});

/** A service's environment as a map (compose config prints a map; a list is read too). */
export function environmentOf(service: unknown): Record<string, string> {
  const env = (service as { environment?: unknown } | null)?.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env
        .map(String)
        .map((kv) => (kv.includes('=') ? [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] : [kv, ''])),
    );
  }
  if (env && typeof env === 'object')
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]));
  return {};
}

interface Mount {
  source: string;
  target: string;
}

/** The named volumes a service mounts (compose config's long form, or `name:/path` short entries). */
function namedMounts(service: ServiceWithVolumes | null, topLevel: Record<string, unknown>): Mount[] {
  const out: Mount[] = [];
  for (const v of Array.isArray(service?.volumes) ? (service!.volumes as unknown[]) : []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (source && target && source in topLevel) out.push({ source, target });
    } else if (v && typeof v === 'object') {
      const m = v as { type?: unknown; source?: unknown; target?: unknown };
      if (m.type === 'volume' && typeof m.source === 'string' && typeof m.target === 'string' && m.source in topLevel)
        out.push({ source: m.source, target: m.target });
    }
  }
  return out;
}

const notFound = (message: string, hint: string): KinfraError => usageError('no-database', message, hint);

/** The stack's database service, or why there is none kinfra can copy. */
export function findDatabaseService(config: unknown, spec: DatabaseSpec = {}): DatabaseService {
  const services = servicesOf(config);
  const topLevel = ((config as { volumes?: Record<string, unknown> } | null)?.volumes ?? {}) as Record<string, unknown>;
  let name = spec.service;
  if (name !== undefined && !services.some(([n]) => n === name)) {
    throw notFound(
      `kinfra.yaml names the database service ${name}, which the compose files do not define.`,
      `Fix database.service in kinfra.yaml (services: ${services.map(([n]) => n).join(', ') || 'none'}).`,
    );
  }
  name ??= services.find(([, s]) => isPostgresService(s))?.[0];
  const named = name === undefined ? undefined : services.find(([n]) => n === name)![1];
  if (name === undefined || isMysqlService(named)) {
    const mysql = name ?? services.find(([, s]) => isMysqlService(s))?.[0];
    if (mysql !== undefined)
      throw usageError(
        'database-not-supported',
        `The database service ${mysql} is MySQL/MariaDB: kinfra copies Postgres databases only (MySQL is not yet ` +
          'supported).',
        'Copy it with its own tools (mysqldump) for now.',
      );
    throw notFound(
      'No Postgres service found in the compose files (by image: postgres, postgis, timescaledb, pgvector; or by a ' +
        'pg_isready healthcheck).',
      'Name it in kinfra.yaml: database: { service: <name> }',
    );
  }
  const service = services.find(([n]) => n === name)![1];
  const env = environmentOf(service);
  const mounts = namedMounts(service, topLevel);
  const pgdata = env.PGDATA;
  const mount =
    (pgdata ? mounts.find((m) => pgdata === m.target || pgdata.startsWith(`${m.target}/`)) : undefined) ??
    mounts.find((m) => m.target.startsWith('/var/lib/postgresql')) ??
    mounts[0];
  if (!mount) {
    throw notFound(
      `The database service ${name} keeps its data in no named volume (a bind mount or the container itself), so ` +
        'kinfra has nothing it can copy or switch.',
      `Mount a named volume at its data folder, e.g. volumes: [db-data:/var/lib/postgresql/data] in ${name}.`,
    );
  }
  const image = typeof service?.image === 'string' ? service.image : undefined;
  return { service: name, volumeKey: mount.source, mountTarget: mount.target, image };
}

/** How to log in, from a service's (or a container's) environment, kinfra.yaml's names winning. */
export function credentialsOf(env: Readonly<Record<string, string>>, spec: DatabaseSpec = {}): Credentials {
  const user = spec.user ?? (env.POSTGRES_USER || 'postgres');
  const database = spec.database ?? (env.POSTGRES_DB || user);
  const password = env[spec.passwordEnv ?? 'POSTGRES_PASSWORD'];
  return { user, database, password: password === '' ? undefined : password };
}

/** `KEY=VALUE` lines (docker inspect's Config.Env) as a map. */
export function envListToMap(lines: readonly string[]): Record<string, string> {
  return environmentOf({ environment: [...lines] });
}
