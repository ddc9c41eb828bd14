// A lease on a port slot: what a sandbox holds to run. There are two kinds, told apart by data alone: an ad-hoc
// slot (the sandbox's own numbered slot; it runs as its instance id, from its own folder) and a pool slot (one
// `provision` made under ~/.ktrdr, with a profile's workers; it runs as the slot's compose project, from the slot's
// folder). Everything create, init and doctor's repairs need of a lease is here, once: choosing one (through the
// one allocator, never deciding otherwise), claiming and releasing it in the registry, its ports, its compose
// project, the registry fields it implies and the .env.sandbox lines it implies (the only writer of that file's
// contents). Pure.
import { sandboxHost } from './router/hostnames.js';
import { join } from 'node:path';
import type { Config } from './config/config.js';
import type { EnvLine } from './env-file.js';
import { pickPoolSlot, poolPlan, poolSlotPorts, releaseMark, slotProject, type PoolSlot } from './pool.js';
import { portsForSlot, type SlotPort } from './ports.js';
import type { InstanceEntry, Registry, SlotEntry } from './registry/model.js';
import { allocateSlot, checkRequestedSlot, slotUnavailableReason } from './registry/slots.js';
import { CREATED_WORKTREE_KEY, OWNER_KEY, POOL_SLOT_KEY, SANDBOX_VERSION } from './sandbox-env.js';

export interface AdHocLease {
  kind: 'ad-hoc';
  slot: number;
}

export interface PoolLease {
  kind: 'pool';
  slot: number;
  profile: string;
  workers: Record<string, number>;
  /** How many worker ports the slot publishes. */
  totalWorkers: number;
  /** The slot's folder: its compose file and its own .env.sandbox. */
  folder: string;
}

export type SlotLease = AdHocLease | PoolLease;

/** The sandbox that holds a lease, as its .env.sandbox records it. */
export interface LeaseHolder {
  instanceId: string;
  /** The sandbox's folder: where its .env.sandbox goes (a pool lease also names it as the code folder). */
  path: string;
  createdAt: string;
  /** kinfra made the worktree (create): recorded so a registry rebuilt from disk knows destroy may remove it. */
  createdWorktree?: boolean | undefined;
  /** The owner id of the kinfra that made it: with createdWorktree, the marker that lets repair remove what is left. */
  owner?: string | undefined;
}

export function adHocLease(slot: number): AdHocLease {
  return { kind: 'ad-hoc', slot };
}

/**
 * The lease on the provisioned pool slot `s`. Its worker ports follow the layout's plan for the slot when there is
 * one (what provision rendered the slot's compose file for), else the workers the registry entry records.
 */
export function poolLease(config: Config, s: SlotEntry): PoolLease {
  const plan = poolPlan(config).find((p) => p.slot === s.slot_id);
  const totalWorkers = plan?.totalWorkers ?? Object.values(s.workers).reduce((a, b) => a + b, 0);
  const folder = s.infrastructure_path;
  return { kind: 'pool', slot: s.slot_id, profile: s.profile, workers: s.workers, totalWorkers, folder };
}

/** The lease on a pool slot the layout plans, before the registry has it (provision, a rebuilt registry). */
export function planLease(p: PoolSlot, folder: string): PoolLease {
  return { kind: 'pool', slot: p.slot, profile: p.profile, workers: p.workers, totalWorkers: p.totalWorkers, folder };
}

/** The lease a registry entry records; undefined when the pool slot it names is not provisioned. */
export function entryLease(registry: Registry, config: Config, e: InstanceEntry): SlotLease | undefined {
  if (e.pool_slot === undefined) return adHocLease(e.slot);
  const s = registry.slots[String(e.pool_slot)];
  return s && poolLease(config, s);
}

export interface LeaseRequest {
  /** --slot: the pool slot when there is a pool, else the ad-hoc slot. */
  slot?: number | undefined;
  /** --profile: the smallest pool profile that will do (it needs a pool). */
  profile?: string | undefined;
  /** An ad-hoc slot to keep while it is still free (init re-registering the slot its .env.sandbox names). */
  keep?: number | undefined;
  /** Host ports the engine already publishes for something else: a slot that would need one is skipped. */
  busy?: ReadonlyMap<number, string> | undefined;
}

/**
 * The lease create and init take: a pool slot while a pool is provisioned, else an ad-hoc slot. The allocators
 * decide (`pickPoolSlot` for the pool, `allocateSlot` and `checkRequestedSlot` otherwise); `reserved` are slots
 * held by someone the registry does not know, which both count as taken.
 */
export function chooseLease(
  registry: Registry,
  config: Config,
  want: LeaseRequest,
  reserved: ReadonlyMap<number, string> = new Map(),
): SlotLease {
  const s = pickPoolSlot(registry, config, want.slot, want.profile, reserved);
  if (s) return poolLease(config, s);
  const plan = { maxSlot: config.maxSlot, ports: config.ports, busy: want.busy };
  if (want.slot !== undefined) return adHocLease(checkRequestedSlot(registry, plan, want.slot, reserved));
  const keep = want.keep;
  const keepable = keep !== undefined && keep >= 1 && keep <= config.maxSlot;
  if (keepable && !slotUnavailableReason(registry, plan, keep, reserved)) return adHocLease(keep);
  return adHocLease(allocateSlot(registry, plan, reserved));
}

/** The registry's entry of the pool slot a lease is on; undefined for an ad-hoc lease (its instance entry holds it). */
export function leasedSlot(registry: Registry, lease: SlotLease): SlotEntry | undefined {
  return lease.kind === 'pool' ? registry.slots[String(lease.slot)] : undefined;
}

/** Record that `instanceId` holds the lease. An ad-hoc slot is held by the instance entry alone. */
export function claimLease(registry: Registry, lease: SlotLease, instanceId: string, at: string): void {
  const s = leasedSlot(registry, lease);
  if (s) Object.assign(s, { claimed_by: instanceId, claimed_at: at });
}

/** Give the lease up, if `instanceId` still holds it (its volumes are reset at the next claim). */
export function releaseLease(registry: Registry, lease: SlotLease, instanceId: string): void {
  const s = leasedSlot(registry, lease);
  if (s?.claimed_by === instanceId) Object.assign(s, { claimed_by: null, claimed_at: null });
}

/** Whether the registry still gives the lease to `instanceId`. */
export function leaseHeldBy(registry: Registry, lease: SlotLease, instanceId: string): boolean {
  return lease.kind === 'ad-hoc' || leasedSlot(registry, lease)?.claimed_by === instanceId;
}

/** Why `instanceId` cannot take the lease (again), or undefined: a pool slot another claimed, or being released. */
export function leaseTakenBy(registry: Registry, lease: SlotLease, instanceId: string): string | undefined {
  const s = leasedSlot(registry, lease);
  if (!s) return undefined;
  if (s.claimed_by && s.claimed_by !== instanceId) return `claimed by ${s.claimed_by}`;
  return releaseMark(s) ? 'being released' : undefined;
}

/**
 * A pool slot is reset (a reused slot must not inherit the previous database) before its sandbox may run: until
 * then the sandbox stays `creating`. An ad-hoc slot starts with nothing to reset.
 */
export function resetsOnClaim(lease: SlotLease): boolean {
  return lease.kind === 'pool';
}

/** The pool profile the lease runs; undefined for an ad-hoc slot. */
export function leaseProfile(lease: SlotLease): string | undefined {
  return lease.kind === 'pool' ? lease.profile : undefined;
}

/** The published ports: the layout's for the slot, and for a pool slot as many worker ports as its profile runs. */
export function leasePorts(config: Config, lease: SlotLease): SlotPort[] {
  return lease.kind === 'pool' ? poolSlotPorts(config, lease) : portsForSlot(config.ports, lease.slot);
}

/** The ports by name, as the registry records them. */
export function leasePortMap(config: Config, lease: SlotLease): Record<string, number> {
  return Object.fromEntries(leasePorts(config, lease).map((p) => [p.name, p.port]));
}

/** The compose project the holder runs as: the pool slot's own, or the instance id. */
export function leaseProject(prefix: string, lease: SlotLease, instanceId: string): string {
  return lease.kind === 'pool' ? slotProject(prefix, lease.slot) : instanceId;
}

export type LeaseEntryFields = Pick<InstanceEntry, 'ports' | 'pool_slot' | 'compose_project' | 'main_http'>;

/** The fields of the holder's registry entry that the lease decides (and the layout's main HTTP port). */
export function leaseEntryFields(config: Config, lease: SlotLease): LeaseEntryFields {
  const ports = leasePortMap(config, lease);
  const http = config.ports.find((p) => p.http && p.name in ports)?.name;
  const main = http === undefined ? {} : { main_http: http };
  if (lease.kind === 'ad-hoc') return { ports, ...main };
  return { ports, pool_slot: lease.slot, compose_project: slotProject(config.prefix, lease.slot), ...main };
}

/** The compose file a pool slot's stack runs from. */
export function poolComposeFile(lease: PoolLease): string {
  return join(lease.folder, 'docker-compose.yml');
}

/** The registry entry of a pool slot as provision writes it: unclaimed. */
export function unclaimedSlotEntry(config: Config, lease: PoolLease): SlotEntry {
  return {
    slot_id: lease.slot,
    profile: lease.profile,
    workers: lease.workers,
    ports: leasePortMap(config, lease),
    infrastructure_path: lease.folder,
    claimed_by: null,
    claimed_at: null,
    compose_project: slotProject(config.prefix, lease.slot),
  };
}

/** The ad-hoc sandbox registered on `slot`, if any: a slot provision must leave alone. */
export function adHocHolder(registry: Registry, slot: number): string | undefined {
  return Object.entries(registry.instances).find(([, e]) => e.slot === slot && e.pool_slot === undefined)?.[0];
}

/**
 * The lines of the .env.sandbox the lease implies: the holder's, or (a pool slot, no holder) the slot folder's
 * own. `sharedRoot` is the shared data folder, already expanded (compose does not expand ~). The two kinds keep
 * the layouts they have always had, to the byte: provision rewrites a slot whose file differs, and a file written
 * by an older kinfra must read as up to date.
 */
export function leaseEnvLines(config: Config, lease: PoolLease, sharedRoot: Shared, holder?: LeaseHolder): EnvLine[];
export function leaseEnvLines(config: Config, lease: SlotLease, sharedRoot: Shared, holder: LeaseHolder): EnvLine[];
export function leaseEnvLines(config: Config, lease: SlotLease, sharedRoot: Shared, holder?: LeaseHolder): EnvLine[] {
  const ports = leasePorts(config, lease).map((p) => line(p.env, String(p.port)));
  const shared =
    config.shared && sharedRoot
      ? [line(config.shared.env, sharedRoot), ...config.shared.dirs.map((d) => line(d.env, `${sharedRoot}/${d.name}`))]
      : [];
  if (lease.kind === 'pool') return poolEnv(config, lease, ports, shared, holder);
  return adHocEnv(lease, ports, shared, holder!);
}

type Shared = string | undefined;

const line = (key: string, value: string): EnvLine => ({ key, value });

/** `ktrdr--feat.localhost`: the sandbox's name through the router (`http://<it>:<router port>`). */
export const HOSTNAME_KEY = 'KINFRA_HOSTNAME';

/** A group of lines after a blank line, under its title when it has one. */
const group = (title: string | undefined, lines: EnvLine[]): EnvLine[] => [
  { comment: '' },
  ...(title ? [{ comment: title }] : []),
  ...lines,
];

/** The shared data group only when there is a shared folder. */
const sharedGroup = (title: string | undefined, shared: EnvLine[]): EnvLine[] =>
  shared.length > 0 ? group(title, shared) : [];

function markers(h: LeaseHolder): EnvLine[] {
  const made = h.createdWorktree
    ? [line(CREATED_WORKTREE_KEY, 'true'), ...(h.owner ? [line(OWNER_KEY, h.owner)] : [])]
    : [];
  // The router's name of the sandbox, without the router's port (that is the router's to choose): the same for as
  // long as the instance id is, so a file written once never goes stale.
  return [...made, line(HOSTNAME_KEY, sandboxHost(h.instanceId))];
}

/** The ad-hoc layout: titled groups. */
function adHocEnv(lease: AdHocLease, ports: EnvLine[], shared: EnvLine[], h: LeaseHolder): EnvLine[] {
  return [
    { comment: 'Written by kinfra. Do not edit: `kinfra sandbox` commands rely on it.' },
    ...group('Instance Identity', [
      line('INSTANCE_ID', h.instanceId),
      line('COMPOSE_PROJECT_NAME', h.instanceId),
      line('SLOT_NUMBER', String(lease.slot)),
    ]),
    ...group('Published Ports', ports),
    ...sharedGroup('Shared Data', shared),
    ...group('Metadata', [line('CREATED_AT', h.createdAt), line('SANDBOX_VERSION', SANDBOX_VERSION), ...markers(h)]),
  ];
}

/** The pool layout: untitled groups, the holder's lines (when held) after the slot's, the version last. */
function poolEnv(config: Config, lease: PoolLease, ports: EnvLine[], shared: EnvLine[], h?: LeaseHolder): EnvLine[] {
  const slot = String(lease.slot);
  const held = h
    ? [
        line('INSTANCE_ID', h.instanceId),
        line(POOL_SLOT_KEY, slot),
        line('KINFRA_COMPOSE_FILE', poolComposeFile(lease)),
        line('KINFRA_CODE_DIR', h.path),
        line('CREATED_AT', h.createdAt),
        ...markers(h),
      ]
    : [];
  return [
    { comment: 'Written by kinfra (pool slot). Do not edit.' },
    ...group(undefined, [
      line('SLOT_ID', slot),
      line('SLOT_NUMBER', slot),
      line('SLOT_PROFILE', lease.profile),
      line('COMPOSE_PROJECT_NAME', slotProject(config.prefix, lease.slot)),
      ...held,
    ]),
    ...group(undefined, ports),
    ...sharedGroup(undefined, shared),
    line('SANDBOX_VERSION', SANDBOX_VERSION),
  ];
}
