/**
 * The slot lease (core/slot-lease.ts): both kinds of slot through one set of functions. The .env.sandbox texts
 * below are the files kinfra wrote before the lease existed, to the byte: provision compares a slot folder's file
 * with what it would write, and a sandbox's file is compared with its registry entry.
 */
import { describe, expect, it } from 'vitest';
import { builtInConfig, parseConfigText } from '../../src/core/config/config.js';
import { formatEnvText, parseEnvText } from '../../src/core/env-file.js';
import { poolPlan, poolSlotPorts } from '../../src/core/pool.js';
import { portsForSlot } from '../../src/core/ports.js';
import { allocateSlot } from '../../src/core/registry/slots.js';
import { identityFromEnv } from '../../src/core/sandbox-env.js';
import {
  adHocHolder,
  adHocLease,
  chooseLease,
  claimLease,
  entryLease,
  leaseEntryFields,
  leaseEnvLines,
  leaseHeldBy,
  leasePorts,
  leaseProfile,
  leaseProject,
  leaseTakenBy,
  planLease,
  poolLease,
  unclaimedSlotEntry,
  releaseLease,
  resetsOnClaim,
  type LeaseHolder,
} from '../../src/core/slot-lease.js';
import { kinfraErrorOf, pooled, registryOf, sandboxEntry } from './fixtures.js';

const builtIn = builtInConfig();
const SHARED = '/home/dev/.ktrdr/shared';

/** A layout without shared data, and one whose pool slot 4 runs three workers. */
const plain = parseConfigText(
  `prefix: plain
ports:
  web:
    env: PLAIN_WEB_PORT
    base: 7000
`,
  'kinfra.yaml',
);
const shop = parseConfigText(
  `prefix: shop
ports:
  web:
    env: SHOP_WEB_PORT
    base: 7000
workers:
  env_prefix: SHOP_W
  count: 1
  base: 6100
  step: 10
  main: 6000
profiles:
  p:
    workers: { job: 3 }
pool:
  slots:
    "4": p
`,
  'kinfra.yaml',
);

const holder = (instanceId: string, extra: Partial<LeaseHolder> = {}): LeaseHolder => ({
  instanceId,
  path: '/work/code',
  createdAt: '2025-01-01T00:00:00Z',
  ...extra,
});

describe('the two kinds as data', () => {
  it("an ad-hoc lease is its slot; a pool lease carries the slot entry's profile, workers and folder", () => {
    expect(adHocLease(3)).toEqual({ kind: 'ad-hoc', slot: 3 });
    const s = pooled(5, 'standard', null, { workers: { backtest: 2, training: 2 } });
    expect(poolLease(builtIn, s)).toEqual({
      kind: 'pool',
      slot: 5,
      profile: 'standard',
      workers: { backtest: 2, training: 2 },
      totalWorkers: 4,
      folder: s.infrastructure_path,
    });
  });

  it('a pool slot publishes the worker ports the layout plans for it, else those its entry records', () => {
    // Slot 5 is planned as standard (4 workers), whatever its entry says; slot 9 is not planned.
    expect(poolLease(builtIn, pooled(5, 'changed', null, { workers: { a: 1 } })).totalWorkers).toBe(4);
    expect(poolLease(builtIn, pooled(9, 'odd', null, { workers: { a: 2, b: 1 } })).totalWorkers).toBe(3);
  });

  it("the lease of a registry entry: its pool slot's, its ad-hoc slot, or none when its pool slot is gone", () => {
    const instances = {
      a: sandboxEntry(2, 'a'),
      b: sandboxEntry(1, 'b', { pool_slot: 1 }),
      c: sandboxEntry(6, 'c', { pool_slot: 6 }),
    };
    const reg = registryOf(instances, [pooled(1, 'light', 'b')]);
    expect(entryLease(reg, builtIn, reg.instances.a!)).toEqual(adHocLease(2));
    expect(entryLease(reg, builtIn, reg.instances.b!)).toMatchObject({ kind: 'pool', slot: 1, profile: 'light' });
    expect(entryLease(reg, builtIn, reg.instances.c!)).toBeUndefined();
  });

  it('only a pool slot has a profile and is reset when claimed', () => {
    const pool = planLease(poolPlan(builtIn)[5]!, '/st/slot-6');
    expect([leaseProfile(adHocLease(2)), leaseProfile(pool)]).toEqual([undefined, 'heavy']);
    expect([resetsOnClaim(adHocLease(2)), resetsOnClaim(pool)]).toEqual([false, true]);
  });
});

describe('ports and project', () => {
  it("an ad-hoc slot has the layout's ports for its number", () => {
    expect(leasePorts(builtIn, adHocLease(2))).toEqual(portsForSlot(builtIn.ports, 2));
  });

  it("a pool slot has the layout's ports and as many worker ports as its profile runs", () => {
    const lease = planLease(poolPlan(builtIn)[5]!, '/st/slot-6');
    expect(leasePorts(builtIn, lease)).toEqual(poolSlotPorts(builtIn, poolPlan(builtIn)[5]!));
    expect(leasePorts(builtIn, lease).filter((p) => p.name.startsWith('worker_'))).toHaveLength(8);
  });

  it("the compose project: the instance id, or the pool slot's own", () => {
    expect(leaseProject('ktrdr', adHocLease(2), 'ktrdr--feat')).toBe('ktrdr--feat');
    expect(leaseProject('ktrdr', poolLease(builtIn, pooled(3, 'light')), 'ktrdr--feat')).toBe('ktrdr--slot-3');
  });

  it('the registry fields: ports by name, and for a pool slot the slot and its project', () => {
    expect(leaseEntryFields(plain, adHocLease(7))).toEqual({ ports: { web: 7007 } });
    expect(leaseEntryFields(shop, poolLease(shop, pooled(4, 'p')))).toEqual({
      ports: { web: 7004, worker_1: 6140, worker_2: 6141, worker_3: 6142 },
      pool_slot: 4,
      compose_project: 'shop--slot-4',
    });
  });

  it("a pool slot's registry entry as provision writes it: unclaimed, with its ports and project", () => {
    expect(unclaimedSlotEntry(shop, planLease(poolPlan(shop)[0]!, '/st/slot-4'))).toEqual({
      slot_id: 4,
      profile: 'p',
      workers: { job: 3 },
      ports: { web: 7004, worker_1: 6140, worker_2: 6141, worker_3: 6142 },
      infrastructure_path: '/st/slot-4',
      claimed_by: null,
      claimed_at: null,
      compose_project: 'shop--slot-4',
    });
  });
});

describe('the .env.sandbox a lease implies', () => {
  it('ad-hoc: titled groups, no shared group without shared data', () => {
    expect(formatEnvText(leaseEnvLines(plain, adHocLease(7), undefined, holder('plain--x')))).toBe(`\
# Written by kinfra. Do not edit: \`kinfra sandbox\` commands rely on it.

# Instance Identity
INSTANCE_ID=plain--x
COMPOSE_PROJECT_NAME=plain--x
SLOT_NUMBER=7

# Published Ports
PLAIN_WEB_PORT=7007

# Metadata
CREATED_AT=2025-01-01T00:00:00Z
SANDBOX_VERSION=1
KINFRA_HOSTNAME=plain--x.localhost
`);
  });

  it('ad-hoc, made by create: the markers last, the owner only with the created-worktree one', () => {
    const lines = (extra: Partial<LeaseHolder>) =>
      formatEnvText(leaseEnvLines(builtIn, adHocLease(2), SHARED, holder('ktrdr--x', extra)));
    const markers =
      /SANDBOX_VERSION=1\nKINFRA_CREATED_WORKTREE=true\nKINFRA_OWNER=own-1\nKINFRA_HOSTNAME=ktrdr--x.localhost\n$/;
    expect(lines({ createdWorktree: true, owner: 'own-1' })).toMatch(markers);
    expect(lines({ owner: 'own-1' })).toMatch(/SANDBOX_VERSION=1\nKINFRA_HOSTNAME=ktrdr--x.localhost\n$/);
    expect(lines({})).toContain(`\n# Shared Data\nKTRDR_SHARED_DIR=${SHARED}\nKTRDR_DATA_DIR=${SHARED}/data\n`);
  });

  it("a pool slot's folder: the slot's lines only", () => {
    expect(formatEnvText(leaseEnvLines(shop, planLease(poolPlan(shop)[0]!, '/st/slot-4'), undefined))).toBe(`\
# Written by kinfra (pool slot). Do not edit.

SLOT_ID=4
SLOT_NUMBER=4
SLOT_PROFILE=p
COMPOSE_PROJECT_NAME=shop--slot-4

SHOP_WEB_PORT=7004
SHOP_W1=6140
SHOP_W2=6141
SHOP_W3=6142
SANDBOX_VERSION=1
`);
  });

  it("a pool slot's holder: its lines after the slot's, the shared folder, the version last", () => {
    const s = pooled(5, 'changed', null, { workers: { a: 1 }, infrastructure_path: '/st/slot-5' });
    const held = holder('ktrdr--x', { createdWorktree: true, owner: 'own-1' });
    const text = formatEnvText(leaseEnvLines(builtIn, poolLease(builtIn, s), SHARED, held));
    expect(text).toBe(`\
# Written by kinfra (pool slot). Do not edit.

SLOT_ID=5
SLOT_NUMBER=5
SLOT_PROFILE=changed
COMPOSE_PROJECT_NAME=ktrdr--slot-5
INSTANCE_ID=ktrdr--x
KINFRA_POOL_SLOT=5
KINFRA_COMPOSE_FILE=/st/slot-5/docker-compose.yml
KINFRA_CODE_DIR=/work/code
CREATED_AT=2025-01-01T00:00:00Z
KINFRA_CREATED_WORKTREE=true
KINFRA_OWNER=own-1
KINFRA_HOSTNAME=ktrdr--x.localhost

KTRDR_API_PORT=8005
KTRDR_DB_PORT=5437
KTRDR_GRAFANA_PORT=3005
KTRDR_JAEGER_UI_PORT=16691
KTRDR_JAEGER_OTLP_GRPC_PORT=4367
KTRDR_JAEGER_OTLP_HTTP_PORT=4368
KTRDR_PROMETHEUS_PORT=9095
KTRDR_WORKER_PORT_1=5050
KTRDR_WORKER_PORT_2=5051
KTRDR_WORKER_PORT_3=5052
KTRDR_WORKER_PORT_4=5053

KTRDR_SHARED_DIR=${SHARED}
KTRDR_DATA_DIR=${SHARED}/data
KTRDR_MODELS_DIR=${SHARED}/models
KTRDR_STRATEGIES_DIR=${SHARED}/strategies
SANDBOX_VERSION=1
`);
  });

  it('either kind reads back as its holder on its slot, with the ports the lease gives', () => {
    for (const lease of [adHocLease(3), poolLease(builtIn, pooled(6, 'heavy'))]) {
      const env = parseEnvText(formatEnvText(leaseEnvLines(builtIn, lease, SHARED, holder('ktrdr--x'))));
      expect(identityFromEnv(env, builtIn)).toEqual({ instanceId: 'ktrdr--x', slot: lease.slot });
      for (const p of leasePorts(builtIn, lease)) expect(env[p.env], p.env).toBe(String(p.port));
    }
  });
});

describe('choosing a lease: the allocators decide', () => {
  it("without a pool: the allocator's lowest free slot, or the requested one", () => {
    const reg = registryOf({ a: sandboxEntry(1, 'a') });
    const plan = { maxSlot: builtIn.maxSlot, ports: builtIn.ports };
    expect(chooseLease(reg, builtIn, {})).toEqual(adHocLease(allocateSlot(reg, plan)));
    expect(chooseLease(reg, builtIn, { slot: 4 })).toEqual(adHocLease(4));
    kinfraErrorOf(() => chooseLease(reg, builtIn, { slot: 1 }), 'conflict', 'slot-taken');
    kinfraErrorOf(() => chooseLease(reg, builtIn, { profile: 'light' }), 'usage', 'no-pool');
  });

  it('keeps a slot while it is free (init re-registering a folder), else allocates', () => {
    const reg = registryOf({ a: sandboxEntry(1, 'a') });
    expect(chooseLease(reg, builtIn, { keep: 5 })).toEqual(adHocLease(5));
    expect(chooseLease(reg, builtIn, { keep: 1 })).toEqual(adHocLease(2));
    expect(chooseLease(reg, builtIn, { keep: 0 })).toEqual(adHocLease(2));
    expect(chooseLease(reg, builtIn, { keep: 5 }, new Map([[5, 'someone']]))).toEqual(adHocLease(2));
  });

  it('with a pool: its lowest free slot meeting the profile; a reserved one counts as claimed', () => {
    const reg = registryOf({}, [pooled(1, 'light', 'x'), pooled(2, 'light'), pooled(5, 'standard')]);
    expect(chooseLease(reg, builtIn, {})).toMatchObject({ kind: 'pool', slot: 2 });
    expect(chooseLease(reg, builtIn, { profile: 'standard' })).toMatchObject({ kind: 'pool', slot: 5 });
    expect(chooseLease(reg, builtIn, {}, new Map([[2, 'python']]))).toMatchObject({ kind: 'pool', slot: 5 });
    kinfraErrorOf(() => chooseLease(reg, builtIn, { slot: 1 }), 'conflict', 'slot-taken');
    kinfraErrorOf(() => chooseLease(reg, builtIn, { slot: 3 }), 'usage', 'not-a-pool-slot');
  });
});

describe('claiming and releasing', () => {
  it('a pool lease is claimed on its slot entry and released only by its holder', () => {
    const reg = registryOf({}, [pooled(2, 'light')]);
    const lease = poolLease(builtIn, reg.slots['2']!);
    claimLease(reg, lease, 'ktrdr--a', 't1');
    expect(reg.slots['2']).toMatchObject({ claimed_by: 'ktrdr--a', claimed_at: 't1' });
    expect([leaseHeldBy(reg, lease, 'ktrdr--a'), leaseHeldBy(reg, lease, 'ktrdr--b')]).toEqual([true, false]);
    expect(leaseTakenBy(reg, lease, 'ktrdr--b')).toBe('claimed by ktrdr--a');
    expect(leaseTakenBy(reg, lease, 'ktrdr--a')).toBeUndefined();
    releaseLease(reg, lease, 'ktrdr--b');
    expect(reg.slots['2']!.claimed_by).toBe('ktrdr--a');
    releaseLease(reg, lease, 'ktrdr--a');
    expect(reg.slots['2']).toMatchObject({ claimed_by: null, claimed_at: null });
  });

  it('a pool slot being released cannot be taken', () => {
    const reg = registryOf({}, [pooled(2, 'light', null, { releasing: { pid: 1, started_at: 'x', from: null } })]);
    expect(leaseTakenBy(reg, poolLease(builtIn, reg.slots['2']!), 'ktrdr--a')).toBe('being released');
  });

  it('an ad-hoc lease is held by its instance entry: claiming and releasing leave the pool alone', () => {
    const reg = registryOf({ a: sandboxEntry(2, 'a') }, [pooled(2, 'light')]);
    const before = structuredClone(reg);
    claimLease(reg, adHocLease(2), 'a', 't');
    releaseLease(reg, adHocLease(2), 'a');
    expect(reg).toEqual(before);
    expect([leaseHeldBy(reg, adHocLease(2), 'a'), leaseTakenBy(reg, adHocLease(2), 'a')]).toEqual([true, undefined]);
  });

  it('names the ad-hoc sandbox on a slot, never a pool claim', () => {
    const reg = registryOf({ a: sandboxEntry(2, 'a'), b: sandboxEntry(3, 'b', { pool_slot: 3 }) });
    expect([adHocHolder(reg, 2), adHocHolder(reg, 3), adHocHolder(reg, 4)]).toEqual(['a', undefined, undefined]);
  });
});
