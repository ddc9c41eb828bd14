import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import {
  Tagged,
  labelLayer,
  layerText,
  renderedConfig,
  sandboxLayer,
  withMovedPorts,
} from '../../src/core/compose-layer.js';
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

describe('sandboxLayer, renderedConfig, withMovedPorts and layerText (issue 14)', () => {
  const remap = new Map([
    [8080, 8083],
    [5353, 5356],
    [9000, 9030],
    [9001, 9031],
  ]);

  describe('sandboxLayer', () => {
    it('moves host ports in a !override list in the short form, keeping host IPs, protocols and the rest', () => {
      const layer = sandboxLayer(
        {
          services: {
            web: {
              ports: [
                '127.0.0.1:8080:80',
                { target: 80, published: '8080', host_ip: '::1', protocol: 'tcp' },
                '[::1]:8080:80/tcp',
                '0.0.0.0:8080:80',
                '9229',
                { target: 9230 },
                '7000:7000',
              ],
            },
            dns: { ports: ['5353:53/udp', { target: 53, published: 5353, protocol: 'udp' }] },
          },
        },
        stamp,
        remap,
      );
      const services = layer.services as Record<string, Record<string, unknown>>;
      expect(services.web!.ports).toEqual(
        new Tagged('!override', [
          '127.0.0.1:8083:80/tcp',
          '[::1]:8083:80/tcp',
          '[::1]:8083:80/tcp',
          '0.0.0.0:8083:80/tcp',
          '9229',
          { target: 9230 },
          '7000:7000',
        ]),
      );
      expect(services.web!.ports).toBeInstanceOf(Tagged);
      expect(services.dns!.ports).toEqual(new Tagged('!override', ['5356:53/udp', '5356:53/udp']));
      expect(services.web!.labels).toEqual(stampLabels(stamp));
    });

    it('moves every port of a range, one entry each', () => {
      const layer = sandboxLayer({ services: { app: { ports: ['9000-9001:9000-9001'] } } }, stamp, remap);
      expect((layer.services as Record<string, Record<string, unknown>>).app!.ports).toEqual(
        new Tagged('!override', ['9030:9000/tcp', '9031:9001/tcp']),
      );
    });

    // BUG (minor): parsePortEntry reads every protocol but udp as tcp, so a moved SCTP port is written `/tcp` and the
    // sandbox publishes it on the wrong protocol.
    it('keeps an SCTP port SCTP when it moves', () => {
      const layer = sandboxLayer({ services: { sig: { ports: ['8080:80/sctp'] } } }, stamp, remap);
      expect((layer.services as Record<string, Record<string, unknown>>).sig!.ports).toEqual(
        new Tagged('!override', ['8083:80/sctp']),
      );
    });

    it('leaves a service whose ports do not move without ports in the layer', () => {
      const layer = sandboxLayer({ services: { db: { ports: ['5433:5432', 8000] } } }, stamp, remap);
      expect(layer.services).toEqual({ db: labelled });
    });

    it('resets container_name, even when it is empty', () => {
      const layer = sandboxLayer(
        { services: { db: { container_name: 'ktrdr-db' }, odd: { container_name: null }, app: {} } },
        stamp,
      );
      // A dropped name stays a network alias (other services may reach the container by it).
      expect(layer.services).toEqual({
        db: {
          ...labelled,
          container_name: new Tagged('!reset', null),
          networks: { default: { aliases: ['ktrdr-db'] } },
        },
        odd: { ...labelled, container_name: new Tagged('!reset', null) },
        app: labelled,
      });
    });

    it('gives fixed volume and network names the sandbox project, leaving external and own names alone', () => {
      const layer = sandboxLayer(
        {
          services: { app: {} },
          volumes: {
            data: { name: 'shared-data' },
            mine: { name: 'ktrdr--a_mine' },
            plain: {},
            ext: { external: true, name: 'global-data' },
          },
          networks: { back: { name: 'backplane' }, proxy: { external: true, name: 'traefik' } },
        },
        stamp,
      );
      expect(layer.volumes).toEqual({
        data: { ...labelled, name: 'ktrdr--a_data' },
        mine: labelled,
        plain: labelled,
      });
      expect(layer.networks).toEqual({ default: labelled, back: { ...labelled, name: 'ktrdr--a_back' } });
    });

    it('renames a volume named after the main checkout project too (Compose v2 prints every name)', () => {
      const layer = sandboxLayer({ services: {}, volumes: { data: { name: 'ktrdr_data' } } }, stamp);
      expect(layer.volumes).toEqual({ data: { ...labelled, name: 'ktrdr--a_data' } });
    });

    it('changes nothing in the configuration it is given', () => {
      const config = {
        services: { web: { container_name: 'w', ports: ['8080:80'] } },
        volumes: { data: { name: 'x' } },
      };
      const before = structuredClone(config);
      sandboxLayer(config, stamp, remap);
      expect(config).toEqual(before);
    });
  });

  describe('renderedConfig', () => {
    const config = {
      name: 'ktrdr',
      services: {
        web: {
          image: 'web',
          container_name: 'ktrdr-web',
          ports: [{ target: 80, published: '8080', host_ip: '127.0.0.1', protocol: 'tcp' }, '7000:7000'],
          labels: { 'com.example': 'x', 'dev.kinfra.owner': 'stale' },
        },
        worker: { image: 'w', labels: ['com.example=y', 'dev.kinfra.sandbox=stale'] },
        bare: { image: 'b' },
      },
      volumes: { data: { name: 'shared-data' }, models: null, ext: { external: true, name: 'global' } },
      networks: { back: { name: 'backplane', labels: { keep: '1' } }, proxy: { external: true } },
    };

    it('applies the layer to the whole configuration', () => {
      const out = renderedConfig(config, stamp, remap);
      const labels = stampLabels(stamp);
      expect(out).toEqual({
        services: {
          web: {
            image: 'web',
            ports: ['127.0.0.1:8083:80/tcp', '7000:7000'],
            labels: { 'com.example': 'x', ...labels },
            networks: { default: { aliases: ['ktrdr-web'] } },
          },
          worker: {
            image: 'w',
            labels: ['com.example=y', ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)],
          },
          bare: { image: 'b', labels },
        },
        volumes: {
          data: { name: 'ktrdr--a_data', labels },
          models: { labels },
          ext: { external: true, name: 'global' },
        },
        networks: {
          default: { labels },
          back: { name: 'ktrdr--a_back', labels: { keep: '1', ...labels } },
          proxy: { external: true },
        },
      });
      expect(out).not.toHaveProperty('name');
    });

    it('does not change the configuration it is given', () => {
      const before = structuredClone(config);
      renderedConfig(config, stamp, remap);
      expect(config).toEqual(before);
    });

    it("keeps the project's own default network, and an external default untouched", () => {
      const own = renderedConfig({ services: { a: {} }, networks: { default: { driver: 'bridge' } } }, stamp);
      expect(own.networks).toEqual({ default: { driver: 'bridge', labels: stampLabels(stamp) } });
      const ext = renderedConfig({ services: { a: {} }, networks: { default: { external: true, name: 'n' } } }, stamp);
      expect(ext.networks).toEqual({ default: { external: true, name: 'n' } });
    });

    it('adds no default network to a configuration without services', () => {
      expect(renderedConfig({ services: {} }, stamp)).toEqual({ services: {} });
    });

    it('leaves ports that do not move as they are', () => {
      const out = renderedConfig({ services: { a: { ports: ['5433:5432'] } } }, stamp, remap);
      expect((out.services as Record<string, Record<string, unknown>>).a!.ports).toEqual(['5433:5432']);
    });
  });

  describe('withMovedPorts', () => {
    it('moves the host ports and changes nothing else', () => {
      const config = {
        name: 'ktrdr',
        services: {
          web: { container_name: 'w', ports: ['[::1]:8080:80', '9229'], labels: { a: 'b' } },
          db: { ports: ['5433:5432'] },
        },
        volumes: { data: { name: 'fixed' } },
      };
      const before = structuredClone(config);
      const out = withMovedPorts(config, remap);
      expect(out).toEqual({
        ...config,
        services: { ...config.services, web: { ...config.services.web, ports: ['[::1]:8083:80/tcp', '9229'] } },
      });
      expect(config).toEqual(before);
    });

    it('is the configuration itself with nothing to move', () => {
      const config = { services: { web: { ports: ['8080:80'] } } };
      expect(withMovedPorts(config, new Map())).toBe(config);
    });
  });

  describe('layerText', () => {
    // The seq the !override tag marks arrives as a YAMLSeq: the tag keeps it as plain data.
    const customTags = [
      {
        tag: '!override',
        collection: 'seq' as const,
        resolve: (seq: { toJSON(): unknown }) => new Tagged('!override', seq.toJSON()),
      },
      { tag: '!reset', resolve: () => new Tagged('!reset', null) },
    ];
    const parseLayer = (text: string) => parseYaml(text, { customTags: customTags as never }) as unknown;

    it('writes the merge tags before the values they mark', () => {
      const text = layerText({
        services: { web: { container_name: new Tagged('!reset', null), ports: new Tagged('!override', ['1:2/tcp']) } },
      });
      expect(text).toBe('{"services": {"web": {"container_name": !reset null, "ports": !override ["1:2/tcp"]}}}');
    });

    it('writes plain data as JSON, undefined as null', () => {
      expect(layerText({ a: [1, 'x', true, null, undefined], 'b c': {} })).toBe(
        '{"a": [1, "x", true, null, null], "b c": {}}',
      );
      expect(layerText([])).toBe('[]');
      expect(layerText('quote " and \\ and\nnewline')).toBe(JSON.stringify('quote " and \\ and\nnewline'));
    });

    it('parses back as YAML to the layer, tags included, for a whole sandbox layer', () => {
      const layer = sandboxLayer(
        {
          services: { web: { container_name: 'w', ports: ['[::1]:8080:80', '9229', { target: 1 }] }, db: {} },
          volumes: { data: { name: 'fixed' } },
        },
        stamp,
        remap,
      );
      const parsed = parseLayer(layerText(layer)) as { services: Record<string, Record<string, unknown>> };
      const ports = parsed.services.web!.ports as Tagged;
      expect(ports).toBeInstanceOf(Tagged);
      expect(ports.tag).toBe('!override');
      expect(ports.value).toEqual(['[::1]:8083:80/tcp', '9229', { target: 1 }]);
      expect(parsed.services.web!.container_name).toEqual(new Tagged('!reset', null));
      const plain = (v: Record<string, unknown>) => {
        const { ports: _p, container_name: _c, ...rest } = v;
        return rest;
      };
      const want = layer.services as Record<string, Record<string, unknown>>;
      expect(plain(parsed.services.web!)).toEqual(plain(want.web!));
      expect(parsed.services.db).toEqual(want.db);
      expect((parsed as Record<string, unknown>).volumes).toEqual(layer.volumes);
      expect((parsed as Record<string, unknown>).networks).toEqual(layer.networks);
    });

    it('property: a layer of plain data reads back as itself', () => {
      const json = fc.jsonValue({ maxDepth: 3 });
      fc.assert(
        fc.property(json, (value) => {
          // -0 becomes 0 in JSON; compare as JSON sees the value.
          expect(parseYaml(layerText(value))).toEqual(JSON.parse(JSON.stringify(value)));
        }),
        { numRuns: 300 },
      );
    });
  });
});
