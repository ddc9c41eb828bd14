// `kinfra sandbox db ...`: a sandbox's database cloned from another's, snapshotted, restored and reset. Every change
// of the live data follows one shape (replaceLive): fill a NEW volume while everything keeps running, stop the
// target's database container, switch the registry's record to the new volume in one locked write (the old volume
// becoming an automatic snapshot), then start the container again. Killed before the switch, the target is as it
// was and the new volume a leftover (doctor removes it); after it, the target has the new data. See docs/databases.md.
import { randomBytes } from 'node:crypto';
import { listContainers } from '../adapters/engine.js';
import { composeStream } from '../adapters/compose.js';
import { processRuns } from '../adapters/processes.js';
import {
  baseBackup,
  copyFailed,
  copyVolume,
  createVolume,
  dumpAllInto,
  imageMajor,
  removeContainer,
  removeVolume,
  startTemporaryServer,
  stopContainer,
  volumeBytes,
  volumeLabels,
  waitForServer,
} from '../adapters/postgres.js';
import {
  autoSnapshotName,
  copyVolumeName,
  DB_COPY_LABEL,
  defaultSnapshotName,
  ensureRecord,
  liveVolume,
  recordOf,
  snapshotNameProblem,
  volumeNamesOf,
  type DatabaseRecord,
  type PendingOperation,
} from '../core/database/record.js';
import { credentialsOf, environmentOf } from '../core/database/service.js';
import { conflictError, KinfraError, notFoundError, usageError } from '../core/errors.js';
import { OWNER_LABEL, SANDBOX_LABEL, stampLabels } from '../core/ownership.js';
import type { AppContext } from './context.js';
import type { Registry } from '../core/registry/model.js';
import {
  dbTarget,
  findSource,
  retireContainer,
  serverOf,
  targetContainer,
  type DbTarget,
  type Server,
} from './database-live.js';
import { writeSandboxLayer } from './layer.js';
import type { Session } from './session.js';

export type CopyMethod = 'physical' | 'logical';

export interface DbChange {
  instanceId: string;
  action: 'clone' | 'restore' | 'reset' | 'warm';
  from: string;
  /** How the new data was made: pg_basebackup, pg_dumpall | psql, file copy, empty volume. */
  method: string;
  /** Why the fallback ran, when it did. */
  fallbackReason: string | null;
  /** What the copy covers (a physical copy takes the whole server). */
  scope: string;
  volume: string;
  /** The automatic snapshot of the data it replaced (null when there was none). */
  autoSnapshot: string | null;
  /** The target's database was running and was started again on the new data. */
  restarted: boolean;
  /** Sessions on the target closed by stopping its server, and for how long it did not answer. */
  targetDowntimeMs: number;
  seconds: number;
  notes: string[];
}

const nonce = () => randomBytes(3).toString('hex');

function labelsFor(t: DbTarget, purpose: string): Record<string, string> {
  return {
    ...stampLabels(t.stamp),
    // Compose's own labels: destroy and release find the copies with the project's volumes, and Compose takes the
    // live one for its own (no "created outside Compose" warning).
    'com.docker.compose.project': t.project,
    'com.docker.compose.volume': t.svc.volumeKey,
    [DB_COPY_LABEL]: purpose,
  };
}

const alive = (pid: number) => processRuns(pid);

/** Under the lock: mark an operation as under way (refused while another one runs on the same database). */
async function begin(ctx: AppContext, t: DbTarget, pending: Omit<PendingOperation, 'pid' | 'started_at'>) {
  return ctx.registry.update((r) => {
    const rec = ensureRecord(r, t.project, t.svc.service, t.svc.volumeKey);
    if (rec.pending && rec.pending.pid !== process.pid && alive(rec.pending.pid)) {
      throw conflictError(
        'database-busy',
        `The database of ${t.label} is busy: a ${rec.pending.op} (pid ${rec.pending.pid}) is under way.`,
        'Wait for it to finish and run the command again (one killed midway is cleaned up by kinfra sandbox doctor ' +
          '--repair).',
      );
    }
    rec.pending = { ...pending, pid: process.pid, started_at: new Date().toISOString() };
    return structuredClone(rec);
  });
}

/** Undo `begin` after a failure: the volumes it made go, the mark with them. */
async function abandon(ctx: AppContext, t: DbTarget, volumes: readonly string[]): Promise<void> {
  for (const v of volumes) await removeVolume(v).catch(() => undefined);
  await ctx.registry
    .update((r) => {
      const rec = recordOf(r, t.project);
      if (rec?.pending?.pid === process.pid) delete rec.pending;
    })
    .catch(() => undefined);
}

/** A volume kinfra may delete for this database: it carries this registry's owner and the project's labels. */
async function deleteOwnedVolume(t: DbTarget, name: string): Promise<boolean> {
  const labels = await volumeLabels(name);
  if (!labels) return false;
  if (labels[OWNER_LABEL] !== t.stamp.owner || labels[SANDBOX_LABEL] !== t.project) return false;
  await removeVolume(name);
  return true;
}

/** Whether replacing the live data may go on: asked when there is data, refused without a person and --force. */
async function mayReplace(t: DbTarget, live: string, force: boolean, session: Session, what: string) {
  if (force || (await volumeLabels(live)) === undefined) return;
  const question =
    `This replaces the database of ${t.label} (${what}); the current data is kept as an automatic snapshot. ` +
    'Continue?';
  if (session.interactive && (await session.confirm(question))) return;
  if (session.interactive)
    throw new KinfraError(
      'interrupted',
      'cancelled',
      'Cancelled; nothing was changed.',
      'Run it again to be asked again.',
    );
  throw usageError(
    'confirmation-required',
    `${t.label} already has a database, and there is no terminal to ask before replacing it.`,
    'Pass --force (the current data is kept as an automatic snapshot: kinfra sandbox db snapshots lists it).',
  );
}

interface Fill {
  method: string;
  fallbackReason: string | null;
  scope: string;
  notes: string[];
}

interface Replace {
  op: DbChange['action'];
  /** Start the database on the new data even when it was not running (a seeded pool slot stays warm). */
  start?: boolean;
  from: string;
  force: boolean;
  /** Also keep a copy as the new reset point (clone). */
  origin: boolean;
  /** Fill the new live volume (and the origin one, when asked) while the target keeps running. */
  fill(live: string, origin: string | undefined, rec: DatabaseRecord): Promise<Fill>;
  image: string;
  /** Checked before the target stops and again under the lock of the switch: throws to give up (a claimed slot). */
  stillWanted?(registry: Registry): void;
}

async function replaceLive(ctx: AppContext, t: DbTarget, session: Session, req: Replace): Promise<DbChange> {
  const started = Date.now();
  const registry = await ctx.registry.snapshot();
  const before = recordOf(registry, t.project);
  const oldLive = liveVolume(t.project, t.svc.volumeKey, before);
  await mayReplace(t, oldLive, req.force, session, `${req.op} from ${req.from}`);
  const now = new Date();
  const live = copyVolumeName(t.project, t.svc.volumeKey, req.op, now, nonce());
  const origin = req.origin ? copyVolumeName(t.project, t.svc.volumeKey, 'origin', now, nonce()) : undefined;
  const made = [live, ...(origin ? [origin] : [])];
  const rec = await begin(ctx, t, { op: req.op, volumes: made, from: req.from });
  let fill: Fill;
  let oldBytes: number | null = null;
  let hadOld = false;
  try {
    for (const v of made) await createVolume(v, labelsFor(t, v === origin ? 'origin' : req.op));
    session.progress({ kind: 'step', message: `Copying into ${live} ...` });
    hadOld = (await volumeLabels(oldLive)) !== undefined;
    [fill, oldBytes] = await Promise.all([
      req.fill(live, origin, rec),
      hadOld ? volumeBytes(oldLive, req.image) : Promise.resolve(null),
    ]);
  } catch (e) {
    await abandon(ctx, t, made);
    throw e;
  }
  // The switch: the target's server stops (its sessions end), the record names the new volume, the server starts.
  try {
    req.stillWanted?.(await ctx.registry.snapshot());
  } catch (e) {
    await abandon(ctx, t, made);
    throw e;
  }
  const stopAt = Date.now();
  const container = targetContainer(await listContainers(), t);
  const wasRunning = container?.state === 'running';
  if (container) {
    session.progress({
      kind: 'step',
      message: `Stopping ${t.svc.service} of ${t.label} to switch its data ...`,
    });
    await retireContainer(container);
  }
  const switched = await ctx.registry.update((r) => {
    try {
      req.stillWanted?.(r);
    } catch (e) {
      return e as Error;
    }
    const cur = ensureRecord(r, t.project, t.svc.service, t.svc.volumeKey);
    const at = new Date().toISOString();
    let auto: string | null = null;
    if (hadOld) {
      auto = autoSnapshotName(req.op, new Date(), cur.snapshots);
      cur.snapshots[auto] = {
        volume: oldLive,
        created_at: at,
        bytes: oldBytes,
        method: 'previous data',
        auto: `before ${req.op} from ${req.from}`,
      };
    }
    const replaced = origin && cur.origin ? cur.origin.volume : undefined;
    cur.volume = live;
    cur.image = req.image;
    cur.last = { from: req.from, at, method: fill.method };
    if (origin) cur.origin = { volume: origin, from: req.from, at, method: fill.method };
    if (cur.pending?.pid === process.pid) delete cur.pending;
    // A seeded slot's data is kept by the next claim (and only that one: the claim clears this).
    if (req.op === 'warm') cur.warm_unclaimed = true;
    else delete cur.warm_unclaimed;
    return { autoSnapshot: auto, dropOrigin: replaced };
  });
  if (switched instanceof Error) {
    await abandon(ctx, t, made);
    throw switched;
  }
  const { autoSnapshot, dropOrigin } = switched;
  if (dropOrigin) await deleteOwnedVolume(t, dropOrigin).catch(() => undefined);
  if (wasRunning || req.start) await startDatabase(ctx, t, live);
  return {
    instanceId: t.label,
    action: req.op,
    from: req.from,
    method: fill.method,
    fallbackReason: fill.fallbackReason,
    scope: fill.scope,
    volume: live,
    autoSnapshot,
    restarted: wasRunning || Boolean(req.start),
    targetDowntimeMs: container ? Date.now() - stopAt : 0,
    seconds: (Date.now() - started) / 1000,
    notes: fill.notes,
  };
}

/** Start the target's database service on the live volume (the layer names it) and wait until it answers. */
async function startDatabase(ctx: AppContext, t: DbTarget, live: string): Promise<void> {
  const registry = await ctx.registry.snapshot();
  const names = volumeNamesOf(registry, t.project);
  names.set(t.svc.volumeKey, live);
  const project = await writeSandboxLayer(ctx.paths, t.compose, t.stamp, t.remap, t.stack, t.config.merge, names);
  const code = await composeStream(project, ['up', '-d', '--no-deps', t.svc.service]);
  if (code !== 0) {
    throw new KinfraError(
      'external',
      'compose-up-failed',
      `The data was switched, but docker compose could not start ${t.svc.service} again (exit ${code}).`,
      'Start it with: kinfra sandbox up',
    );
  }
  const c = targetContainer(await listContainers(), t);
  if (c) {
    const spec = t.config.database;
    const env = environmentOf((t.stack.config.services as Record<string, unknown>)[t.svc.service]);
    await waitForServer(c.id, credentialsOf(env, spec), Number(env.PGPORT) || 5432, 120_000);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// clone

export interface CloneRequest {
  name?: string | undefined;
  from: string;
  force: boolean;
  /** Force a mechanism (`logical` is the fallback's; for tests and for a server without replication rights). */
  method?: CopyMethod | undefined;
}

/** Why a physical copy cannot work here, or undefined when it can. */
async function physicalProblem(src: Server, targetImage: string): Promise<string | undefined> {
  if (targetImage === src.container.image || targetImage === src.container.imageId) return undefined;
  const major = await imageMajor(targetImage);
  if (major === undefined) return `the target's image ${targetImage} has no postgres binary to ask its version`;
  if (major !== src.major)
    return `the source runs Postgres ${src.major} and the target's image ${targetImage} Postgres ${major}`;
  return undefined;
}

/** The server refuses a replication connection: what a logical copy (an ordinary one) gets round. */
const replicationRefused = (text: string) =>
  /no pg_hba\.conf entry for replication|must be (superuser|replication role)|permission denied to start WAL sender|not permitted to log in|number of requested standby connections|max_wal_senders/i.test(
    text,
  );

/** The error lines of a failed pg_basebackup (its last line is only "removing contents of data directory"). */
const errorLines = (r: { stderr: string; stdout: string }) =>
  `${r.stderr}\n${r.stdout}`
    .split('\n')
    .filter((l) => /error|FATAL/i.test(l))
    .join(' ')
    .trim();

/**
 * pg_basebackup into every volume at once (the live copy and the reset point: two streams cost little more than
 * one). A failure that is not a refusal is tried once more, one stream only and the reset point copied from it: a
 * busy machine can end a WAL stream ("background process terminated unexpectedly"). Returns why the server
 * refuses a physical copy, or undefined when it is made.
 */
async function physicalFill(src: Server, t: DbTarget, image: string, volumes: string[]): Promise<string | undefined> {
  const mount = t.svc.mountTarget;
  const dir = src.relDir ? `${mount}/${src.relDir}` : mount;
  const backup = (volume: string) =>
    baseBackup({
      source: src.container.id,
      port: src.port,
      creds: src.creds,
      image,
      volume,
      mount,
      dir,
      owner: src.owner,
    });
  let failed = (await Promise.all(volumes.map(backup))).find((r) => r.exitCode !== 0);
  if (failed && !replicationRefused(errorLines(failed))) {
    const [live, ...rest] = volumes;
    const again = await backup(live!);
    failed = again.exitCode === 0 ? undefined : again;
    if (!failed) for (const v of rest) await copyVolume(image, live!, v);
  }
  if (!failed) return undefined;
  const said = errorLines(failed);
  if (replicationRefused(said)) return said;
  throw copyFailed(`copy the database of ${src.container.name}`, { ...failed, stderr: said || failed.stderr });
}

async function logicalFill(src: Server, t: DbTarget, image: string, live: string, origin: string | undefined) {
  const service = (t.stack.config.services as Record<string, unknown>)[t.svc.service];
  const env = environmentOf(service);
  const creds = credentialsOf(env, t.config.database);
  const name = `kinfra-db-restore-${nonce()}`;
  const id = await startTemporaryServer({
    image,
    volume: live,
    mount: t.svc.mountTarget,
    env,
    name,
    labels: { ...stampLabels(t.stamp), 'dev.kinfra.helper': 'db' },
  });
  try {
    const port = Number(env.PGPORT) || 5432;
    await waitForServer(id, creds, port, 180_000);
    await dumpAllInto({ id: src.container.id, port: src.port, creds: src.creds }, { id, port, creds });
    await stopContainer(id);
  } finally {
    await removeContainer(id).catch(() => undefined);
  }
  if (origin) await copyVolume(image, live, origin);
}

export async function cloneDatabase(ctx: AppContext, req: CloneRequest, session: Session): Promise<DbChange> {
  const registry = await ctx.registry.snapshot();
  return cloneInto(ctx, registry, await dbTarget(ctx, registry, req.name), req, session, { op: 'clone' });
}

/**
 * The copy itself, for a sandbox (clone: with a reset point) or a pool slot (seed: started at once, so a claim
 * finds it ready).
 */
export async function cloneInto(
  ctx: AppContext,
  registry: Registry,
  t: DbTarget,
  req: Omit<CloneRequest, 'name'>,
  session: Session,
  how: { op: 'clone' | 'warm'; stillWanted?: (registry: Registry) => void },
): Promise<DbChange> {
  const source = await findSource(ctx, registry, req.from, {
    svc: t.svc,
    project: t.project,
    owner: t.stamp.owner,
    parentRepo: t.parentRepo,
  });
  const src = await serverOf(source.containerId, t.config.database);
  const image = t.svc.image ?? src.container.image;
  return replaceLive(ctx, t, session, {
    op: how.op,
    from: source.label,
    force: req.force,
    origin: how.op === 'clone',
    start: how.op === 'warm',
    ...(how.stillWanted ? { stillWanted: how.stillWanted } : {}),
    image,
    async fill(live, origin) {
      const notes: string[] = [];
      let reason = req.method === 'logical' ? 'asked for (--method logical)' : await physicalProblem(src, image);
      if (reason === undefined) {
        reason = await physicalFill(src, t, image, [live, ...(origin ? [origin] : [])]);
        if (reason === undefined) {
          return {
            method: 'pg_basebackup',
            fallbackReason: null,
            scope: `the whole server of ${source.label} (every database in it), copied while it kept serving`,
            notes,
          };
        }
        // The physical attempt may have written part of a copy: the logical one starts from empty volumes.
        for (const v of [live, ...(origin ? [origin] : [])]) {
          await removeVolume(v);
          await createVolume(v, labelsFor(t, v === origin ? 'origin' : how.op));
        }
      }
      session.progress({
        kind: 'step',
        message: `Physical copy not possible (${reason}): dumping and restoring instead ...`,
      });
      await logicalFill(src, t, image, live, origin);
      return {
        method: 'pg_dumpall | psql',
        fallbackReason: reason,
        scope: `every database and role of ${source.label}'s server, dumped while it kept serving`,
        notes,
      };
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// snapshots

export interface SnapshotInfo {
  name: string;
  volume: string;
  createdAt: string;
  ageSeconds: number;
  bytes: number | null;
  method: string;
  auto: string | null;
  /** The volume is still on the engine. */
  present: boolean;
}

export interface SnapshotsResult {
  instanceId: string;
  service: string;
  volume: string;
  last: { from: string; at: string; method: string } | null;
  resetPoint: string | null;
  snapshots: SnapshotInfo[];
}

export async function listSnapshots(ctx: AppContext, name?: string): Promise<SnapshotsResult> {
  const registry = await ctx.registry.snapshot();
  const t = await dbTarget(ctx, registry, name);
  const rec = recordOf(registry, t.project);
  const now = Date.now();
  const snapshots = await Promise.all(
    Object.entries(rec?.snapshots ?? {}).map(async ([n, s]) => ({
      name: n,
      volume: s.volume,
      createdAt: s.created_at,
      ageSeconds: Math.max(0, Math.round((now - Date.parse(s.created_at)) / 1000)),
      bytes: s.bytes ?? null,
      method: s.method,
      auto: s.auto ?? null,
      present: (await volumeLabels(s.volume)) !== undefined,
    })),
  );
  snapshots.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return {
    instanceId: t.label,
    service: t.svc.service,
    volume: liveVolume(t.project, t.svc.volumeKey, rec),
    last: rec?.last ?? null,
    resetPoint: rec?.origin ? `after the clone from ${rec.origin.from} at ${rec.origin.at}` : null,
    snapshots,
  };
}

export interface SnapshotResult {
  instanceId: string;
  name: string;
  volume: string;
  bytes: number | null;
  method: string;
  seconds: number;
}

export async function snapshotDatabase(
  ctx: AppContext,
  req: { name?: string | undefined; snapshot?: string | undefined },
  session: Session,
): Promise<SnapshotResult> {
  const started = Date.now();
  const registry = await ctx.registry.snapshot();
  const t = await dbTarget(ctx, registry, req.name);
  const snap = req.snapshot ?? defaultSnapshotName(new Date());
  const problem = snapshotNameProblem(snap);
  if (problem)
    throw usageError(
      'invalid-snapshot-name',
      `${JSON.stringify(snap)} is not a snapshot name: ${problem}.`,
      'For example: kinfra sandbox db snapshot before-migration',
    );
  if (recordOf(registry, t.project)?.snapshots[snap])
    throw conflictError(
      'snapshot-exists',
      `${t.label} already has a snapshot called ${snap}.`,
      `Choose another name, or drop it first: kinfra sandbox db drop-snapshot ${snap}`,
    );
  const rec = recordOf(registry, t.project);
  const live = liveVolume(t.project, t.svc.volumeKey, rec);
  const container = targetContainer(await listContainers(), t);
  if (!container && (await volumeLabels(live)) === undefined)
    throw notFoundError(
      'no-database-yet',
      `${t.label} has no database yet (volume ${live} does not exist).`,
      'Start it first: kinfra sandbox up',
    );
  const volume = copyVolumeName(t.project, t.svc.volumeKey, 'snap', new Date(), nonce());
  await begin(ctx, t, { op: 'snapshot', volumes: [volume] });
  let method: string;
  let image = rec?.image ?? t.svc.image ?? '';
  try {
    await createVolume(volume, labelsFor(t, 'snapshot'));
    session.progress({ kind: 'step', message: `Copying ${live} into ${volume} ...` });
    if (container?.state === 'running') {
      const own = await serverOf(container.id, t.config.database);
      image ||= own.container.image;
      const dir = own.relDir ? `${t.svc.mountTarget}/${own.relDir}` : t.svc.mountTarget;
      const r = await baseBackup({
        source: own.container.id,
        port: own.port,
        creds: own.creds,
        image,
        volume,
        mount: t.svc.mountTarget,
        dir,
        owner: own.owner,
      });
      if (r.exitCode !== 0) throw copyFailed(`snapshot the database of ${t.label}`, r);
      method = 'pg_basebackup';
    } else {
      // Stopped (or never started by this kinfra): its files are still, so a file copy is a consistent one.
      if (container) await removeContainer(container.id).catch(() => undefined);
      await copyVolume(image, live, volume);
      method = 'file copy';
    }
  } catch (e) {
    await abandon(ctx, t, [volume]);
    throw e;
  }
  const bytes = await volumeBytes(volume, image);
  await ctx.registry.update((r) => {
    const cur = ensureRecord(r, t.project, t.svc.service, t.svc.volumeKey);
    cur.snapshots[snap] = { volume, created_at: new Date().toISOString(), bytes, method };
    cur.image ??= image;
    if (cur.pending?.pid === process.pid) delete cur.pending;
  });
  return { instanceId: t.label, name: snap, volume, bytes, method, seconds: (Date.now() - started) / 1000 };
}

export async function restoreDatabase(
  ctx: AppContext,
  req: { name?: string | undefined; snapshot: string; force: boolean },
  session: Session,
): Promise<DbChange> {
  const registry = await ctx.registry.snapshot();
  const t = await dbTarget(ctx, registry, req.name);
  const rec = recordOf(registry, t.project);
  const snap = rec?.snapshots[req.snapshot];
  if (!snap || (await volumeLabels(snap.volume)) === undefined) {
    throw notFoundError(
      'unknown-snapshot',
      `${t.label} has no snapshot called ${req.snapshot}${snap ? ' (its volume is gone)' : ''}.`,
      'See its snapshots with: kinfra sandbox db snapshots',
    );
  }
  const image = rec!.image ?? t.svc.image ?? '';
  return replaceLive(ctx, t, session, {
    op: 'restore',
    from: `snapshot ${req.snapshot}`,
    force: req.force,
    origin: false,
    image,
    async fill(live) {
      await copyVolume(image, snap.volume, live);
      return {
        method: 'file copy',
        fallbackReason: null,
        scope: 'the whole server, as the snapshot took it',
        notes: [],
      };
    },
  });
}

export async function resetDatabase(
  ctx: AppContext,
  req: { name?: string | undefined; force: boolean },
  session: Session,
): Promise<DbChange> {
  const registry = await ctx.registry.snapshot();
  const t = await dbTarget(ctx, registry, req.name);
  const rec = recordOf(registry, t.project);
  const origin = rec?.origin;
  const image = rec?.image ?? t.svc.image ?? '';
  if (origin && (await volumeLabels(origin.volume)) === undefined)
    throw notFoundError(
      'reset-point-gone',
      `The reset point of ${t.label} (volume ${origin.volume}) is gone.`,
      'Clone again: kinfra sandbox db clone --from <sandbox|main>',
    );
  return replaceLive(ctx, t, session, {
    op: 'reset',
    from: origin ? `the clone from ${origin.from} at ${origin.at}` : 'an empty database',
    force: req.force,
    origin: false,
    image,
    async fill(live) {
      if (!origin)
        return {
          method: 'empty volume',
          fallbackReason: null,
          scope: 'initialised again by the image on its next start',
          notes: [],
        };
      await copyVolume(image, origin.volume, live);
      return {
        method: 'file copy',
        fallbackReason: null,
        scope: 'the whole server, as the last clone left it',
        notes: [],
      };
    },
  });
}

export async function dropSnapshot(ctx: AppContext, req: { name?: string | undefined; snapshot: string }) {
  const registry = await ctx.registry.snapshot();
  const t = await dbTarget(ctx, registry, req.name);
  const dropped = await ctx.registry.update((r) => {
    const rec = recordOf(r, t.project);
    const s = rec?.snapshots[req.snapshot];
    if (!rec || !s)
      throw notFoundError(
        'unknown-snapshot',
        `${t.label} has no snapshot called ${req.snapshot}.`,
        'See its snapshots with: kinfra sandbox db snapshots',
      );
    delete rec.snapshots[req.snapshot];
    return s;
  });
  const removed = await deleteOwnedVolume(t, dropped.volume);
  return { instanceId: t.label, name: req.snapshot, volume: dropped.volume, removed };
}
