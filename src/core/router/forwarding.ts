// How a request looks to the sandbox's backend once the router forwards it, and how the answer's redirects look to
// the browser. The backend gets `Host: localhost:<its port>`, the Host it sees when reached at its port URL, so a
// server that checks Host needs no new name allowed; the name the browser used travels in X-Forwarded-Host (with
// -Proto, -Port and -For, replacing any a client sent). A redirect to the port URL is turned back into the name, so
// the browser stays on the sandbox's own origin. Set-Cookie is left as it is. Pure.

export interface Forwarded {
  host: string;
  'x-forwarded-host': string;
  'x-forwarded-proto': string;
  'x-forwarded-port': string;
  'x-forwarded-for': string;
}

/** The headers the backend gets in place of the client's Host and X-Forwarded-*. */
export function forwardedHeaders(
  clientHost: string,
  routerPort: number,
  targetPort: number,
  remote: string,
): Forwarded {
  return {
    host: `localhost:${targetPort}`,
    'x-forwarded-host': clientHost,
    'x-forwarded-proto': 'http',
    'x-forwarded-port': String(routerPort),
    'x-forwarded-for': remote.replace(/^::ffff:/, ''),
  };
}

/** The headers of a client's request the router drops before adding its own (it is the first proxy). */
export const DROPPED_REQUEST_HEADERS = [
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-for',
  'forwarded',
];

/**
 * A Location header that points at the sandbox's port URL (`http://localhost:8001/x`, or 127.0.0.1), pointed at the
 * name the client used instead (`http://api.ktrdr--a.localhost:8800/x`). Anything else (a relative path, another
 * host) is left as it is; undefined means unchanged.
 */
export function rewrittenLocation(location: string, targetPort: number, clientHost: string): string | undefined {
  const m = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\]):(\d+)(?=[/?#]|$)/i.exec(location);
  if (!m || Number(m[2]) !== targetPort) return undefined;
  return `http://${clientHost}${location.slice(m[0].length)}`;
}
