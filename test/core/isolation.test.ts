import { describe, expect, it } from 'vitest';
import { isolationFindings, type IsolationFinding } from '../../src/core/isolation.js';

const brief = (fs: IsolationFinding[]) => fs.map((f) => [f.severity, f.service]);

describe('isolationFindings', () => {
  it('finds nothing in a plain project', () => {
    expect(
      isolationFindings(
        {
          services: { api: { image: 'app', ports: ['8000:8000'], networks: { default: null } } },
          volumes: { data: {} },
          networks: { default: {} },
        },
        'ktrdr',
      ),
    ).toEqual([]);
  });

  it('warns about a service on the host network', () => {
    const fs = isolationFindings({ services: { api: { network_mode: 'host' }, b: { network_mode: 'bridge' } } }, 'p');
    expect(brief(fs)).toEqual([['warning', 'api']]);
    expect(fs[0]!.message).toContain('network_mode: host');
    expect(fs[0]!.fix).toContain('ports:');
  });

  it('tells about a container_name, which each sandbox drops', () => {
    const fs = isolationFindings({ services: { db: { container_name: 'ktrdr-db' } } }, 'p');
    expect(brief(fs)).toEqual([['info', 'db']]);
    expect(fs[0]!.message).toContain('ktrdr-db');
  });

  it('takes a fixed address on a network for an error, IPv4 or IPv6', () => {
    const fs = isolationFindings(
      {
        services: {
          a: { networks: { back: { ipv4_address: '172.28.0.5' } } },
          b: { networks: { back: { ipv6_address: 'fd00::5' }, front: { aliases: ['b'] } } },
          c: { networks: ['back'] },
          d: { networks: { back: null } },
        },
      },
      'p',
    );
    expect(brief(fs)).toEqual([
      ['error', 'a'],
      ['error', 'b'],
    ]);
    expect(fs[0]!.message).toContain('172.28.0.5');
    expect(fs[0]!.message).toContain('back');
    expect(fs[1]!.message).toContain('fd00::5');
  });

  it('warns about external volumes and networks, in both spellings, and says nothing more of them', () => {
    const fs = isolationFindings(
      {
        volumes: { shared: { external: true, name: 'shared-data' }, legacy: { external: { name: 'old' } } },
        networks: {
          proxy: { external: true, name: 'traefik', ipam: { config: [{ subnet: '10.5.0.0/16' }] } },
        },
      },
      'p',
    );
    expect(brief(fs)).toEqual([
      ['warning', 'volume shared'],
      ['warning', 'volume legacy'],
      ['warning', 'network proxy'],
    ]);
    expect(fs[0]!.message).toContain('shared-data');
    expect(fs[2]!.message).toContain('traefik');
  });

  it('does not warn about external: false', () => {
    expect(isolationFindings({ volumes: { v: { external: false } } }, 'p')).toEqual([]);
  });

  it('tells about fixed volume and network names, but not the ones Compose gives the project itself', () => {
    const fs = isolationFindings(
      {
        volumes: { data: { name: 'shared-data' }, own: { name: 'ktrdr_own' }, plain: {} },
        networks: { back: { name: 'backplane' }, default: { name: 'ktrdr_default' } },
      },
      'ktrdr',
    );
    expect(brief(fs)).toEqual([
      ['info', 'volume data'],
      ['info', 'network back'],
    ]);
    expect(fs[0]!.message).toContain('shared-data');
  });

  it('tells about no fixed names when it does not know the project', () => {
    expect(isolationFindings({ volumes: { data: { name: 'shared-data' } } }, '')).toEqual([]);
  });

  it('takes a fixed subnet for an error, naming every subnet, on networks only', () => {
    const fs = isolationFindings(
      {
        networks: {
          back: { ipam: { config: [{ subnet: '172.28.0.0/16' }, { subnet: 'fd00::/64' }, { gateway: 'x' }] } },
          auto: { ipam: { driver: 'default' } },
          empty: { ipam: { config: [] } },
        },
        volumes: { odd: { ipam: { config: [{ subnet: '10.0.0.0/8' }] } } },
      },
      'p',
    );
    expect(brief(fs)).toEqual([['error', 'network back']]);
    expect(fs[0]!.message).toContain('172.28.0.0/16, fd00::/64');
  });

  it('gives both findings for a fixed name with a fixed subnet', () => {
    const fs = isolationFindings(
      { networks: { back: { name: 'backplane', ipam: { config: [{ subnet: '10.9.0.0/16' }] } } } },
      'p',
    );
    expect(brief(fs)).toEqual([
      ['info', 'network back'],
      ['error', 'network back'],
    ]);
  });

  it('gives every finding a message and a fix', () => {
    const fs = isolationFindings(
      {
        services: { a: { network_mode: 'host', container_name: 'a', networks: { n: { ipv4_address: '1.2.3.4' } } } },
        volumes: { v: { external: true }, w: { name: 'w' } },
        networks: { n: { ipam: { config: [{ subnet: '10.0.0.0/8' }] } } },
      },
      'p',
    );
    expect(fs).toHaveLength(6);
    for (const f of fs) {
      expect(f.message.length).toBeGreaterThan(0);
      expect(f.fix.length).toBeGreaterThan(0);
    }
  });

  it.each([null, undefined, 'text', 7, {}, { services: null, volumes: 'x', networks: [] }])(
    '%j has no findings',
    (config) => {
      expect(isolationFindings(config, 'p')).toEqual([]);
    },
  );
});
