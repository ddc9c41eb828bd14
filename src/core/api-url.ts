// Which backend does a command talk to (seed 001, decision 4)? The order is fixed: --url, then --port, then the
// .env.sandbox of the current folder or a parent, then the main checkout's default. The file, never environment
// variables: those leak between terminals.

import { usageError } from './errors.js';

/** The HTTP methods `kinfra api` sends. */
export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

export type UrlSource = 'flag --url' | 'flag --port' | 'env-file' | 'default';

export interface ResolvedUrl {
  /** Normalised base URL without a trailing slash, e.g. http://localhost:8002 */
  url: string;
  source: UrlSource;
  /** The .env.sandbox it came from, when source is env-file. */
  envFile?: string | undefined;
  /** In words, for `kinfra sandbox url`: "--port 8002", "/dev/ktrdr--a/.env.sandbox (KTRDR_API_PORT)". */
  detail: string;
}

export interface UrlInputs {
  url?: string | undefined;
  port?: string | number | undefined;
  /** The sandbox's API port, when a .env.sandbox was found. */
  envFile?: { path: string; variable: string; value: string | undefined } | undefined;
  /** The main checkout's API port (slot 0). */
  defaultPort: number;
}

export function parsePort(value: string | number, what: string): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw usageError(
      'invalid-port',
      `${what} must be a port number from 1 to 65535, not ${JSON.stringify(String(value))}.`,
      'For example: kinfra -p 8002 api get operations',
    );
  }
  return Number(text);
}

/**
 * Normalise what a user typed: `localhost:8002`, `myhost` (port: the default API
 * port), `http://myhost`, `https://host/path/`. Keeps an explicit scheme's own
 * default port (http://host means port 80).
 */
export function normaliseUrl(input: string, defaultPort: number): string {
  const text = input.trim();
  if (!text) throw usageError('invalid-url', 'The --url value is empty.', 'For example: --url http://localhost:8002');
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let u: URL;
  try {
    u = new URL(hasScheme ? text : `http://${text}`);
  } catch {
    throw usageError(
      'invalid-url',
      `${JSON.stringify(input)} is not a URL.`,
      'For example: --url http://localhost:8002',
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw usageError(
      'invalid-url',
      `${JSON.stringify(input)} is not an http(s) URL.`,
      'For example: --url http://localhost:8002',
    );
  }
  if (!hasScheme && u.port === '') u.port = String(defaultPort);
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.protocol}//${u.host}${path}${u.search}`;
}

export function resolveUrl(inputs: UrlInputs): ResolvedUrl {
  if (inputs.url !== undefined) {
    return { url: normaliseUrl(inputs.url, inputs.defaultPort), source: 'flag --url', detail: `--url ${inputs.url}` };
  }
  if (inputs.port !== undefined) {
    const port = parsePort(inputs.port, '--port');
    return { url: `http://localhost:${port}`, source: 'flag --port', detail: `--port ${port}` };
  }
  if (inputs.envFile) {
    const { path, variable, value } = inputs.envFile;
    // Never the default instead: an empty or cut-short file must not send this sandbox's
    // requests to the main checkout's backend.
    if (value === undefined || value.trim() === '') {
      throw usageError(
        'invalid-env-file',
        `${path} has no ${variable} (the API port), so it does not say which backend this sandbox uses.`,
        'Name the backend with --url or --port. To mend the file, see `kinfra sandbox doctor`; ' +
          'in a folder that is no ' +
          'registered sandbox, remove it and run `kinfra sandbox init`.',
        { file: path, variable },
      );
    }
    const port = parsePort(value, `${variable} in ${path}`);
    return { url: `http://localhost:${port}`, source: 'env-file', envFile: path, detail: `${path} (${variable})` };
  }
  return { url: `http://localhost:${inputs.defaultPort}`, source: 'default', detail: 'default (not in a sandbox)' };
}

/** `operations` -> `/api/v1/operations`; paths already under /api/v1 are kept. */
export function apiPath(path: string, prefix = '/api/v1'): string {
  const p = path.startsWith('/') ? path : `/${path}`;
  return p === prefix || p.startsWith(`${prefix}/`) || p.startsWith(`${prefix}?`) ? p : `${prefix}${p}`;
}

/** A base URL whose path ends in an API version: `http://h:8000/api/v2`. */
const API_VERSION_PATH = /\/api\/v\d+$/;

/**
 * The URL of one request to the backend at `base` (a resolved URL). A base that
 * already ends in an API path keeps it and the request path goes below it
 * (`--url http://h/api/v2` + `x` -> `/api/v2/x`); any other base gets /api/v1.
 * A request path that already starts with that API path does not get it twice.
 */
export function apiRequestUrl(base: string, path: string): string {
  const u = new URL(base);
  const version = API_VERSION_PATH.exec(u.pathname);
  const root = version ? u.pathname.slice(0, version.index) : u.pathname.replace(/\/+$/, '');
  const target = `${root}${apiPath(path, version?.[0])}`;
  // A query the base URL carried goes after the path, not before it.
  const query = u.search === '' ? '' : `${target.includes('?') ? '&' : '?'}${u.search.slice(1)}`;
  return `${u.protocol}//${u.host}${target}${query}`;
}
