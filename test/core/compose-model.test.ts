import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  parsePortEntry,
  publishedEntries,
  serviceOfPort,
  stackModel,
  type PublishedPort,
} from '../../src/core/compose-model.js';

const tcp = (host: number, container: number | undefined, hostIp?: string): PublishedPort => ({
  host,
  container,
  protocol: 'tcp',
  hostIp,
});

describe('parsePortEntry: Compose v2 long form', () => {
  it('reads published as a string, as Compose v2 prints it', () => {
    expect(
      parsePortEntry({ mode: 'ingress', host_ip: '127.0.0.1', target: 8000, published: '8001', protocol: 'tcp' }),
    ).toEqual([tcp(8001, 8000, '127.0.0.1')]);
  });

  it('reads published as a number (v1) and target as a string', () => {
    expect(parsePortEntry({ target: '5432', published: 5433 })).toEqual([tcp(5433, 5432)]);
  });

  it('reads udp and sctp, and takes anything else for tcp', () => {
    expect(parsePortEntry({ target: 53, published: '5353', protocol: 'udp' })).toEqual([
      { host: 5353, container: 53, protocol: 'udp', hostIp: undefined },
    ]);
    expect(parsePortEntry({ target: 80, published: '8080', protocol: 'sctp' })[0]!.protocol).toBe('sctp');
    expect(parsePortEntry({ target: 80, published: '8080', protocol: 'quic' })[0]!.protocol).toBe('tcp');
  });

  it('an empty host_ip is no host ip', () => {
    expect(parsePortEntry({ target: 80, published: '8080', host_ip: '' })).toEqual([tcp(8080, 80)]);
  });

  it('expands a published range, each on the same target', () => {
    expect(parsePortEntry({ target: 9000, published: '9000-9002' })).toEqual([
      tcp(9000, 9000),
      tcp(9001, 9000),
      tcp(9002, 9000),
    ]);
  });

  it.each([
    ['no published port', { target: 8000 }],
    ['an empty published port', { target: 8000, published: '' }],
    ['published 0', { target: 8000, published: 0 }],
    ['published out of range', { target: 8000, published: 70000 }],
    ['a fractional published port', { target: 8000, published: 80.5 }],
    ['a published string that is no number', { target: 8000, published: 'http' }],
  ])('%s publishes nothing', (_label, entry) => {
    expect(parsePortEntry(entry)).toEqual([]);
  });

  it('an unreadable target is an unknown container port', () => {
    expect(parsePortEntry({ published: '8001', target: 'x' })).toEqual([tcp(8001, undefined)]);
  });
});

describe('parsePortEntry: v1 short form', () => {
  it.each<[string, PublishedPort[]]>([
    ['127.0.0.1:8001:8000/tcp', [tcp(8001, 8000, '127.0.0.1')]],
    ['127.0.0.1:8001:8000', [tcp(8001, 8000, '127.0.0.1')]],
    ['0.0.0.0:5433:5432', [tcp(5433, 5432, '0.0.0.0')]],
    ['8001:8000', [tcp(8001, 8000)]],
    [' 8001:8000 ', [tcp(8001, 8000)]],
    [':8001:8000', [tcp(8001, 8000)]],
    ['[::1]:8001:8000', [tcp(8001, 8000, '::1')]],
    ['[fe80::1%eth0]:8001:8000/tcp', [tcp(8001, 8000, 'fe80::1%eth0')]],
    ['5353:53/udp', [{ host: 5353, container: 53, protocol: 'udp', hostIp: undefined }]],
    ['[::]:5353:53/udp', [{ host: 5353, container: 53, protocol: 'udp', hostIp: '::' }]],
  ])('%j', (entry, expected) => {
    expect(parsePortEntry(entry)).toEqual(expected);
  });

  it('expands ranges pairwise: 9000-9001:9000-9001/udp', () => {
    expect(parsePortEntry('9000-9001:9000-9001/udp')).toEqual([
      { host: 9000, container: 9000, protocol: 'udp', hostIp: undefined },
      { host: 9001, container: 9001, protocol: 'udp', hostIp: undefined },
    ]);
    expect(parsePortEntry('127.0.0.1:7000-7002:8000-8002')).toEqual([
      tcp(7000, 8000, '127.0.0.1'),
      tcp(7001, 8001, '127.0.0.1'),
      tcp(7002, 8002, '127.0.0.1'),
    ]);
  });

  it('a host range onto one container port maps every host port to it', () => {
    expect(parsePortEntry('9000-9001:80')).toEqual([tcp(9000, 80), tcp(9001, 80)]);
  });

  it.each([
    ['a container-only string', '8000'],
    ['a container-only string with protocol', '8000/udp'],
    ['a container-only range', '9000-9005'],
    ['an ip with a random host port', '127.0.0.1::8000'],
    ['an unbracketed IPv6 address', '::1:8001:8000'],
    ['a backwards range', '9001-9000:9000'],
    ['a range over 1000 ports', '1000-2001:1000-2001'],
    ['host port 0', '0:8000'],
    ['an interpolation left in', '${PORT}:8000'],
    ['an empty string', ''],
  ])('%s publishes no fixed host port', (_label, entry) => {
    expect(parsePortEntry(entry)).toEqual([]);
  });

  it('a container-only number publishes nothing', () => {
    expect(parsePortEntry(8000)).toEqual([]);
  });

  it.each([null, undefined, true, [8001, 8000]])('%j is no port entry', (entry) => {
    expect(parsePortEntry(entry)).toEqual([]);
  });

  it('property: [ip:]host:container[/proto] parses back to its values', () => {
    const ip = fc.option(
      fc.oneof(
        fc.ipV4(),
        fc.ipV6().map((v) => `[${v}]`),
      ),
      { nil: undefined },
    );
    const port = fc.integer({ min: 1, max: 65535 });
    const proto = fc.option(fc.constantFrom('tcp' as const, 'udp' as const), { nil: undefined });
    fc.assert(
      fc.property(ip, port, port, proto, (hostIp, host, container, protocol) => {
        const at = hostIp === undefined ? '' : `${hostIp}:`;
        const entry = `${at}${host}:${container}${protocol ? `/${protocol}` : ''}`;
        expect(parsePortEntry(entry)).toEqual([
          { host, container, protocol: protocol ?? 'tcp', hostIp: hostIp?.replace(/^\[|\]$/g, '') },
        ]);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: the long form with published as a string or a number reads the same', () => {
    const port = fc.integer({ min: 1, max: 65535 });
    fc.assert(
      fc.property(port, port, (published, target) => {
        expect(parsePortEntry({ target, published: String(published) })).toEqual(parsePortEntry({ target, published }));
        expect(parsePortEntry({ target, published })).toEqual(parsePortEntry(`${published}:${target}`));
      }),
    );
  });
});

describe('stackModel', () => {
  it('lists every service with the host ports it publishes, in either form', () => {
    const stack = stackModel({
      name: 'ktrdr--a',
      services: {
        backend: {
          image: 'app',
          ports: [{ target: 8000, published: '8001', host_ip: '127.0.0.1', protocol: 'tcp' }, 9229],
        },
        db: { image: 'postgres', ports: ['127.0.0.1:5433:5432'] },
        worker: { image: 'app' },
        sidecar: null,
      },
    });
    expect(stack).toEqual({
      services: [
        { name: 'backend', ports: [tcp(8001, 8000, '127.0.0.1')] },
        { name: 'db', ports: [tcp(5433, 5432, '127.0.0.1')] },
        { name: 'worker', ports: [] },
        { name: 'sidecar', ports: [] },
      ],
    });
  });

  it('a ports key that is not a list publishes nothing', () => {
    expect(stackModel({ services: { a: { ports: '8001:8000' } } })).toEqual({ services: [{ name: 'a', ports: [] }] });
  });

  it.each([null, undefined, {}, { services: null }, 'text'])('%j has no services', (config) => {
    expect(stackModel(config)).toEqual({ services: [] });
  });
});

describe('serviceOfPort', () => {
  const stack = stackModel({
    services: {
      backend: { ports: ['8001:8000'] },
      jaeger: { ports: ['16687:16686', '4327:4317', '4328:4318'] },
      dup: { ports: ['8001:80'] },
      workers: { ports: ['5010-5013:5000-5003'] },
    },
  });

  it('names the service that publishes the host port', () => {
    expect(serviceOfPort(stack, 4328)).toBe('jaeger');
    expect(serviceOfPort(stack, 5012)).toBe('workers');
  });

  it('takes the first service when two publish it', () => {
    expect(serviceOfPort(stack, 8001)).toBe('backend');
  });

  it('matches host ports, never container ports', () => {
    expect(serviceOfPort(stack, 8000)).toBeUndefined();
    expect(serviceOfPort(stack, 16686)).toBeUndefined();
  });

  it('is undefined for a port nobody publishes, or an empty stack', () => {
    expect(serviceOfPort(stack, 1)).toBeUndefined();
    expect(serviceOfPort({ services: [] }, 8001)).toBeUndefined();
  });
});

describe('publishedEntries', () => {
  const effective = {
    services: {
      web: {
        ports: [
          { target: 80, published: '8080', protocol: 'tcp' },
          { target: 443, published: '8443', host_ip: '127.0.0.1', protocol: 'tcp' },
        ],
      },
      db: { ports: [{ target: 5432, published: '5433', protocol: 'tcp' }] },
      dns: { ports: [{ target: 53, published: '5353', protocol: 'udp' }] },
    },
  };

  it('gives every published port its service, and no variable without the raw configuration', () => {
    expect(publishedEntries(effective)).toEqual([
      { ...tcp(8080, 80), service: 'web', variable: undefined, readElsewhere: false },
      { ...tcp(8443, 443, '127.0.0.1'), service: 'web', variable: undefined, readElsewhere: false },
      { ...tcp(5433, 5432), service: 'db', variable: undefined, readElsewhere: false },
      {
        host: 5353,
        container: 53,
        protocol: 'udp',
        hostIp: undefined,
        service: 'dns',
        variable: undefined,
        readElsewhere: false,
      },
    ]);
  });

  it('finds the variables of the uninterpolated configuration, short and long form, by container port', () => {
    const raw = {
      services: {
        // Listed in another order than the effective ports: matched by container port, not by position.
        web: { ports: ['127.0.0.1:${HTTPS_PORT:-8443}:443', { target: 80, published: '${WEB_PORT:-8080}' }] },
        db: { ports: ['$DB_PORT:5432/tcp'] },
        dns: { ports: ['${DNS_PORT}:53/udp'] },
      },
    };
    expect(publishedEntries(effective, raw).map((e) => [e.service, e.host, e.variable])).toEqual([
      ['web', 8080, 'WEB_PORT'],
      ['web', 8443, 'HTTPS_PORT'],
      ['db', 5433, 'DB_PORT'],
      ['dns', 5353, 'DNS_PORT'],
    ]);
  });

  it('finds no variable for literal ports, or a variable elsewhere than the host port', () => {
    const raw = {
      services: {
        web: { ports: ['8080:80', '${HOST_IP:-127.0.0.1}:8443:443'] },
        db: { ports: [{ target: 5432, published: 5433 }] },
        dns: { ports: ['5353:${DNS_INNER:-53}/udp'] },
      },
    };
    expect(publishedEntries(effective, raw).map((e) => e.variable)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('copes with a raw configuration that lacks the service or its ports, or is no configuration', () => {
    for (const raw of [{ services: { web: {} } }, { services: { web: { ports: 'x' } } }, null, 'text', {}]) {
      expect(publishedEntries(effective, raw).map((e) => e.variable)).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
    }
  });

  it('publishes nothing for a service on the host network', () => {
    const config = {
      services: {
        api: { network_mode: 'host', ports: [{ target: 8000, published: '8000' }] },
        web: { network_mode: 'bridge', ports: ['8080:80'] },
      },
    };
    expect(publishedEntries(config).map((e) => [e.service, e.host])).toEqual([['web', 8080]]);
  });

  it('expands a range, each port with its own container port', () => {
    const config = { services: { sip: { ports: ['10000-10002:10000-10002/udp'] } } };
    expect(publishedEntries(config).map((e) => [e.host, e.container, e.protocol])).toEqual([
      [10000, 10000, 'udp'],
      [10001, 10001, 'udp'],
      [10002, 10002, 'udp'],
    ]);
  });

  // BUG (likely): a variable that holds a whole range (`${SIP_PORTS:-10000-10002}:10000-10002/udp`) is given to the
  // range's first port alone (matched by the first container port), so derivePorts makes SIP_PORTS a one-port
  // variable and a sandbox sets it to one number: Compose then reads `10030:10000-10002/udp`. A range variable
  // cannot carry a slot value; it should be left to the layer like a literal range.
  it('does not give a range variable to one port of the range', () => {
    const config = { services: { sip: { ports: ['10000-10002:10000-10002/udp'] } } };
    const raw = { services: { sip: { ports: ['${SIP_PORTS:-10000-10002}:10000-10002/udp'] } } };
    expect(publishedEntries(config, raw).map((e) => e.variable)).toEqual([undefined, undefined, undefined]);
  });

  // BUG: the variable is matched by container port alone, so a literal port on the same container port as a
  // variable one inherits the variable: here 8001 is taken for API_PORT too, and derivePorts then gives both
  // host ports the one variable (findPortProblems: "both use the variable API_PORT").
  it('gives a literal port no variable when another port of the service on the same container has one', () => {
    const config = {
      services: {
        api: {
          ports: [
            { target: 8000, published: '8000' },
            { target: 8000, published: '8001' },
          ],
        },
      },
    };
    const raw = { services: { api: { ports: ['${API_PORT:-8000}:8000', '8001:8000'] } } };
    expect(publishedEntries(config, raw).map((e) => [e.host, e.variable])).toEqual([
      [8000, 'API_PORT'],
      [8001, undefined],
    ]);
  });
});
