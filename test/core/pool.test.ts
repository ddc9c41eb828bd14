import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { builtInConfig, parseConfigText, type Config } from '../../src/core/config/config.js';
import {
  checkProfilesFit,
  choosePoolSlot,
  isPoolProvisioned,
  poolPlan,
  poolSlotPorts,
  profileOrder,
  slotProject,
  type PoolSlot,
} from '../../src/core/pool.js';
import { kinfraErrorOf, pooled, registryOf } from './fixtures.js';

const builtIn = builtInConfig();

/** The built-in layout with other profiles and pool. */
const withProfiles = (profiles: Config['profiles'], pool: Config['pool']): Config => ({ ...builtIn, profiles, pool });

const CUSTOM = `prefix: shop
ports:
  web:
    env: SHOP_WEB_PORT
    base: 7000
`;

/** CUSTOM plus one worker port stepping by `step`, and pool slot `slot` running `jobs` workers of profile p. */
const withWorkers = (step: number, jobs: number, slot: number) => `${CUSTOM}workers:
  env_prefix: SHOP_W
  count: 1
  base: 6100
  step: ${step}
  main: 6000
profiles:
  p:
    workers: { job: ${jobs} }
pool:
  slots:
    "${slot}": p
`;

describe('poolPlan', () => {
  it('gives every pool slot of the built-in layout its profile and worker total', () => {
    expect(poolPlan(builtIn)).toEqual([
      ...[1, 2, 3, 4].map((slot) => ({
        slot,
        profile: 'light',
        workers: { backtest: 1, training: 1 },
        totalWorkers: 2,
      })),
      { slot: 5, profile: 'standard', workers: { backtest: 2, training: 2 }, totalWorkers: 4 },
      { slot: 6, profile: 'heavy', workers: { backtest: 4, training: 4 }, totalWorkers: 8 },
    ]);
  });

  it('is empty without a pool', () => {
    expect(poolPlan(parseConfigText(CUSTOM, 'kinfra.yaml'))).toEqual([]);
  });

  it('counts a profile without workers as zero', () => {
    const c = withProfiles({ idle: { workers: {} }, some: { workers: { a: 0, b: 3 } } }, [
      { slot: 2, profile: 'idle' },
      { slot: 3, profile: 'some' },
    ]);
    expect(poolPlan(c).map((s) => [s.slot, s.totalWorkers])).toEqual([
      [2, 0],
      [3, 3],
    ]);
  });
});

describe('profileOrder', () => {
  it('orders the built-in profiles light, standard, heavy', () => {
    expect(profileOrder(builtIn)).toEqual(['light', 'standard', 'heavy']);
  });

  it('sorts by total workers whatever the declaration order, ties in declaration order', () => {
    const c = withProfiles(
      {
        big: { workers: { a: 3, b: 3 } },
        second: { workers: { b: 1 } },
        first: { workers: { a: 1 } },
        none: { workers: {} },
        mid: { workers: { a: 2, b: 0 } },
      },
      [],
    );
    expect(profileOrder(c)).toEqual(['none', 'second', 'first', 'mid', 'big']);
  });

  it('is empty without profiles', () => {
    expect(profileOrder(withProfiles({}, []))).toEqual([]);
  });
});

describe('slotProject and isPoolProvisioned', () => {
  it('names a pool slot project <prefix>--slot-<n>', () => {
    expect(slotProject('ktrdr', 3)).toBe('ktrdr--slot-3');
  });

  it('a registry with slots is provisioned, one without is not', () => {
    expect(isPoolProvisioned(registryOf())).toBe(false);
    expect(isPoolProvisioned(registryOf({}, [pooled(1, 'light')]))).toBe(true);
  });
});

describe('poolSlotPorts', () => {
  const slot = (n: number): PoolSlot => poolPlan(builtIn).find((s) => s.slot === n)!;

  it('a light slot publishes the layout ports and two worker ports', () => {
    expect(poolSlotPorts(builtIn, slot(1))).toEqual([
      { name: 'api', env: 'KTRDR_API_PORT', port: 8001 },
      { name: 'db', env: 'KTRDR_DB_PORT', port: 5433 },
      { name: 'grafana', env: 'KTRDR_GRAFANA_PORT', port: 3001 },
      { name: 'jaeger_ui', env: 'KTRDR_JAEGER_UI_PORT', port: 16687 },
      { name: 'jaeger_otlp_grpc', env: 'KTRDR_JAEGER_OTLP_GRPC_PORT', port: 4327 },
      { name: 'jaeger_otlp_http', env: 'KTRDR_JAEGER_OTLP_HTTP_PORT', port: 4328 },
      { name: 'prometheus', env: 'KTRDR_PROMETHEUS_PORT', port: 9091 },
      { name: 'worker_1', env: 'KTRDR_WORKER_PORT_1', port: 5010 },
      { name: 'worker_2', env: 'KTRDR_WORKER_PORT_2', port: 5011 },
    ]);
  });

  it('a heavy slot runs more workers than the layout declares: worker k is base + step*N + k-1', () => {
    const workers = poolSlotPorts(builtIn, slot(6)).filter((p) => p.name.startsWith('worker_'));
    expect(builtIn.workerCount).toBe(4);
    expect(workers).toEqual(
      Array.from({ length: 8 }, (_, i) => ({
        name: `worker_${i + 1}`,
        env: `KTRDR_WORKER_PORT_${i + 1}`,
        port: 5060 + i,
      })),
    );
  });

  it('a slot of a profile without workers publishes only the layout ports', () => {
    const ports = poolSlotPorts(builtIn, { slot: 3, profile: 'idle', workers: {}, totalWorkers: 0 });
    expect(ports.map((p) => p.name)).toEqual(builtIn.ports.filter((p) => p.worker === undefined).map((p) => p.name));
  });

  it('a layout without worker ports publishes only its own ports, whatever the profile', () => {
    const c = parseConfigText(CUSTOM, 'kinfra.yaml');
    expect(poolSlotPorts(c, { slot: 2, profile: 'x', workers: { w: 3 }, totalWorkers: 3 })).toEqual([
      { name: 'web', env: 'SHOP_WEB_PORT', port: 7002 },
    ]);
  });

  it("takes the worker variable names from the layout's first worker port", () => {
    const c = parseConfigText(withWorkers(5, 3, 2), 'kinfra.yaml');
    const ports = poolSlotPorts(c, poolPlan(c)[0]!);
    expect(ports).toEqual([
      { name: 'web', env: 'SHOP_WEB_PORT', port: 7002 },
      { name: 'worker_1', env: 'SHOP_W1', port: 6110 },
      { name: 'worker_2', env: 'SHOP_W2', port: 6111 },
      { name: 'worker_3', env: 'SHOP_W3', port: 6112 },
    ]);
  });

  it('no two ports of the built-in pool slots coincide', () => {
    const all = poolPlan(builtIn).flatMap((s) => poolSlotPorts(builtIn, s).map((p) => p.port));
    expect(new Set(all).size).toBe(all.length);
  });

  it("property: a profile that fits never lands a worker on the next slot's range", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 10 }), (n, total) => {
        const here = poolSlotPorts(builtIn, { slot: n, profile: 'p', workers: { w: total }, totalWorkers: total });
        const next = poolSlotPorts(builtIn, { slot: n + 1, profile: 'p', workers: { w: total }, totalWorkers: total });
        const taken = new Set(here.map((p) => p.port));
        expect(next.some((p) => taken.has(p.port))).toBe(false);
      }),
    );
  });
});

describe('checkProfilesFit', () => {
  it('accepts the built-in layout', () => {
    expect(() => checkProfilesFit(builtIn)).not.toThrow();
  });

  it('accepts a pool profile with exactly as many workers as workers.step', () => {
    expect(() =>
      checkProfilesFit(withProfiles({ full: { workers: { a: 6, b: 4 } } }, [{ slot: 1, profile: 'full' }])),
    ).not.toThrow();
  });

  it('rejects a pool profile with more workers than a slot has worker ports', () => {
    const c = withProfiles({ light: { workers: { a: 1 } }, huge: { workers: { a: 6, b: 5 } } }, [
      { slot: 1, profile: 'light' },
      { slot: 2, profile: 'huge' },
    ]);
    const err = kinfraErrorOf(() => checkProfilesFit(c), 'usage', 'invalid-config');
    expect(err.message).toBe(
      `${builtIn.source}: profiles.huge: 11 workers do not fit the 10 worker ports a slot has (workers.step)`,
    );
    expect(err.hint).toContain('workers.step');
  });

  it('judges only the profiles the pool uses', () => {
    expect(() => checkProfilesFit(withProfiles({ huge: { workers: { a: 50 } } }, []))).not.toThrow();
  });

  it('has nothing to check in a layout without worker ports', () => {
    const plain = parseConfigText(CUSTOM, 'kinfra.yaml');
    expect(() =>
      checkProfilesFit({ ...plain, profiles: { many: { workers: { a: 40 } } }, pool: [{ slot: 1, profile: 'many' }] }),
    ).not.toThrow();
  });

  it('is applied when kinfra.yaml is read', () => {
    const err = kinfraErrorOf(() => parseConfigText(withWorkers(2, 3, 1), '/r/kinfra.yaml'), 'usage', 'invalid-config');
    expect(err.message).toContain('/r/kinfra.yaml: profiles.p: 3 workers do not fit the 2 worker ports');
  });
});

describe('choosePoolSlot', () => {
  const provisioned = (claims: Record<number, string>) =>
    registryOf(
      {},
      poolPlan(builtIn).map((s) => pooled(s.slot, s.profile, claims[s.slot] ?? null)),
    );

  it('picks the lowest free slot when no profile is asked for', () => {
    expect(choosePoolSlot(provisioned({}), builtIn, undefined).slot_id).toBe(1);
    expect(choosePoolSlot(provisioned({ 1: 'ktrdr--a', 2: 'ktrdr--b' }), builtIn, undefined).slot_id).toBe(3);
  });

  it('picks the lowest free slot by number, not by registry order', () => {
    const reg = registryOf({}, [pooled(3, 'light')]);
    reg.slots['x-late'] = pooled(2, 'light');
    expect(choosePoolSlot(reg, builtIn, undefined).slot_id).toBe(2);
  });

  it('skips smaller profiles and takes the smallest slot at least as large', () => {
    expect(choosePoolSlot(provisioned({}), builtIn, 'standard').slot_id).toBe(5);
    expect(choosePoolSlot(provisioned({}), builtIn, 'heavy').slot_id).toBe(6);
  });

  it('falls back to a larger profile when the asked one is all claimed', () => {
    const reg = provisioned({ 1: 'a', 2: 'b', 3: 'c', 4: 'd' });
    expect(choosePoolSlot(reg, builtIn, 'light').slot_id).toBe(5);
    expect(choosePoolSlot(provisioned({ 1: 'a', 2: 'b', 3: 'c', 4: 'd', 5: 'e' }), builtIn, 'light').slot_id).toBe(6);
  });

  it('returns the registry entry itself', () => {
    const reg = provisioned({});
    expect(choosePoolSlot(reg, builtIn, 'heavy')).toBe(reg.slots['6']);
  });

  it('rejects a profile that does not exist, naming the ones that do', () => {
    const err = kinfraErrorOf(() => choosePoolSlot(provisioned({}), builtIn, 'giant'), 'usage', 'unknown-profile');
    expect(err.message).toBe('There is no profile giant.');
    expect(err.hint).toBe('Use one of: light, standard, heavy.');
  });

  it('says why when every slot is claimed', () => {
    const claims = { 1: 'ktrdr--a', 2: 'ktrdr--b', 3: 'ktrdr--c', 4: 'ktrdr--d', 5: 'ktrdr--e', 6: 'ktrdr--f' };
    const err = kinfraErrorOf(
      () => choosePoolSlot(provisioned(claims), builtIn, undefined),
      'conflict',
      'pool-exhausted',
    );
    const rows = [
      '  Slot 1 (light): ktrdr--a',
      '  Slot 2 (light): ktrdr--b',
      '  Slot 3 (light): ktrdr--c',
      '  Slot 4 (light): ktrdr--d',
      '  Slot 5 (standard): ktrdr--e',
      '  Slot 6 (heavy): ktrdr--f',
    ];
    expect(err.message).toBe(`No free pool slot:\n${rows.join('\n')}`);
    expect(err.details).toEqual({ slots: rows });
    expect(err.hint).toContain('kinfra sandbox release <slot>');
  });

  it('says which profile it looked for when only smaller slots are free', () => {
    const err = kinfraErrorOf(
      () => choosePoolSlot(provisioned({ 6: 'ktrdr--big' }), builtIn, 'heavy'),
      'conflict',
      'pool-exhausted',
    );
    expect(err.message.split('\n')[0]).toBe('No free pool slot with profile heavy or larger:');
    expect(err.message).toContain('  Slot 1 (light): free');
    expect(err.message).toContain('  Slot 6 (heavy): ktrdr--big');
  });

  it('an unprovisioned pool is exhausted with no rows', () => {
    const err = kinfraErrorOf(() => choosePoolSlot(registryOf(), builtIn, undefined), 'conflict', 'pool-exhausted');
    expect(err.message).toBe('No free pool slot:\n');
    expect(err.details).toEqual({ slots: [] });
  });

  it('property: the choice is free, large enough and the lowest such slot', () => {
    const order = profileOrder(builtIn);
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.option(fc.constantFrom(...order), { nil: undefined }),
        (claimed, min) => {
          const reg = provisioned(
            Object.fromEntries(claimed.flatMap((c, i) => (c ? [[i + 1, `ktrdr--${i + 1}`]] : []))),
          );
          const fits = Object.values(reg.slots)
            .filter((s) => !s.claimed_by && (min === undefined || order.indexOf(s.profile) >= order.indexOf(min)))
            .map((s) => s.slot_id);
          if (fits.length === 0) {
            kinfraErrorOf(() => choosePoolSlot(reg, builtIn, min), 'conflict', 'pool-exhausted');
          } else {
            expect(choosePoolSlot(reg, builtIn, min).slot_id).toBe(Math.min(...fits));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
