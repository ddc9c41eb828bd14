import { describe, expect, it } from 'vitest';
import { apiPath, normaliseUrl, resolveUrl, type UrlInputs } from '../../src/core/api-url.js';

const envFile = (value: string | undefined) => ({ path: '/dev/ktrdr--a/.env.sandbox', variable: 'KTRDR_API_PORT', value });

describe('resolveUrl: --url, then --port, then .env.sandbox, then the default (seed 001 decision 4)', () => {
  const cases: [string, Partial<UrlInputs>, string, string][] = [
    ['--url wins over everything', { url: 'http://h:9', port: '8002', envFile: envFile('8001') }, 'http://h:9', 'flag --url'],
    ['--port wins over the file', { port: '8002', envFile: envFile('8001') }, 'http://localhost:8002', 'flag --port'],
    ['--port as a number', { port: 8003 }, 'http://localhost:8003', 'flag --port'],
    ['the file wins over the default', { envFile: envFile('8001') }, 'http://localhost:8001', 'env-file'],
    ['the default', {}, 'http://localhost:8000', 'default'],
  ];
  it.each(cases)('%s', (_name, inputs, url, source) => {
    expect(resolveUrl({ defaultPort: 8000, ...inputs })).toMatchObject({ url, source });
  });

  it('says where the answer came from', () => {
    expect(resolveUrl({ defaultPort: 8000, envFile: envFile('8001') }).detail).toBe('/dev/ktrdr--a/.env.sandbox (KTRDR_API_PORT)');
    expect(resolveUrl({ defaultPort: 8000, port: '8002' }).detail).toBe('--port 8002');
  });

  it('rejects a bad port or a file without the variable with a usage error', () => {
    for (const port of ['0', '65536', 'abc', '80.5', '']) {
      expect(() => resolveUrl({ defaultPort: 8000, port }), port).toThrow(expect.objectContaining({ category: 'usage', code: 'invalid-port' }));
    }
    expect(() => resolveUrl({ defaultPort: 8000, envFile: envFile(undefined) })).toThrow(/has no KTRDR_API_PORT/);
    expect(() => resolveUrl({ defaultPort: 8000, envFile: envFile('x') })).toThrow(expect.objectContaining({ code: 'invalid-port' }));
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
