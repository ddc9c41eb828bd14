// The database servers `kinfra sandbox db` works with: the target sandbox's (running or not), a source's (which must
// be running: a physical copy streams from it), and the main checkout's. Also what `up` needs so that a database
// switched while stopped never starts on the volume it was switched away from.
import { listContainers, type ContainerInfo } from '../adapters/engine.js';
import { mainRoot } from '../adapters/git.js';
import {
  fileOwner,
  inspectContainer,
  removeContainer,
  labelHelpersFor,
  serverSql,
  stopContainer,
  type PgContainer,
} from '../adapters/postgres.js';
import {
  credentialsOf,
  findDatabaseService,
  type Credentials,
  type DatabaseService,
} from '../core/database/service.js';
import { notFoundError, usageError } from '../core/errors.js';
import { OWNER_LABEL, SANDBOX_LABEL } from '../core/ownership.js';
import type { Registry } from '../core/registry/model.js';
import type { AppContext } from './context.js';
import { entryByName } from './sandbox-entry.js';
import { loadStack, type Stack } from './stack.js';
import { resolveSandbox, sandboxRemap } from './the-sandbox.js';
import type { ComposeProject } from '../adapters/compose.js';
import type { Config } from '../core/config/config.js';
import type { Stamp } from '../core/ownership.js';

/** The compose project whose database a command changes (a sandbox's, or a pool slot's), with its service. */
export interface DbTarget {
  /** For messages: the sandbox's instance id, or `pool slot N`. */
  label: string;
  project: string;
  compose: ComposeProject;
  stamp: Stamp;
  config: Config;
  /** The host ports its layer moves. */
  remap: ReadonlyMap<number, number>;
  /** The main checkout (what `--from main` copies). */
  parentRepo: string;
  svc: DatabaseService;
  stack: Stack;
}

export async function dbTarget(ctx: AppContext, registry: Registry, name?: string): Promise<DbTarget> {
  const s = await resolveSandbox(ctx, { registry, name });
  labelHelpersFor(s.stamp.owner);
  const stack = await loadStack(s.project);
  return {
    label: s.instanceId,
    project: s.project.name,
    compose: s.project,
    stamp: s.stamp,
    config: s.config,
    remap: sandboxRemap(s),
    parentRepo: s.entry.parent_repo,
    svc: findDatabaseService(stack.config, s.config.database),
    stack,
  };
}

/** A running server, as a copy needs it: how to log in, its port and data folder, who owns its files. */
export interface Server {
  container: PgContainer;
  creds: Credentials;
  port: number;
  /** Its data_directory. */
  dataDir: string;
  /** Where its data volume is mounted, and the data folder relative to that. */
  mount: string;
  relDir: string;
  /** uid:gid of its files. */
  owner: string;
  /** 150004 -> 15 */
  major: number;
}

export async function serverOf(id: string, spec: Config['database']): Promise<Server> {
  const container = await inspectContainer(id);
  const creds = credentialsOf(container.env, spec);
  const port = Number(container.env.PGPORT) || 5432;
  const facts = await serverSql(
    id,
    creds,
    port,
    "SELECT current_setting('data_directory') || '|' || current_setting('server_version_num')",
    'postgres',
  );
  const [dataDir = '', version = '0'] = facts.split('|');
  const mount = container.mounts
    .filter((m) => m.type === 'volume' && (dataDir === m.destination || dataDir.startsWith(`${m.destination}/`)))
    .sort((a, b) => b.destination.length - a.destination.length)[0];
  if (!mount) {
    throw usageError(
      'no-database-volume',
      `The database in ${container.name} keeps its data (${dataDir}) outside any named volume.`,
      'Mount a named volume at its data folder; kinfra copies and switches volumes.',
    );
  }
  return {
    container,
    creds,
    port,
    dataDir,
    mount: mount.destination,
    relDir: dataDir.slice(mount.destination.length).replace(/^\//, ''),
    owner: await fileOwner(id, dataDir),
    major: Math.floor(Number(version) / 10000),
  };
}

const isRunningService = (c: ContainerInfo, service: string) => c.service === service && c.state === 'running';

/** The target's own database container (running or not), when it has one. */
export function targetContainer(containers: readonly ContainerInfo[], t: DbTarget): ContainerInfo | undefined {
  return containers.find(
    (c) => c.project === t.project && c.service === t.svc.service && c.labels[OWNER_LABEL] === t.stamp.owner,
  );
}

export interface Source {
  /** `main`, or the sandbox's instance id. */
  label: string;
  containerId: string;
}

/** The running database `from` names: `main` (the main checkout's stack) or a registered sandbox. */
export async function findSource(
  ctx: AppContext,
  registry: Registry,
  from: string,
  t: Pick<DbTarget, 'svc' | 'project'> & { owner: string; parentRepo: string },
): Promise<Source> {
  const containers = await listContainers();
  if (from === 'main') {
    const root = t.parentRepo || (await mainRoot(ctx.cwd));
    const c = containers.find((x) => x.workingDir === root && isRunningService(x, t.svc.service));
    if (!c) {
      throw notFoundError(
        'source-not-running',
        `The main checkout's database (service ${t.svc.service}, compose run in ${root}) is not running.`,
        `Start it: cd ${root} && docker compose up -d ${t.svc.service}`,
      );
    }
    return { label: 'main', containerId: c.id };
  }
  const [id, entry] = entryByName(registry, from);
  const project = entry.compose_project ?? id;
  if (project === t.project)
    throw usageError('same-database', `${from} is this sandbox itself.`, 'Name another sandbox, or main.');
  const c = containers.find(
    (x) =>
      x.project === project &&
      isRunningService(x, t.svc.service) &&
      x.labels[OWNER_LABEL] === t.owner &&
      x.labels[SANDBOX_LABEL] === project,
  );
  if (!c) {
    throw notFoundError(
      'source-not-running',
      `The database of ${id} (service ${t.svc.service}) is not running.`,
      `Start it: kinfra sandbox up (in ${entry.path})`,
    );
  }
  return { label: id, containerId: c.id };
}

/** Stop and remove the target's database container (its data stays in its volume). */
export async function retireContainer(c: ContainerInfo): Promise<void> {
  if (c.state === 'running') await stopContainer(c.id);
  await removeContainer(c.id);
}

/**
 * Before `up`: a database container of this project (kinfra's own) that mounts another volume of the database's key
 * than the live one the registry names is removed, so Compose makes it again on the live one.
 */
export async function retireStaleDatabaseContainer(
  project: string,
  volumeNames: ReadonlyMap<string, string>,
  containers: readonly ContainerInfo[],
): Promise<void> {
  for (const [key, live] of volumeNames) {
    const prefix = `${project}_${key}`;
    for (const c of containers) {
      if (c.project !== project || c.labels[SANDBOX_LABEL] !== project || !c.labels[OWNER_LABEL]) continue;
      const stale = c.volumes.some((v) => v !== live && (v === prefix || v.startsWith(`${prefix}-`)));
      if (stale) await retireContainer(c);
    }
  }
}
