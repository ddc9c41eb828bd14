// What the registry knows of a compose project's database (`registry.databases[<project>]`): which engine volume is
// its live data, its snapshots, its reset point, and an operation under way. The registry, not the engine, decides
// which volume is live: switching a database is one locked registry write, so a kill leaves it old or new, never
// half. Keyed by compose project, so a pool slot's database stays the slot's whichever worktree claims it. Pure.
import { registryError } from '../errors.js';
import type { Registry } from '../registry/model.js';

export interface DatabaseSnapshot {
  volume: string;
  created_at: string;
  /** Size of the volume when it was taken (null when it could not be measured). */
  bytes: number | null;
  /** How it was taken: `pg_basebackup` (from the running server), `file copy` (a stopped one), `previous data`. */
  method: string;
  /** Set on the automatic ones: why it was taken (`before clone from main`). */
  auto?: string;
}

export interface DatabaseCopy {
  /** Where the data came from: `main`, a sandbox's id, or `snapshot <name>`. */
  from: string;
  at: string;
  method: string;
}

export interface PendingOperation {
  op: 'clone' | 'snapshot' | 'restore' | 'reset' | 'warm';
  pid: number;
  started_at: string;
  /** Volumes it creates: leftovers when it is killed (doctor removes them). */
  volumes: string[];
  from?: string;
}

export interface DatabaseRecord {
  service: string;
  volume_key: string;
  /** The engine volume that holds the live data; absent: Compose's own (`<project>_<key>`). */
  volume?: string;
  /** The image that ran it, for kinfra's helper containers. */
  image?: string;
  /** Reset point: a copy of the data right after the last clone (absent: reset starts from an empty volume). */
  origin?: DatabaseCopy & { volume: string };
  /** The last clone, restore or reset: what the live data is a copy of. */
  last?: DatabaseCopy;
  snapshots: Record<string, DatabaseSnapshot>;
  pending?: PendingOperation;
  /** A pool slot's database seeded and not yet claimed: the claim keeps it instead of resetting it. */
  warm_unclaimed?: boolean;
  [extra: string]: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every record, checked: a malformed one is an unreadable registry for `db`, never an empty record. */
export function databaseRecords(registry: Registry): Record<string, DatabaseRecord> {
  const all = registry.databases;
  if (all === undefined) return {};
  if (!isObject(all)) throw malformed('databases: expected an object');
  for (const [project, r] of Object.entries(all)) {
    const where = `databases.${project}`;
    if (!isObject(r) || typeof r.service !== 'string' || typeof r.volume_key !== 'string' || !isObject(r.snapshots))
      throw malformed(`${where}: expected { service, volume_key, snapshots }`);
    if (r.volume !== undefined && typeof r.volume !== 'string') throw malformed(`${where}.volume: expected a name`);
    if (r.origin !== undefined && !(isObject(r.origin) && typeof r.origin.volume === 'string'))
      throw malformed(`${where}.origin: expected { volume, from, at }`);
    const p = r.pending;
    if (p !== undefined && !(isObject(p) && Number.isInteger(p.pid) && Array.isArray(p.volumes)))
      throw malformed(`${where}.pending: expected { op, pid, volumes }`);
    if (isObject(p) && (p.volumes as unknown[]).some((v) => typeof v !== 'string'))
      throw malformed(`${where}.pending.volumes: expected volume names`);
    for (const [name, s] of Object.entries(r.snapshots))
      if (!isObject(s) || typeof s.volume !== 'string')
        throw malformed(`${where}.snapshots.${name}: expected a volume`);
  }
  return all as Record<string, DatabaseRecord>;
}

function malformed(reason: string) {
  return registryError(
    'registry-unreadable',
    `The registry's database records cannot be read (${reason}).`,
    'Fix or remove that field of ~/.ktrdr/sandboxes/registry.json (kinfra sandbox doctor shows the registry).',
  );
}

export function recordOf(registry: Registry, project: string): DatabaseRecord | undefined {
  return databaseRecords(registry)[project];
}

/** The record of `project`, made when absent (under the registry lock). */
export function ensureRecord(registry: Registry, project: string, service: string, key: string): DatabaseRecord {
  const all = databaseRecords(registry);
  registry.databases = all;
  return (all[project] ??= { service, volume_key: key, snapshots: {} });
}

export function dropRecord(registry: Registry, project: string): DatabaseRecord | undefined {
  const all = databaseRecords(registry);
  const r = all[project];
  delete all[project];
  if (Object.keys(all).length === 0) delete registry.databases;
  return r;
}

/** The live volume: the record's, else the one Compose makes for the project. */
export const liveVolume = (project: string, key: string, r: DatabaseRecord | undefined): string =>
  r?.volume ?? `${project}_${key}`;

/** Every volume the record keeps (live, reset point, snapshots). */
export function keptVolumes(project: string, r: DatabaseRecord): string[] {
  return [
    liveVolume(project, r.volume_key, r),
    ...(r.origin ? [r.origin.volume] : []),
    ...Object.values(r.snapshots).map((s) => s.volume),
  ];
}

/** Every volume any record keeps or a pending operation makes: nothing doctor may take for a leftover. */
export function referencedVolumes(registry: Registry, alive: (pid: number) => boolean): Set<string> {
  const out = new Set<string>();
  for (const [project, r] of Object.entries(databaseRecords(registry))) {
    for (const v of keptVolumes(project, r)) out.add(v);
    if (r.pending && alive(r.pending.pid)) for (const v of r.pending.volumes) out.add(v);
  }
  return out;
}

/** Label on every volume kinfra makes for a database copy: what it was made for. */
export const DB_COPY_LABEL = 'dev.kinfra.db-copy';

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').toLowerCase();

/** A new volume's name: the project's, the volume key, what it is for, when, and a nonce (two at once never clash). */
export function copyVolumeName(project: string, key: string, purpose: string, now: Date, nonce: string): string {
  return `${project}_${key}-${purpose}-${stamp(now)}-${nonce}`;
}

/** An automatic snapshot's name (`auto-before-clone-20261201t213000`), unique among `taken`. */
export function autoSnapshotName(op: string, now: Date, taken: Readonly<Record<string, unknown>>): string {
  const base = `auto-before-${op}-${stamp(now)}`;
  let name = base;
  for (let k = 2; name in taken; k++) name = `${base}-${k}`;
  return name;
}

export const SNAPSHOT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function snapshotNameProblem(name: string): string | undefined {
  if (!SNAPSHOT_NAME.test(name))
    return 'lowercase letters, digits, dots, dashes and underscores, starting with a letter or digit (at most 63)';
  return undefined;
}

/** A default snapshot name from the time (`snap-20261201-213000`). */
export const defaultSnapshotName = (now: Date): string => `snap-${stamp(now).replace('t', '-')}`;

/** What `slots` says of a slot's database. */
export function warmState(r: DatabaseRecord | undefined, alive: (pid: number) => boolean): string {
  if (r?.pending?.op === 'warm' && alive(r.pending.pid)) return `warming from ${r.pending.from ?? '?'}`;
  if (r?.last) return `warm: a copy of ${r.last.from} from ${r.last.at}`;
  return 'empty';
}

/** The volume names the generated layer must give: the live database volume the registry names (if any). */
export function volumeNamesOf(registry: Registry, project: string): Map<string, string> {
  const r = databaseRecords(registry)[project];
  return r?.volume ? new Map([[r.volume_key, r.volume]]) : new Map();
}
