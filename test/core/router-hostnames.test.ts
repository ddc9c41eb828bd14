// The router's naming rule (issue 16): one label per part, lowercase, `_` and every other character a host name
// cannot carry become `-`; and how a Host header is read.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hostLabel,
  hostUrl,
  isLocalhostName,
  ownOrigins,
  parseHostHeader,
  portHost,
  sandboxHost,
} from '../../src/core/router/hostnames.js';

describe('router host names', () => {
  it('keeps instance ids as they are and makes port names labels', () => {
    expect(sandboxHost('ktrdr--feat-a')).toBe('ktrdr--feat-a.localhost');
    expect(portHost('api', 'ktrdr--feat-a')).toBe('api.ktrdr--feat-a.localhost');
    expect(portHost('worker_1', 'ktrdr--feat-a')).toBe('worker-1.ktrdr--feat-a.localhost');
    expect(portHost('jaeger_otlp_grpc', 'ktrdr--x')).toBe('jaeger-otlp-grpc.ktrdr--x.localhost');
    expect(hostUrl(portHost('api', 'ktrdr--a'), 8800)).toBe('http://api.ktrdr--a.localhost:8800');
  });

  it('lowercases, turns what a host name cannot carry into -, trims dashes at the ends, caps at 63', () => {
    expect(hostLabel('My_App')).toBe('my-app');
    expect(hostLabel('a.b c/d')).toBe('a-b-c-d');
    expect(hostLabel('_x_')).toBe('x');
    expect(hostLabel('___')).toBe('');
    expect(hostLabel('ktrdr__feat')).toBe('ktrdr--feat');
    expect(hostLabel('x'.repeat(70))).toHaveLength(63);
    expect(hostLabel(`${'a'.repeat(62)}_b`)).toBe('a'.repeat(62));
  });

  it('always gives a valid label (or nothing)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const l = hostLabel(s);
        expect(l).toMatch(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)?$/);
        expect(hostLabel(l)).toBe(l);
      }),
    );
  });

  it('reads Host headers: name and port, IPv6 in brackets, nothing else', () => {
    expect(parseHostHeader('API.ktrdr--a.localhost:8800')).toEqual({ name: 'api.ktrdr--a.localhost', port: 8800 });
    expect(parseHostHeader('localhost')).toEqual({ name: 'localhost', port: undefined });
    expect(parseHostHeader('[::1]:8800')).toEqual({ name: '::1', port: 8800 });
    for (const bad of [undefined, '', 'a b', 'user@host:1', 'host:99999', 'host:0', 'host/x', 'host:', '::1:8800'])
      expect(parseHostHeader(bad), String(bad)).toBeUndefined();
  });

  it('knows its own origins and the names under .localhost', () => {
    expect(ownOrigins(8800)).toEqual([
      'http://localhost:8800',
      'http://127.0.0.1:8800',
      'http://[::1]:8800',
      'http://kinfra.localhost:8800',
    ]);
    expect(isLocalhostName('a.localhost')).toBe(true);
    expect(isLocalhostName('localhost')).toBe(false);
    expect(isLocalhostName('.localhost')).toBe(false);
    expect(isLocalhostName('evil-localhost')).toBe(false);
    expect(isLocalhostName('a.localhost.evil.com')).toBe(false);
  });
});
