import { describe, expect, it } from 'vitest';
import { builtInConfig } from '../../src/core/config/config.js';
import type { PublishedPort } from '../../src/core/compose-model.js';
import { storedDerived, withDerivedPorts } from '../../src/core/derived-ports.js';
import {
  clearFocus,
  describeFocusPort,
  focusOf,
  focusPorts,
  focusTarget,
  forwarderVerdict,
  protocolsOf,
  setFocus,
  type FocusRecord,
} from '../../src/core/focus.js';
import { portsForSlot } from '../../src/core/ports.js';
import { emptyRegistry, formatRegistry, parseRegistryText, type Registry } from '../../src/core/registry/model.js';
import { parsePythonRegistry } from '../../src/core/registry/python.js';

const published = (host: number, protocol: PublishedPort['protocol']): PublishedPort => ({
  host,
  container: 53,
  protocol,
  hostIp: undefined,
});

describe('focus ports: slot 0 of the layout to the sandbox', () => {
  it("maps every port of the built-in layout at slot 0 to the sandbox's port of the same name", () => {
    const plan = builtInConfig().ports;
    const ports = focusPorts(plan, portsForSlot(plan, 2), []);
    expect(ports.map((p) => [p.name, p.from, p.to])).toEqual([
      ['api', 8000, 8002],
      ['db', 5432, 5434],
      ['grafana', 3000, 3002],
      ['jaeger_ui', 16686, 16688],
      ['jaeger_otlp_grpc', 4317, 4337],
      ['jaeger_otlp_http', 4318, 4338],
      ['prometheus', 9090, 9092],
      // Workers at slot 0 are the main checkout's own (`main`), not base + 0.
      ['worker_1', 5003, 5020],
      ['worker_2', 5004, 5021],
      ['worker_3', 5005, 5022],
      ['worker_4', 5006, 5023],
    ]);
    expect(ports.every((p) => p.protocols.join() === 'tcp')).toBe(true);
  });

  it('a derived port forwards from the port as the main checkout publishes it', () => {
    const derived = storedDerived({ web: { env: 'KINFRA_PORT_WEB', base: 46080, step: 7, service: 'web' } });
    const config = withDerivedPorts({ ports: [] as ReturnType<typeof builtInConfig>['ports'] }, derived);
    expect(focusPorts(config.ports, portsForSlot(config.ports, 3), [])).toEqual([
      { name: 'web', from: 46080, to: 46101, protocols: ['tcp'] },
    ]);
  });

  it("UDP where the sandbox's compose file publishes the port as udp, both when it publishes both", () => {
    expect(protocolsOf([published(5301, 'udp')], 5301)).toEqual(['udp']);
    expect(protocolsOf([published(5301, 'udp'), published(5301, 'tcp')], 5301)).toEqual(['tcp', 'udp']);
    expect(protocolsOf([published(5301, 'sctp')], 5301)).toEqual(['tcp']);
    expect(protocolsOf([published(5302, 'udp')], 5301)).toEqual(['tcp']);
    const plan = [{ name: 'dns', env: 'DNS_PORT', base: 5300, step: 1 }];
    expect(focusPorts(plan, portsForSlot(plan, 1), [published(5301, 'udp')])).toEqual([
      { name: 'dns', from: 5300, to: 5301, protocols: ['udp'] },
    ]);
  });

  it("leaves out ports the sandbox lacks and ports already at the main checkout's value", () => {
    const plan = [
      { name: 'api', env: 'A', base: 100, step: 1 },
      { name: 'db', env: 'B', base: 200, step: 1 },
    ];
    expect(focusPorts(plan, [{ name: 'api', env: 'A', port: 101 }], []).map((p) => p.name)).toEqual(['api']);
    expect(focusPorts(plan, portsForSlot(plan, 0), [])).toEqual([]);
  });

  it('describes a port as from -> to (name), UDP said', () => {
    expect(describeFocusPort({ name: 'api', from: 8000, to: 8001, protocols: ['tcp'] })).toBe('8000 -> 8001 (api)');
    expect(describeFocusPort({ name: 'dns', from: 53, to: 54, protocols: ['tcp', 'udp'] })).toBe(
      '53 -> 54 (dns, tcp+udp)',
    );
  });
});

const record: FocusRecord = {
  instance: 'k--a',
  pid: 4242,
  since: '2026-12-01T16:00:00.000Z',
  slot: 1,
  ports: [
    { name: 'api', from: 8000, to: 8001, protocols: ['tcp'] },
    { name: 'db', from: 5432, to: 5433, protocols: ['tcp'] },
  ],
};

function registryWith(ports: Record<string, number> | undefined, slot = 1): Registry {
  const r = emptyRegistry();
  r.instances['k--a'] = {
    slot,
    path: '/dev/k--a',
    created_at: '',
    is_worktree: true,
    parent_repo: '/dev/k',
    ...(ports ? { ports } : {}),
  };
  setFocus(r, record);
  return r;
}

describe('the focus in the registry', () => {
  it('reads back what it records; clearing it removes the field', () => {
    const r = registryWith({ api: 8001, db: 5433 });
    expect(focusOf(r)).toEqual(record);
    clearFocus(r);
    expect(focusOf(r)).toBeUndefined();
    expect('focus' in r).toBe(false);
  });

  it('a malformed field is no focus, never an unreadable registry', () => {
    for (const bad of [
      'k--a',
      { instance: 'k--a' },
      { ...record, pid: 0 },
      { ...record, ports: [{ name: 'api', from: 70000, to: 1 }] },
      { ...record, slot: 'one' },
    ]) {
      const text = formatRegistry({ ...emptyRegistry(), focus: bad });
      const parsed = parseRegistryText(text);
      expect(parsed.ok).toBe(true);
      if (parsed.ok) expect(focusOf(parsed.registry)).toBeUndefined();
    }
  });

  it('an older kinfra keeps the field as it is (unknown top-level fields are kept), and so does the import', () => {
    const text = formatRegistry(registryWith({ api: 8001, db: 5433 }));
    const parsed = parseRegistryText(text);
    expect(parsed.ok && formatRegistry(parsed.registry)).toBe(text);
    // The Python tool's file never has one; one by that name that is not a focus is imported and ignored.
    const py = parsePythonRegistry(JSON.stringify({ version: 2, instances: {}, slots: {}, focus: 'something else' }));
    expect(py.ok).toBe(true);
    if (py.ok) expect(focusOf(py.registry)).toBeUndefined();
  });
});

describe('where a forwarder sends a new connection', () => {
  it("the port the registry gives the focused sandbox now, by name; never one that is not the sandbox's", () => {
    const r = registryWith({ api: 8001, db: 5433 });
    expect(focusTarget(r, 4242, 'api')).toEqual({ kind: 'forward', port: 8001 });
    r.instances['k--a']!.ports = { api: 8011, db: 5433 };
    expect(focusTarget(r, 4242, 'api')).toEqual({ kind: 'forward', port: 8011 });
    delete r.instances['k--a']!.ports!.db;
    expect(focusTarget(r, 4242, 'db')).toEqual({ kind: 'no-port' });
    expect(focusTarget(r, 4242, 'grafana')).toEqual({ kind: 'no-port' });
  });

  it('an entry without a port map keeps the recorded port only while it stays on the recorded slot', () => {
    expect(focusTarget(registryWith(undefined, 1), 4242, 'db')).toEqual({ kind: 'forward', port: 5433 });
    expect(focusTarget(registryWith(undefined, 3), 4242, 'db')).toEqual({ kind: 'no-port' });
  });

  it("another forwarder's focus, or none, stops this one; a sandbox gone ends the focus", () => {
    const r = registryWith({ api: 8001, db: 5433 });
    expect(focusTarget(r, 999, 'api')).toEqual({ kind: 'not-mine' });
    expect(forwarderVerdict(r, 4242)).toBe('serve');
    expect(forwarderVerdict(r, 999)).toBe('not-mine');
    delete r.instances['k--a'];
    expect(focusTarget(r, 4242, 'api')).toEqual({ kind: 'gone', instance: 'k--a' });
    expect(forwarderVerdict(r, 4242)).toBe('gone');
    clearFocus(r);
    expect(forwarderVerdict(r, 4242)).toBe('not-mine');
  });
});
