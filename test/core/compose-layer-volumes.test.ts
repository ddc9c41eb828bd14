// A database switched to another engine volume (a clone, a restore): the registry names the live one, and the
// generated layer, in both its forms, gives that name to the project's volume key, so Compose mounts it.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { layerText, renderedConfig, sandboxLayer, type EffectiveConfig } from '../../src/core/compose-layer.js';
import { stampLabels, type Stamp } from '../../src/core/ownership.js';

const stamp: Stamp = { owner: 'reg-7f3a', sandbox: 'ktrdr--a', path: '/home/dev/src/ktrdr--a' };
const labels = stampLabels(stamp);
const CLONE = 'ktrdr--a_db-data-clone-20261201t213000-k3j9';
const switched = new Map([['db-data', CLONE]]);

/** A ktrdr-like stack: a database on `db-data`, models on their own volume, one external volume, one network. */
function config(): EffectiveConfig {
  return {
    name: 'ktrdr--a',
    services: {
      db: {
        image: 'postgres:16',
        volumes: [{ type: 'volume', source: 'db-data', target: '/var/lib/postgresql/data' }],
      },
      backend: { image: 'ktrdr-backend', volumes: [{ type: 'volume', source: 'models', target: '/app/models' }] },
    },
    volumes: {
      'db-data': { name: 'ktrdr--a_db-data', labels: { 'com.example.keep': 'yes' } },
      models: { name: 'ktrdr--a_models', driver: 'local' },
      shared: { external: true, name: 'ktrdr-shared-cache' },
    },
    networks: { backplane: { name: 'ktrdr--a_backplane' } },
  };
}

type Volumes = Record<string, Record<string, unknown>>;

describe('sandboxLayer with the registry’s volume names', () => {
  it('names the switched database volume, labels kept, and leaves the other volumes as they were', () => {
    const layer = sandboxLayer(config(), stamp, new Map(), switched);
    expect(layer.volumes).toEqual({ 'db-data': { labels, name: CLONE }, models: { labels } });
  });

  it('gives the same layer as without the map when the map is empty', () => {
    expect(sandboxLayer(config(), stamp, new Map(), new Map())).toEqual(sandboxLayer(config(), stamp));
  });

  it('lets the registry’s name win over the sandbox name a fixed `name:` would be given', () => {
    const fixed: EffectiveConfig = {
      services: { db: { image: 'postgres:16' } },
      volumes: { 'db-data': { name: 'ktrdr_pgdata' }, cache: { name: 'ktrdr_cache' } },
    };
    expect(sandboxLayer(fixed, stamp).volumes).toEqual({
      'db-data': { labels, name: 'ktrdr--a_db-data' },
      cache: { labels, name: 'ktrdr--a_cache' },
    });
    expect(sandboxLayer(fixed, stamp, new Map(), switched).volumes).toEqual({
      'db-data': { labels, name: CLONE },
      cache: { labels, name: 'ktrdr--a_cache' },
    });
  });

  it('names a volume the project declares with no settings at all (`db-data:` in YAML)', () => {
    const bare: EffectiveConfig = { services: { db: {} }, volumes: { 'db-data': null } };
    expect(sandboxLayer(bare, stamp, new Map(), switched).volumes).toEqual({ 'db-data': { labels, name: CLONE } });
  });

  it('adds no volume the project does not define, and renames no external one', () => {
    const layer = sandboxLayer(
      config(),
      stamp,
      new Map(),
      new Map([
        ['pgdata-gone', 'ktrdr--a_pgdata-gone-clone'],
        ['shared', 'ktrdr--a_shared-clone'],
      ]),
    );
    expect(layer.volumes).toEqual({ 'db-data': { labels }, models: { labels } });
  });

  it('does not rename a network that shares the volume’s key', () => {
    const same: EffectiveConfig = { services: { db: {} }, volumes: { 'db-data': {} }, networks: { 'db-data': {} } };
    const layer = sandboxLayer(same, stamp, new Map(), switched);
    expect(layer.volumes).toEqual({ 'db-data': { labels, name: CLONE } });
    expect(layer.networks).toEqual({ default: { labels }, 'db-data': { labels } });
  });

  it('writes the name into the layer’s text, where Compose reads it', () => {
    const text = layerText(sandboxLayer(config(), stamp, new Map([[8000, 8003]]), switched));
    expect((parseYaml(text) as { volumes: Volumes }).volumes['db-data']).toEqual({ labels, name: CLONE });
  });
});

describe('renderedConfig with the registry’s volume names', () => {
  it('names the switched database volume, its own labels and the sandbox’s kept, the others unchanged', () => {
    const out = renderedConfig(config(), stamp, new Map(), switched);
    expect(out.volumes).toEqual({
      'db-data': { name: CLONE, labels: { 'com.example.keep': 'yes', ...labels } },
      models: { name: 'ktrdr--a_models', driver: 'local', labels },
      shared: { external: true, name: 'ktrdr-shared-cache' },
    });
  });

  it('keeps the services’ mounts on the volume key: only the key’s top-level name changes', () => {
    const out = renderedConfig(config(), stamp, new Map(), switched);
    expect((out.services as Record<string, { volumes: unknown }>).db!.volumes).toEqual([
      { type: 'volume', source: 'db-data', target: '/var/lib/postgresql/data' },
    ]);
  });

  it('lets the registry’s name win over the sandbox name a fixed `name:` would be given', () => {
    const fixed: EffectiveConfig = {
      services: { db: {} },
      volumes: { 'db-data': { name: 'ktrdr_pgdata' }, cache: { name: 'ktrdr_cache' } },
    };
    expect(renderedConfig(fixed, stamp).volumes).toEqual({
      'db-data': { name: 'ktrdr--a_db-data', labels },
      cache: { name: 'ktrdr--a_cache', labels },
    });
    expect(renderedConfig(fixed, stamp, new Map(), switched).volumes).toEqual({
      'db-data': { name: CLONE, labels },
      cache: { name: 'ktrdr--a_cache', labels },
    });
  });

  it('keeps a volume’s list of labels, replacing only kinfra’s own', () => {
    const listed: EffectiveConfig = {
      services: { db: {} },
      volumes: { 'db-data': { labels: ['com.example.keep=yes', 'dev.kinfra.sandbox=old'] } },
    };
    const out = renderedConfig(listed, stamp, new Map(), switched);
    expect((out.volumes as Volumes)['db-data']).toEqual({
      name: CLONE,
      labels: ['com.example.keep=yes', ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)],
    });
  });

  it('names a volume the project declares with no settings at all (`db-data:` in YAML)', () => {
    const out = renderedConfig({ services: { db: {} }, volumes: { 'db-data': null } }, stamp, new Map(), switched);
    expect(out.volumes).toEqual({ 'db-data': { name: CLONE, labels } });
  });

  it('adds no volume the project does not define, renames no external one, and no network of the same key', () => {
    const cfg: EffectiveConfig = { ...config(), networks: { 'db-data': {} } };
    const out = renderedConfig(
      cfg,
      stamp,
      new Map(),
      new Map([
        ['pgdata-gone', 'x'],
        ['shared', 'y'],
        ['db-data', CLONE],
      ]),
    );
    expect(Object.keys(out.volumes ?? {}).sort()).toEqual(['db-data', 'models', 'shared']);
    expect((out.volumes as Volumes).shared).toEqual({ external: true, name: 'ktrdr-shared-cache' });
    expect(out.networks).toEqual({ default: { labels }, 'db-data': { labels } });
  });

  it('leaves the configuration it is given alone', () => {
    const cfg = config();
    const before = structuredClone(cfg);
    renderedConfig(cfg, stamp, new Map(), switched);
    expect(cfg).toEqual(before);
  });

  it('gives the switched volume the same name in both forms', () => {
    const layer = sandboxLayer(config(), stamp, new Map(), switched) as { volumes: Volumes };
    const out = renderedConfig(config(), stamp, new Map(), switched) as { volumes: Volumes };
    expect(out.volumes['db-data']!.name).toBe(CLONE);
    expect(layer.volumes['db-data']!.name).toBe(CLONE);
    expect(layer.volumes.models!.name).toBeUndefined();
    expect(out.volumes.models!.name).toBe('ktrdr--a_models');
  });
});
