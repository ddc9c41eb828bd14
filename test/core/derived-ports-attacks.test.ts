// Adversarial review of the derived layout's pure modules (issue 14): inputs real compose files have.
import { describe, expect, it } from 'vitest';
import { derivePorts, remapTable, type PublishedEntry } from '../../src/core/derived-ports.js';
import { publishedEntries } from '../../src/core/compose-model.js';
import { sandboxLayer, withMovedPorts } from '../../src/core/compose-layer.js';
import { portEnv } from '../../src/core/ports.js';
import type { Stamp } from '../../src/core/ownership.js';

const stamp: Stamp = { owner: 'reg-7f3a', sandbox: 'app--a', path: '/home/dev/src/app--a' };

const entry = (service: string, host: number, more: Partial<PublishedEntry> = {}): PublishedEntry => ({
  service,
  host,
  container: 80,
  protocol: 'tcp',
  hostIp: undefined,
  ...more,
});

describe('derivePorts under attack', () => {
  // BUG: two services sharing one generic variable with different defaults (`${PORT:-8080}` in web, `${PORT:-9090}`
  // in admin: a monorepo habit) become two derived ports that both set PORT. The sandbox can set PORT to only one
  // value, so web and admin publish the same host port (compose up fails) and .env.sandbox holds PORT twice.
  it('never derives two ports that set the same variable', () => {
    const { ports } = derivePorts(
      [entry('web', 8080, { variable: 'PORT' }), entry('admin', 9090, { variable: 'PORT' })],
      [],
      10,
    );
    const envs = ports.map((p) => p.env);
    expect(new Set(envs).size).toBe(envs.length);
    // And slot 1's values, as the sandbox's environment gives them, are two different host ports.
    expect(Object.keys(portEnv(ports, 1))).toHaveLength(2);
  });

  // BUG: `8000-8002:80` is Compose's "one host port out of this range for container port 80"; publishedEntries
  // expands it into three ports of container 80, and the layer rewrites it to three fixed mappings, so each sandbox
  // publishes container port 80 three times (and three slot ports are spent on it) where the main checkout
  // publishes it once.
  // Left (issue 14 note): a host range onto one container port becomes one mapping per host port.
  it.fails('keeps a host range for one container port one mapping in the sandbox', () => {
    const config = {
      services: {
        web: { image: 'nginx', ports: [{ mode: 'ingress', target: 80, published: '8000-8002', protocol: 'tcp' }] },
      },
    };
    const derived = derivePorts(publishedEntries(config), [], 10).ports;
    const remap = remapTable(
      derived,
      Object.fromEntries(Object.entries(portEnv(derived, 1)).map(([k, v]) => [k, String(v)])),
    );
    const moved = withMovedPorts(config, remap).services as Record<string, { ports: unknown[] }>;
    expect(moved.web!.ports).toHaveLength(1);
  });
});

describe('publishedEntries under attack', () => {
  // BUG: a port variable the service also reads itself (`PORT: ${PORT:-3000}` in environment, `${PORT:-3000}:3000`
  // in ports: the usual Node/Rails habit) is taken as "kinfra sets PORT". In the sandbox PORT=3001 then also moves
  // the port the app listens on inside the container to 3001 while the mapping still targets 3000: the sandbox's
  // app is unreachable. Such a variable must not be the slot port's; the layer should move the host side instead.
  it('does not take over a port variable the container reads as its own listening port', () => {
    const config = {
      services: {
        app: {
          image: 'node',
          environment: { PORT: '3000' },
          ports: [{ mode: 'ingress', target: 3000, published: '3000', protocol: 'tcp' }],
        },
      },
    };
    const raw = {
      services: { app: { image: 'node', environment: { PORT: '${PORT:-3000}' }, ports: ['${PORT:-3000}:3000'] } },
    };
    const entries = publishedEntries(config, raw);
    expect(entries[0]).toMatchObject({ variable: 'PORT', readElsewhere: true });
    // The variable stays the app's: kinfra names its own and the layer moves the host side.
    expect(derivePorts(entries, [], 10).ports[0]).toMatchObject({ env: 'KINFRA_PORT_APP', variable: false });
  });
});

describe('sandboxLayer under attack', () => {
  // BUG: container_name is dropped (`!reset`), and verify calls that "nothing to do", but on a user-defined network
  // the container name is a DNS name other services use (`DATABASE_URL=postgres://mydb:5432`): in every sandbox
  // `mydb` no longer resolves. The layer should keep the name reachable inside the sandbox's own networks (a network
  // alias is scoped to the sandbox's network, so copies do not clash).
  it("keeps a dropped container_name reachable as a network alias in the sandbox's own networks", () => {
    const layer = sandboxLayer(
      {
        services: {
          db: { image: 'postgres', container_name: 'mydb', networks: { default: null } },
          app: { image: 'app', environment: { DATABASE_URL: 'postgres://mydb:5432/app' }, networks: { default: null } },
        },
        networks: { default: { name: 'x_default' } },
      },
      stamp,
    );
    const db = (layer.services as Record<string, { networks?: Record<string, { aliases?: string[] }> }>).db!;
    expect(db.networks?.default?.aliases ?? []).toContain('mydb');
  });
});
