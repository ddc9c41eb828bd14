// The instance registry (version 2, seed 004): one file per machine listing every sandbox and pool slot. Entries keep
// unknown fields, so a newer kinfra or the Python tool can add fields without this version dropping them.
//
// Validated by hand rather than with zod: this file is read by every command, and loading zod alone cost more than the
// rest of `kinfra sandbox list` (docs/dependencies.md). kinfra.yaml, read less often, uses zod.

export const REGISTRY_VERSION = 2;

export interface InstanceEntry {
  slot: number;
  path: string;
  created_at: string;
  is_worktree: boolean;
  parent_repo: string;
  /** Branch checked out when kinfra created or initialised the sandbox. */
  branch?: string;
  /** True only when kinfra made the worktree folder itself: only then may destroy remove it. */
  created_worktree?: boolean;
  /** The published ports this instance holds, by port name (api, db, worker_1, ...). */
  ports?: Record<string, number>;
  /** The pool slot this worktree claimed, when it runs on the pool (seed 004). */
  pool_slot?: number;
  /** Ports kinfra derived from the compose files, by port name: their variable, slot-0 port and step. */
  derived_ports?: Record<string, unknown>;
  /** Compose project it runs as, when not its own id (a pool slot's project). */
  compose_project?: string;
  /** The port marked `http: true` in the layout: what `<instance-id>.localhost` reaches (default: api). */
  main_http?: string;
  /**
   * Set while create or destroy is under way; a value left here means that
   * command was killed midway (doctor reports it, doctor --repair finishes it).
   */
  state?: InstanceState | string;
  [extra: string]: unknown;
}

/** `removing-worktree`: destroy passed its last-moment check under the lock and started `git worktree remove`. */
export type InstanceState = 'creating' | 'destroying' | 'removing-worktree';

export interface SlotEntry {
  slot_id: number;
  profile: string;
  workers: Record<string, number>;
  ports: Record<string, number>;
  infrastructure_path: string;
  claimed_by: string | null;
  claimed_at: string | null;
  compose_project?: string;
  [extra: string]: unknown;
}

export interface Registry {
  version: typeof REGISTRY_VERSION;
  instances: Record<string, InstanceEntry>;
  slots: Record<string, SlotEntry>;
  [extra: string]: unknown;
}

export function emptyRegistry(): Registry {
  return { version: REGISTRY_VERSION, instances: {}, slots: {} };
}

export type ParsedRegistry = { ok: true; registry: Registry } | { ok: false; reason: string };

type Check = (v: unknown) => boolean;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Check = (v) => typeof v === 'string';
const nonEmpty: Check = (v) => typeof v === 'string' && v.length > 0;
const bool: Check = (v) => typeof v === 'boolean';
const int =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const orNull =
  (c: Check): Check =>
  (v) =>
    v === null || c(v);

/**
 * The widest ranges any layout can use (kinfra.yaml allows slots up to 99). A
 * number outside them was not written by kinfra: a hand edit or another tool.
 * Used as it is, slot 100 or port 70000 would make every port of the plan
 * wrong, so such a file is reported as unreadable, naming the field.
 */
export const MAX_REGISTRY_SLOT = 99;
export const MAX_PORT_NUMBER = 65535;
const slotNumber = (min: number) => int(min, MAX_REGISTRY_SLOT);
const portNumber = int(1, MAX_PORT_NUMBER);

/** A field's rule; `each` checks every value of a map field, so the report names the key. */
type Rule = { check: Check; expected: string; optional?: boolean; each?: { check: Check; expected: string } };
type Shape = Record<string, Rule>;

const derivedPort: Check = (v) =>
  isObject(v) && nonEmpty(v.env) && portNumber(v.base) && int(1, MAX_PORT_NUMBER)(v.step) && str(v.service);

const portMap: Pick<Rule, 'check' | 'each'> = {
  check: isObject,
  each: { check: portNumber, expected: `a port number (1-${MAX_PORT_NUMBER})` },
};

const INSTANCE: Shape = {
  slot: { check: slotNumber(0), expected: `a slot number (0-${MAX_REGISTRY_SLOT})` },
  path: { check: nonEmpty, expected: 'a folder path' },
  created_at: { check: str, expected: 'a timestamp string' },
  is_worktree: { check: bool, expected: 'true or false' },
  parent_repo: { check: str, expected: 'a folder path' },
  branch: { check: str, expected: 'a branch name', optional: true },
  created_worktree: { check: bool, expected: 'true or false', optional: true },
  ports: { ...portMap, expected: 'a map of port numbers', optional: true },
  pool_slot: { check: slotNumber(1), expected: `a slot number (1-${MAX_REGISTRY_SLOT})`, optional: true },
  compose_project: { check: str, expected: 'a compose project name', optional: true },
  main_http: { check: str, expected: 'a port name', optional: true },
  derived_ports: {
    check: isObject,
    expected: 'a map of derived ports',
    optional: true,
    each: { check: derivedPort, expected: 'a derived port ({ env, base, step, service })' },
  },
  // Any string: a newer kinfra may add states, and an unknown one must not make the registry unreadable.
  state: { check: str, expected: 'a state name', optional: true },
};

const SLOT: Shape = {
  slot_id: { check: slotNumber(1), expected: `a slot number (1-${MAX_REGISTRY_SLOT})` },
  profile: { check: str, expected: 'a profile name' },
  workers: { check: isObject, expected: 'a map of worker counts', each: { check: int(0), expected: 'a worker count' } },
  ports: { ...portMap, expected: 'a map of port numbers' },
  infrastructure_path: { check: str, expected: 'a folder path' },
  claimed_by: { check: orNull(str), expected: 'an instance id or null' },
  claimed_at: { check: orNull(str), expected: 'a timestamp or null' },
};

/** The first field of `value` that does not fit `shape`, as `where.field: expected X`. */
function misfit(value: unknown, shape: Shape, where: string): string | undefined {
  if (!isObject(value)) return `${where}: expected an object`;
  for (const [key, rule] of Object.entries(shape)) {
    if (!(key in value) || value[key] === undefined) {
      if (!rule.optional) return `${where}.${key}: missing (expected ${rule.expected})`;
    } else if (!rule.check(value[key])) {
      return `${where}.${key}: expected ${rule.expected}, got ${JSON.stringify(value[key])}`;
    } else if (rule.each) {
      for (const [k, v] of Object.entries(value[key] as Record<string, unknown>)) {
        if (!rule.each.check(v))
          return `${where}.${key}.${k}: expected ${rule.each.expected}, got ${JSON.stringify(v)}`;
      }
    }
  }
  return undefined;
}

function misfitMap(value: unknown, shape: Shape, where: string): string | undefined {
  if (!isObject(value)) return `${where}: expected an object`;
  for (const [id, entry] of Object.entries(value)) {
    const problem = misfit(entry, shape, `${where}.${id}`);
    if (problem) return problem;
  }
  return undefined;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, reason: `not valid JSON (${(e as Error).message})` };
  }
}

/** Parse registry.json text. Never returns an empty registry for text it cannot read. */
export function parseRegistryText(text: string): ParsedRegistry {
  const json = parseJson(text);
  if (!json.ok) return json;
  const raw = json.value;
  if (!isObject(raw)) return { ok: false, reason: 'top level: expected an object' };
  if (raw.version !== REGISTRY_VERSION) {
    return {
      ok: false,
      reason: `version ${JSON.stringify(raw.version)} is not one this kinfra reads (${REGISTRY_VERSION})`,
    };
  }
  const problem = misfitMap(raw.instances, INSTANCE, 'instances') ?? misfitMap(raw.slots, SLOT, 'slots');
  if (problem) return { ok: false, reason: problem };
  return { ok: true, registry: raw as Registry };
}

/** Why `value` is not a usable instance entry, as `where.field: expected X` (undefined when it is one). */
export const instanceMisfit = (value: unknown, where: string) => misfit(value, INSTANCE, where);
/** Why `value` is not a usable pool slot entry (undefined when it is one). */
export const slotMisfit = (value: unknown, where: string) => misfit(value, SLOT, where);
/** What every registry format has for an instance: a slot and a folder. */
const SLOT_AND_PATH: Shape = { slot: INSTANCE.slot!, path: INSTANCE.path! };
/** Why `value` lacks a slot or a folder (undefined when it has both). */
export const slotAndPathMisfit = (value: unknown, where: string) => misfit(value, SLOT_AND_PATH, where);
export { isObject, parseJson };

/**
 * An entry of the Python tool's registry, with neutral values for the fields it may
 * lack; every other field is kept as it is.
 */
export function withNeutralFields(e: Record<string, unknown>): InstanceEntry {
  return {
    ...e,
    created_at: str(e.created_at) ? (e.created_at as string) : '',
    is_worktree: bool(e.is_worktree) ? (e.is_worktree as boolean) : false,
    // The Python tool writes null for a clone's parent.
    parent_repo: str(e.parent_repo) ? (e.parent_repo as string) : '',
  } as InstanceEntry;
}

/**
 * Version 1 (`~/.ktrdr/sandbox/instances.json`, seed 001) to version 2. Every
 * field of every entry is carried over; fields v1 may lack get neutral values.
 */
export function migrateV1Text(text: string): ParsedRegistry {
  const json = parseJson(text);
  if (!json.ok) return json;
  const raw = json.value;
  if (!isObject(raw) || raw.version !== 1) return { ok: false, reason: 'expected a version 1 registry' };
  const problem = misfitMap(raw.instances, SLOT_AND_PATH, 'instances');
  if (problem) return { ok: false, reason: problem };
  const { version: _v, instances, ...rest } = raw;
  const registry: Registry = { ...rest, version: REGISTRY_VERSION, instances: {}, slots: {} };
  for (const [id, e] of Object.entries(instances as Record<string, Record<string, unknown>>))
    registry.instances[id] = withNeutralFields(e);
  return { ok: true, registry };
}

/** What could be kept of an unreadable registry.json. */
export interface Salvaged {
  registry: Registry;
  /** Entries left out, each with why (`instances.x.slot: expected ...`). */
  dropped: string[];
  /** Why nothing at all could be read, when the text is not a JSON object. */
  unreadable?: string;
}

/**
 * Keep every instance and pool slot entry of a registry file that is valid on
 * its own: one bad entry, or a wrong version number, does not lose the others.
 * Text that is not JSON yields nothing (its sandboxes are found on disk instead).
 */
export function salvageRegistryText(text: string): Salvaged {
  const registry = emptyRegistry();
  const json = parseJson(text);
  if (!json.ok) return { registry, dropped: [], unreadable: json.reason };
  const raw = json.value;
  if (!isObject(raw)) return { registry, dropped: [], unreadable: 'top level: expected an object' };
  const dropped: string[] = [];
  const keep = <T>(
    map: unknown,
    where: string,
    why: (v: unknown, w: string) => string | undefined,
    into: Record<string, T>,
  ) => {
    if (!isObject(map)) {
      if (map !== undefined) dropped.push(`${where}: expected an object`);
      return;
    }
    for (const [id, entry] of Object.entries(map)) {
      const problem = why(entry, `${where}.${id}`);
      if (problem) dropped.push(problem);
      else into[id] = entry as T;
    }
  };
  keep(raw.instances, 'instances', instanceMisfit, registry.instances);
  keep(raw.slots, 'slots', slotMisfit, registry.slots);
  return { registry, dropped };
}

export function formatRegistry(registry: Registry): string {
  return JSON.stringify(registry, null, 2) + '\n';
}
