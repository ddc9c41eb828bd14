// `kinfra sandbox url`'s name through the router (issue 16): the route of the router's own table that reaches the
// same port, or why none does.
import { describe, expect, it } from 'vitest';
import { routeSources, routeTable, unreadableTable } from '../../src/core/router/routes.js';
import { namedUrlOf } from '../../src/core/router/urls.js';
import type { Registry } from '../../src/core/registry/model.js';
import { registryOf, sandboxEntry } from './fixtures.js';

const ROUTER = { port: 8800, running: false };

function tableOf(reg: Registry, reserved: number[] = [ROUTER.port]) {
  return routeTable(routeSources(reg), reserved);
}

describe('namedUrlOf', () => {
  const reg = registryOf({
    'ktrdr--a': sandboxEntry(1, 'a', { ports: { api: 8001, db: 5433, worker_1: 5011 } }),
    'ktrdr--b': sandboxEntry(2, 'b', { ports: { api: 8002 } }),
  });
  const a = reg.instances['ktrdr--a']!;

  it("names a sandbox port by the port's own name, with the router's port", () => {
    expect(namedUrlOf('http://localhost:8001', tableOf(reg), ROUTER)).toEqual({
      url: 'http://api.ktrdr--a.localhost:8800',
      instanceId: 'ktrdr--a',
      port: 'api',
      routerPort: 8800,
      routerRunning: false,
    });
    expect(namedUrlOf('http://127.0.0.1:8002', tableOf(reg), { port: 8899, running: true })).toMatchObject({
      url: 'http://api.ktrdr--b.localhost:8899',
      routerRunning: true,
    });
    expect(namedUrlOf('http://[::1]:5011', tableOf(reg), ROUTER)).toMatchObject({
      url: 'http://worker-1.ktrdr--a.localhost:8800',
      port: 'worker_1',
    });
  });

  it('keeps the path and query of the URL', () => {
    expect(namedUrlOf('http://localhost:8001/api/v2?x=1', tableOf(reg), ROUTER)).toMatchObject({
      url: 'http://api.ktrdr--a.localhost:8800/api/v2?x=1',
    });
  });

  it('says why a URL has no name: another host, https, the router itself, a port no sandbox has', () => {
    expect(namedUrlOf('http://example.com:8001', tableOf(reg), ROUTER)).toBe('example.com:8001 is not this machine');
    expect(namedUrlOf('https://localhost:8001', tableOf(reg), ROUTER)).toBe('the router forwards plain HTTP only');
    expect(namedUrlOf('http://localhost:8800', tableOf(reg), ROUTER)).toBe("port 8800 is the router's own");
    expect(namedUrlOf('http://localhost:8000', tableOf(reg), ROUTER)).toBe('no registered sandbox has port 8000');
    expect(namedUrlOf('http://localhost', tableOf(reg), ROUTER)).toBe('no registered sandbox has port 80');
    expect(namedUrlOf('http://localhost:8001', unreadableTable('the registry is corrupt'), ROUTER)).toBe(
      'the registry is corrupt',
    );
  });

  it('prefers the sandbox of the folder the URL came from when two register the same port', () => {
    const twin = registryOf({
      'ktrdr--a': a,
      'ktrdr--c': sandboxEntry(3, 'c', { ports: { api: 8001 } }),
    });
    const c = twin.instances['ktrdr--c']!;
    expect(namedUrlOf('http://localhost:8001', tableOf(twin), ROUTER, c.path)).toMatchObject({
      instanceId: 'ktrdr--c',
    });
    expect(namedUrlOf('http://localhost:8001', tableOf(twin), ROUTER, a.path)).toMatchObject({
      instanceId: 'ktrdr--a',
    });
  });

  it("falls back to the sandbox's own name when that is the only route to the port", () => {
    // A port name with nothing to make a label of has no name of its own; as the sandbox's first port, it is the main.
    const odd = registryOf({ 'ktrdr--d': sandboxEntry(4, 'd', { ports: { ___: 8004 } }) });
    expect(namedUrlOf('http://localhost:8004', tableOf(odd), ROUTER)).toMatchObject({
      url: 'http://ktrdr--d.localhost:8800',
      port: '___',
    });
  });

  it('gives no name to a port the router skips (a second port name making the same label)', () => {
    const twin = registryOf({ 'ktrdr--e': sandboxEntry(5, 'e', { ports: { web_ui: 8005, 'web-ui': 8015 } }) });
    expect(typeof namedUrlOf('http://localhost:8015', tableOf(twin), ROUTER)).toBe('string');
    expect(namedUrlOf('http://localhost:8005', tableOf(twin), ROUTER)).toMatchObject({
      url: 'http://web-ui.ktrdr--e.localhost:8800',
    });
  });
});
