import { describe, expect, it } from 'vitest';
import { apiPath, apiRequestUrl, normaliseUrl, resolveUrl, type UrlInputs } from '../../src/core/api-url.js';

const envFile = (value: string | undefined) => ({
  path: '/dev/ktrdr--a/.env.sandbox',
  variable: 'KTRDR_API_PORT',
  value,
});

describe('resolveUrl: --url, then --port, then .env.sandbox, then the default (seed 001 decision 4)', () => {
  const cases: [string, Partial<UrlInputs>, string, string][] = [
    [
      '--url wins over everything',
      { url: 'http://h:9', port: '8002', envFile: envFile('8001') },
      'http://h:9',
      'flag --url',
    ],
    ['--port wins over the file', { port: '8002', envFile: envFile('8001') }, 'http://localhost:8002', 'flag --port'],
    ['--port as a number', { port: 8003 }, 'http://localhost:8003', 'flag --port'],
    ['the file wins over the default', { envFile: envFile('8001') }, 'http://localhost:8001', 'env-file'],
    ['the default', {}, 'http://localhost:8000', 'default'],
  ];
  it.each(cases)('%s', (_name, inputs, url, source) => {
    expect(resolveUrl({ defaultPort: 8000, ...inputs })).toMatchObject({ url, source });
  });

  it('says where the answer came from', () => {
    expect(resolveUrl({ defaultPort: 8000, envFile: envFile('8001') }).detail).toBe(
      '/dev/ktrdr--a/.env.sandbox (KTRDR_API_PORT)',
    );
    expect(resolveUrl({ defaultPort: 8000, port: '8002' }).detail).toBe('--port 8002');
  });

  it('rejects a bad port or a file without the variable with a usage error', () => {
    for (const port of ['0', '65536', 'abc', '80.5', '']) {
      expect(() => resolveUrl({ defaultPort: 8000, port }), port).toThrow(
        expect.objectContaining({ category: 'usage', code: 'invalid-port' }),
      );
    }
    expect(() => resolveUrl({ defaultPort: 8000, envFile: envFile(undefined) })).toThrow(/has no KTRDR_API_PORT/);
    // An empty value is as good as none: never the default port in its place (issue 12 item 15 e).
    for (const value of ['', '  ']) {
      expect(() => resolveUrl({ defaultPort: 8000, envFile: envFile(value) })).toThrow(
        expect.objectContaining({ category: 'usage', code: 'invalid-env-file' }),
      );
    }
    expect(() => resolveUrl({ defaultPort: 8000, envFile: envFile('x') })).toThrow(
      expect.objectContaining({ code: 'invalid-port' }),
    );
  });
});

describe('normaliseUrl', () => {
  it.each([
    ['localhost:8002', 'http://localhost:8002'],
    ['myhost', 'http://myhost:8000'],
    ['127.0.0.1', 'http://127.0.0.1:8000'],
    ['http://myhost', 'http://myhost'],
    ['https://api.example.com/', 'https://api.example.com'],
    ['http://localhost:8002/', 'http://localhost:8002'],
    ['  http://h:1/base/  ', 'http://h:1/base'],
    ['[::1]:8002', 'http://[::1]:8002'],
    ['HTTP://H:1', 'http://h:1'],
  ])('%s -> %s', (input, out) => expect(normaliseUrl(input, 8000)).toBe(out));

  it("gives http://localhost without a port http's own port 80, as a URL means (issue 12 item 15 d)", () => {
    expect(normaliseUrl('http://localhost', 8000)).toBe('http://localhost');
    expect(new URL(normaliseUrl('http://localhost', 8000)).port).toBe('');
    expect(normaliseUrl('https://localhost/', 8000)).toBe('https://localhost');
    // Without a scheme it is a host name, and gets the default API port.
    expect(normaliseUrl('localhost', 8000)).toBe('http://localhost:8000');
  });

  it('rejects what is not an http(s) URL', () => {
    for (const bad of ['', '   ', 'ftp://x', 'http://', 'http://a b']) {
      expect(() => normaliseUrl(bad, 8000), bad).toThrow(expect.objectContaining({ category: 'usage' }));
    }
  });
});

describe('apiPath', () => {
  it.each([
    ['operations', '/api/v1/operations'],
    ['/operations', '/api/v1/operations'],
    ['/api/v1/health', '/api/v1/health'],
    ['api/v1/workers?x=1', '/api/v1/workers?x=1'],
    ['/api/v1', '/api/v1'],
    ['/api/v10/x', '/api/v1/api/v10/x'],
  ])('%s -> %s', (input, out) => expect(apiPath(input)).toBe(out));
});

describe('apiRequestUrl', () => {
  it.each([
    ['http://localhost:8002', 'operations', 'http://localhost:8002/api/v1/operations'],
    ['http://localhost:8002', '/api/v1/health', 'http://localhost:8002/api/v1/health'],
    // A URL that already has an API path keeps it, and the request path goes below it (issue 12 item 12).
    ['http://host:8000/api/v1', 'x', 'http://host:8000/api/v1/x'],
    ['http://host:8000/api/v1', '/api/v1/x', 'http://host:8000/api/v1/x'],
    ['http://host:8000/api/v2', 'x', 'http://host:8000/api/v2/x'],
    ['http://host:8000/api/v2', '/api/v2/x?y=1', 'http://host:8000/api/v2/x?y=1'],
    ['http://host:8000/api/v2', '/api/v1/x', 'http://host:8000/api/v2/api/v1/x'],
    ['http://host:8000/api/v10', 'x', 'http://host:8000/api/v10/x'],
    ['https://proxy.example/ktrdr/api/v2', 'workers', 'https://proxy.example/ktrdr/api/v2/workers'],
    // Any other path is a mount point: /api/v1 goes below it.
    ['https://proxy.example/ktrdr', 'workers', 'https://proxy.example/ktrdr/api/v1/workers'],
    ['http://host:8000/api/vx', 'x', 'http://host:8000/api/vx/api/v1/x'],
    ['http://host:8000/api/v2?token=t', 'x?y=1', 'http://host:8000/api/v2/x?y=1&token=t'],
    ['http://host:8000?token=t', 'x', 'http://host:8000/api/v1/x?token=t'],
  ])('%s + %s -> %s', (base, path, out) => expect(apiRequestUrl(base, path)).toBe(out));

  it('never repeats an API path the base URL ends in', () => {
    for (const v of ['v1', 'v2', 'v3']) {
      const url = apiRequestUrl(normaliseUrl(`http://host:8000/api/${v}/`, 8000), 'operations');
      expect(url).toBe(`http://host:8000/api/${v}/operations`);
    }
  });
});
