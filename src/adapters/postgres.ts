// Postgres inside containers, through the docker CLI: SQL in a running server, volumes, and the helper containers
// that copy a database (pg_basebackup from a running server, a file copy of a stopped one, a dump piped into a
// restore). Helpers run the database's own image (no registry is needed, and its tools match its server). A
// password reaches docker only through its environment (`-e PGPASSWORD` names the variable, never the value), so it
// is on no command line and in no process list.
import type { Credentials } from '../core/database/service.js';
import { envListToMap } from '../core/database/service.js';
import { externalError, KinfraError } from '../core/errors.js';
import { engineError } from './engine.js';
import { queryMs } from './engine-deadline.js';
import { run, runPipe, type RunResult } from './runner.js';

export interface PgContainer {
  id: string;
  name: string;
  running: boolean;
  /** The image id it runs (sha256:...). */
  imageId: string;
  /** The image as named (kinfra-example-db:1). */
  image: string;
  env: Record<string, string>;
  mounts: { type: string; name: string | undefined; destination: string }[];
}

const withPassword = (creds: Pick<Credentials, 'password'> | undefined): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PGPASSWORD;
  if (creds?.password !== undefined) env.PGPASSWORD = creds.password;
  return env;
};

async function docker(args: string[], what: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  let r: RunResult;
  try {
    r = await run('docker', args, {
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
  } catch (e) {
    if ((e as KinfraError).code === 'tool-missing') throw engineError(undefined, what);
    throw e;
  }
  return r;
}

async function dockerOk(args: string[], what: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const r = await docker(args, what, opts);
  if (r.exitCode !== 0) throw engineError(r, what);
  return r.stdout;
}

/** A copy step that failed: Postgres's own last words, which say what to fix. */
export function copyFailed(what: string, r: RunResult): KinfraError {
  const last =
    `${r.stderr}\n${r.stdout}`.trim().split('\n').filter(Boolean).slice(-2).join(' ') || `exit ${r.exitCode}`;
  return externalError(
    'database-copy-failed',
    `Could not ${what}: ${last}`,
    'Fix what Postgres reports, then run the command again.',
  );
}

type Inspected = {
  Id: string;
  Name: string;
  Image: string;
  State?: { Running?: boolean };
  Config?: { Image?: string; Env?: string[] };
  Mounts?: { Type?: string; Name?: string; Destination?: string }[];
};

export async function inspectContainer(id: string): Promise<PgContainer> {
  const text = await dockerOk(['container', 'inspect', id], `inspect container ${id}`, { timeoutMs: queryMs() });
  const c = (JSON.parse(text) as Inspected[])[0]!;
  return {
    id: c.Id.slice(0, 12),
    name: c.Name.replace(/^\//, ''),
    running: c.State?.Running === true,
    imageId: c.Image,
    image: c.Config?.Image ?? c.Image,
    env: envListToMap(c.Config?.Env ?? []),
    mounts: (c.Mounts ?? []).map((m) => ({ type: m.Type ?? '', name: m.Name, destination: m.Destination ?? '' })),
  };
}

const psqlArgs = (creds: Credentials, port: number, db: string) => [
  'psql',
  '-X',
  '-A',
  '-t',
  '-q',
  '-v',
  'ON_ERROR_STOP=1',
  '-h',
  '127.0.0.1',
  '-p',
  String(port),
  '-U',
  creds.user,
  '-d',
  db,
];

/** Run SQL in the server of container `id` (over TCP inside it, as a client of the published port would). */
export async function serverSql(id: string, creds: Credentials, port: number, sql: string, db = creds.database) {
  const r = await docker(['exec', '-e', 'PGPASSWORD', id, ...psqlArgs(creds, port, db), '-c', sql], 'run SQL', {
    env: withPassword(creds),
    timeoutMs: Math.max(queryMs(), 30_000),
  });
  if (r.exitCode !== 0) throw copyFailed(`run SQL in ${id}`, r);
  return r.stdout.trim();
}

/** Wait until the server of container `id` answers a query (after a start or a recreate). */
export async function waitForServer(id: string, creds: Credentials, port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: RunResult | undefined;
  while (Date.now() < until) {
    last = await docker(
      ['exec', '-e', 'PGPASSWORD', id, ...psqlArgs(creds, port, 'postgres'), '-c', 'SELECT 1'],
      'ask Postgres',
      {
        env: withPassword(creds),
        timeoutMs: queryMs(),
      },
    );
    if (last.exitCode === 0) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new KinfraError(
    'external',
    'database-not-ready',
    `The database in ${id} did not accept connections within ${Math.round(timeoutMs / 1000)} s` +
      (last ? ` (${last.stderr.trim().split('\n').pop() ?? ''})` : '') +
      '.',
    'See its logs with: kinfra sandbox logs <db service>',
  );
}

export async function createVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void> {
  const flags = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await dockerOk(['volume', 'create', ...flags, name], `create volume ${name}`, { timeoutMs: 60_000 });
}

/** The volume's labels, or undefined when there is no such volume. */
export async function volumeLabels(name: string): Promise<Record<string, string> | undefined> {
  const r = await docker(['volume', 'inspect', name], `inspect volume ${name}`, { timeoutMs: queryMs() });
  if (r.exitCode !== 0) {
    if (/no such volume/i.test(r.stderr)) return undefined;
    throw engineError(r, `inspect volume ${name}`);
  }
  return ((JSON.parse(r.stdout) as { Labels?: Record<string, string> | null }[])[0]?.Labels ?? {}) as Record<
    string,
    string
  >;
}

/** Volumes carrying label `label` (any value), with their labels. */
export async function volumesLabelled(label: string): Promise<{ name: string; labels: Record<string, string> }[]> {
  const out = await dockerOk(
    ['volume', 'ls', '--filter', `label=${label}`, '--format', '{{json .Name}}'],
    'list volumes',
    {
      timeoutMs: queryMs(),
    },
  );
  const names = out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string);
  if (names.length === 0) return [];
  const text = await dockerOk(['volume', 'inspect', ...names], 'inspect volumes', { timeoutMs: queryMs() });
  return (JSON.parse(text) as { Name: string; Labels?: Record<string, string> | null }[]).map((v) => ({
    name: v.Name,
    labels: v.Labels ?? {},
  }));
}

export async function removeVolume(name: string): Promise<void> {
  const r = await docker(['volume', 'rm', name], `remove volume ${name}`, { timeoutMs: 120_000 });
  if (r.exitCode !== 0 && !/no such volume/i.test(r.stderr)) throw engineError(r, `remove volume ${name}`);
}

/** Label of kinfra's helper containers; with the owner's, so doctor can prove whose a stray one is. */
export const HELPER_LABEL = 'dev.kinfra.helper';
let helperLabels: string[] = ['--label', `${HELPER_LABEL}=db`];

/** The owner label every helper started from now on carries (a use case sets it once it knows the registry's). */
export function labelHelpersFor(owner: string): void {
  helperLabels = ['--label', `${HELPER_LABEL}=db`, '--label', `dev.kinfra.owner=${owner}`];
}

const helper = (image: string, entrypoint: string, mounts: string[], extra: string[] = []) => [
  ...['run', '--rm', '--pull', 'never', ...helperLabels, ...extra],
  ...mounts.flatMap((m) => ['-v', m]),
  ...['--entrypoint', entrypoint, image],
];

/** Bytes in a volume (du in a helper of `image`); null when it cannot be measured. */
export async function volumeBytes(volume: string, image: string): Promise<number | null> {
  const r = await docker(
    helper(image, 'du', [`${volume}:/v:ro`], ['--user', '0', '--network', 'none']).concat(['-sb', '/v']),
    'measure a volume',
    {
      timeoutMs: 120_000,
    },
  );
  const n = Number(r.stdout.trim().split(/\s+/)[0]);
  return r.exitCode === 0 && Number.isFinite(n) ? n : null;
}

/**
 * The folder a copy writes into: emptied (a failed attempt may have left a copy there), owned by the server's user,
 * private (Postgres insists on 0700).
 */
async function prepareDir(image: string, volume: string, mount: string, dir: string, owner: string) {
  const r = await docker(
    helper(image, 'sh', [`${volume}:${mount}`], ['--user', '0', '--network', 'none']).concat([
      '-c',
      'rm -rf "$1" && mkdir -p "$1" && chown "$2" "$1" && chmod 0700 "$1"',
      'sh',
      dir,
      owner,
    ]),
    'prepare a volume',
    { timeoutMs: 120_000 },
  );
  if (r.exitCode !== 0) throw copyFailed(`prepare volume ${volume}`, r);
}

export interface BaseBackup {
  /** The running source server's container. */
  source: string;
  port: number;
  creds: Credentials;
  image: string;
  volume: string;
  mount: string;
  /** The data folder inside the mount (the source's data_directory, mapped). */
  dir: string;
  /** uid:gid of the server's files. */
  owner: string;
}

/**
 * A physical copy of the whole running server (every database in it) into `volume`: pg_basebackup in a helper that
 * shares the source's network namespace, so it connects to 127.0.0.1 there as the source's own clients do. The
 * source keeps serving; `-c fast` asks for an immediate checkpoint rather than waiting for the next one.
 */
export async function baseBackup(b: BaseBackup): Promise<RunResult> {
  await prepareDir(b.image, b.volume, b.mount, b.dir, b.owner);
  return docker(
    helper(
      b.image,
      'pg_basebackup',
      [`${b.volume}:${b.mount}`],
      ['--user', b.owner, '--network', `container:${b.source}`, '-e', 'PGPASSWORD'],
    ).concat([
      '-h',
      '127.0.0.1',
      '-p',
      String(b.port),
      '-U',
      b.creds.user,
      '-w',
      '-D',
      b.dir,
      '-X',
      'stream',
      '-c',
      'fast',
      // The copy is switched to only once it is whole, and a sandbox is no production server: the fsync of every
      // file pg_basebackup does by default only makes the copy wait for the disk.
      '--no-sync',
    ]),
    'copy the database',
    { env: withPassword(b.creds) },
  );
}

/** A file copy of one volume into another (the source's server must not be running on it). */
export async function copyVolume(image: string, from: string, to: string): Promise<void> {
  const r = await docker(
    helper(image, 'cp', [`${from}:/from:ro`, `${to}:/to`], ['--user', '0', '--network', 'none']).concat([
      '-a',
      '/from/.',
      '/to/',
    ]),
    'copy a volume',
  );
  if (r.exitCode !== 0) throw copyFailed(`copy volume ${from}`, r);
}

/** The major version of the Postgres an image runs (15), or undefined when it has no `postgres` to ask. */
export async function imageMajor(image: string): Promise<number | undefined> {
  const r = await docker(
    helper(image, 'postgres', [], ['--network', 'none']).concat(['-V']),
    'ask the image its version',
    {
      timeoutMs: 60_000,
    },
  );
  const m = /(\d+)(?:\.\d+)?/.exec(r.stdout);
  return r.exitCode === 0 && m ? Number(m[1]) : undefined;
}

export async function stopContainer(id: string): Promise<void> {
  await dockerOk(['stop', '-t', '60', id], `stop container ${id}`, { timeoutMs: 120_000 });
}

export async function removeContainer(id: string): Promise<void> {
  const r = await docker(['rm', '-f', id], `remove container ${id}`, { timeoutMs: 120_000 });
  if (r.exitCode !== 0 && !/no such container/i.test(r.stderr)) throw engineError(r, `remove container ${id}`);
}

export interface TemporaryServer {
  image: string;
  volume: string;
  mount: string;
  /** The target service's environment (POSTGRES_USER, POSTGRES_PASSWORD, PGDATA, ...): how the image initialises. */
  env: Readonly<Record<string, string>>;
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** Start the target's image on `volume` as a server of its own (no published port): a logical copy restores into it. */
export async function startTemporaryServer(t: TemporaryServer): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...t.env };
  const flags = Object.keys(t.env).flatMap((k) => ['-e', k]);
  const labels = Object.entries(t.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const out = await dockerOk(
    ['run', '-d', '--pull', 'never', '--name', t.name, ...labels, ...flags, '-v', `${t.volume}:${t.mount}`, t.image],
    'start a temporary database server',
    { env, timeoutMs: 120_000 },
  );
  return out.trim().slice(0, 12);
}

/**
 * A logical copy of every database of the source server into the target one: pg_dumpall in the source's container
 * piped into psql in the target's (the source's own tools read it; plain SQL restores into any newer major version).
 * A role or database the target already has ("already exists") is expected; any other error fails the copy.
 */
export async function dumpAllInto(
  source: { id: string; port: number; creds: Credentials },
  target: { id: string; port: number; creds: Credentials },
): Promise<void> {
  const login = (c: { port: number; creds: Credentials }) => [
    '-h',
    '127.0.0.1',
    '-p',
    String(c.port),
    '-U',
    c.creds.user,
  ];
  const r = await runPipe(
    {
      file: 'docker',
      args: ['exec', '-e', 'PGPASSWORD', source.id, 'pg_dumpall', ...login(source), '-w'],
      env: withPassword(source.creds),
    },
    {
      file: 'docker',
      args: ['exec', '-i', '-e', 'PGPASSWORD', target.id, 'psql', '-X', '-q', ...login(target), '-d', 'postgres', '-w'],
      env: withPassword(target.creds),
    },
  );
  if (r.from.exitCode !== 0) throw copyFailed('dump the source database', r.from);
  const errors = r.to.stderr.split('\n').filter((l) => /ERROR:/.test(l) && !/already exists/.test(l));
  if (r.to.exitCode !== 0 || errors.length > 0)
    throw copyFailed('restore into the new database', { ...r.to, stderr: errors.join('\n') || r.to.stderr });
}

/** uid:gid of a file inside a running container (the server's data folder: who its copies must belong to). */
export async function fileOwner(id: string, path: string): Promise<string> {
  const out = await dockerOk(['exec', id, 'stat', '-c', '%u:%g', path], 'read the data folder owner', {
    timeoutMs: queryMs(),
  });
  return out.trim();
}

/** kinfra's helper containers of `owner` that mount one of `volumes` (a killed copy's, still running or not). */
export async function helpersMounting(owner: string, volumes: ReadonlySet<string>): Promise<string[]> {
  const out = await dockerOk(
    [
      'ps',
      '-a',
      '--no-trunc',
      '--filter',
      `label=${HELPER_LABEL}`,
      '--filter',
      `label=dev.kinfra.owner=${owner}`,
    ].concat(['--format', '{{.ID}} {{.Mounts}}']),
    'list helper containers',
    { timeoutMs: queryMs() },
  );
  return out
    .split('\n')
    .filter(Boolean)
    .filter((l) =>
      l
        .split(' ')
        .slice(1)
        .join(' ')
        .split(',')
        .some((m) => volumes.has(m.trim())),
    )
    .map((l) => l.split(' ')[0]!);
}
