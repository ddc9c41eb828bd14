import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { labelLayer } from '../../src/core/compose-layer.js';
import { stampLabels, type Stamp } from '../../src/core/ownership.js';

const stamp: Stamp = { owner: 'reg-7f3a', sandbox: 'ktrdr--a', path: '/home/dev/src/ktrdr--a' };
const labelled = { labels: stampLabels(stamp) };

describe('labelLayer', () => {
  it('labels every service, named volume and network, and the implicit default network', () => {
    const layer = labelLayer(
      {
        services: { db: { image: 'postgres' }, backend: { image: 'app', ports: ['8000'] } },
        volumes: { 'db-data': {}, models: null },
        networks: { backplane: { driver: 'bridge' } },
      },
      stamp,
    );
    expect(layer).toEqual({
      services: { db: labelled, backend: labelled },
      volumes: { 'db-data': labelled, models: labelled },
      networks: { default: labelled, backplane: labelled },
    });
  });

  it("adds only labels: nothing of the project's own configuration is repeated", () => {
    const layer = labelLayer(
      { services: { db: { image: 'postgres', environment: { A: '1' } } }, networks: { n: { driver: 'overlay' } } },
      stamp,
    );
    expect(layer.services).toEqual({
      db: {
        labels: {
          'dev.kinfra.owner': 'reg-7f3a',
          'dev.kinfra.sandbox': 'ktrdr--a',
          'dev.kinfra.path': '/home/dev/src/ktrdr--a',
        },
      },
    });
    expect((layer.networks as Record<string, unknown>).n).toEqual(labelled);
  });

  it('leaves external volumes and networks alone, in both spellings of external', () => {
    const layer = labelLayer(
      {
        services: { app: {} },
        volumes: {
          shared: { external: true, name: 'shared-data' },
          legacy: { external: { name: 'old-data' } },
          own: { external: false },
        },
        networks: { proxy: { external: true }, old: { external: { name: 'old-net' } } },
      },
      stamp,
    );
    expect(layer).toEqual({ services: { app: labelled }, volumes: { own: labelled }, networks: { default: labelled } });
  });

  it('leaves the default network alone when the project makes it external', () => {
    const layer = labelLayer(
      { services: { app: {} }, networks: { default: { external: true, name: 'shared-net' } } },
      stamp,
    );
    expect(layer).toEqual({ services: { app: labelled } });
  });

  it('labels a default network the project configures itself, once', () => {
    const layer = labelLayer({ services: { app: {} }, networks: { default: { driver: 'bridge' } } }, stamp);
    expect(layer.networks).toEqual({ default: labelled });
  });

  it('a project with only services gets its services and the default network', () => {
    expect(labelLayer({ services: { app: { image: 'x' } } }, stamp)).toEqual({
      services: { app: labelled },
      networks: { default: labelled },
    });
  });

  it('copes with missing or empty sections', () => {
    expect(labelLayer({}, stamp)).toEqual({ services: {}, networks: { default: labelled } });
    expect(labelLayer({ services: null, volumes: null, networks: undefined }, stamp)).toEqual({
      services: {},
      networks: { default: labelled },
    });
    expect(labelLayer({ services: {}, volumes: {}, networks: {} }, stamp)).toEqual({
      services: {},
      networks: { default: labelled },
    });
  });

  it('property: every name but the external ones is labelled, and nothing else is added', () => {
    const names = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), { maxLength: 5 });
    const entry = fc.oneof(
      fc.constant(null),
      fc.constant({}),
      fc.constant({ external: true }),
      fc.constant({ external: { name: 'x' } }),
      fc.constant({ driver: 'local' }),
    );
    const sectionOf = (e: fc.Arbitrary<unknown>) =>
      names.chain((ns) => fc.tuple(...ns.map(() => e)).map((es) => Object.fromEntries(ns.map((n, i) => [n, es[i]]))));
    const section = sectionOf(entry);
    const serviceSection = sectionOf(fc.constantFrom(null, {}, { image: 'x' }));
    const external = (v: unknown) => v !== null && typeof v === 'object' && 'external' in v;
    fc.assert(
      fc.property(serviceSection, section, section, (services, volumes, networks) => {
        const layer = labelLayer({ services, volumes, networks }, stamp) as Record<
          string,
          Record<string, unknown> | undefined
        >;
        expect(Object.keys(layer.services!).sort()).toEqual(Object.keys(services).sort());
        expect(Object.keys(layer.volumes ?? {}).sort()).toEqual(
          Object.keys(volumes)
            .filter((n) => !external(volumes[n]))
            .sort(),
        );
        const wantNets = new Set(Object.keys(networks).filter((n) => !external(networks[n])));
        if (!('default' in networks)) wantNets.add('default');
        expect(Object.keys(layer.networks ?? {}).sort()).toEqual([...wantNets].sort());
        for (const part of Object.values(layer)) for (const v of Object.values(part ?? {})) expect(v).toEqual(labelled);
      }),
      { numRuns: 300 },
    );
  });
});
