// What the router does with one request, decided from its Host header, path and a few headers alone: proxy it to a
// registered sandbox's port, answer it from a control endpoint, or refuse it. The security rules live here: a Host
// that is not a name the router serves is refused (DNS rebinding), only ports in the route table are ever targets,
// and a control endpoint wants the token and a request that is not from another site. Pure.
import {
  DASHBOARD_HOST,
  isLocalhostName,
  ownOrigins,
  parseHostHeader,
  ROUTER_OWN_NAMES,
  hostUrl,
} from './hostnames.js';
import { controlRefusal, pageFormat, refusedPage, unknownPage, type Reply } from './pages.js';
import { sandboxOf, type Route, type RouteTable, type SandboxRoutes } from './routes.js';
import { CONTROL_PREFIX } from './state.js';

/** What the router reads of a request. Header values as Node gives them (lowercase names). */
export interface RequestFacts {
  method: string;
  /** The request target as sent (`/path?query`). */
  url: string;
  host: string | undefined;
  authorization?: string | undefined;
  origin?: string | undefined;
  secFetchSite?: string | undefined;
  accept?: string | undefined;
}

export interface RouterFacts {
  port: number;
  token: string;
  table: RouteTable;
}

/** The router's control endpoints. */
export type ControlEndpoint = 'health' | 'routes';

export type Decision =
  | { kind: 'proxy'; route: Route; sandbox: SandboxRoutes; format: ReturnType<typeof pageFormat> }
  | { kind: 'control'; endpoint: ControlEndpoint }
  /** The dashboard and the HTTP API (their own access rules: `appAccess`). */
  | { kind: 'app' }
  | { kind: 'reply'; reply: Reply };

/** The paths of the HTTP API under the router's own names (the dashboard's name serves every path). */
export const APP_PATHS = ['/_kinfra/api', '/_kinfra/events', '/_kinfra/logs'];

const isAppPath = (path: string) => APP_PATHS.some((p) => path === p || path.startsWith(`${p}/`));

const ENDPOINTS: Record<string, ControlEndpoint> = { health: 'health', routes: 'routes' };

export function decide(req: RequestFacts, router: RouterFacts): Decision {
  const format = pageFormat(req.accept);
  const host = parseHostHeader(req.host);
  // A name is served only with the router's own port: a Host naming another port was meant for someone else.
  if (!host || host.port !== router.port) return { kind: 'reply', reply: refusedPage(format, req.host, router.port) };
  const path = req.url.split('?')[0]!;
  if (host.name === DASHBOARD_HOST) return { kind: 'app' };
  if (ROUTER_OWN_NAMES.includes(host.name)) {
    if (isAppPath(path)) return { kind: 'app' };
    if (path === CONTROL_PREFIX.slice(0, -1) || path.startsWith(CONTROL_PREFIX)) return control(req, path, router);
    return { kind: 'reply', reply: unknownPage(format, host.name, router.table, router.port) };
  }
  if (!isLocalhostName(host.name)) return { kind: 'reply', reply: refusedPage(format, req.host, router.port) };
  const route = router.table.byHost.get(host.name);
  const sandbox = route && sandboxOf(router.table, route);
  if (!route || !sandbox) return { kind: 'reply', reply: unknownPage(format, host.name, router.table, router.port) };
  return { kind: 'proxy', route, sandbox, format };
}

function control(req: RequestFacts, path: string, router: RouterFacts): Decision {
  const refuse = (status: 401 | 403 | 404 | 405, code: string, message: string): Decision => ({
    kind: 'reply',
    reply: controlRefusal(status, code, message),
  });
  // From another site, even with the token: a page elsewhere must never drive the router.
  const crossSite = crossSiteReason(req.origin, req.secFetchSite, router.port);
  if (crossSite) return refuse(403, 'cross-site', `Control requests from another site are refused (${crossSite}).`);
  if (!hasToken(req.authorization, router.token)) {
    return refuse(401, 'token-required', 'Send the token as `Authorization: Bearer <token>` (kinfra router token).');
  }
  const endpoint = ENDPOINTS[path.slice(CONTROL_PREFIX.length)];
  if (!endpoint) return refuse(404, 'no-such-endpoint', `No control endpoint ${path}.`);
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(405, 'method-not-allowed', `${path} takes GET.`);
  return { kind: 'control', endpoint };
}

/** What the dashboard and the API allow a request: `open` for the page and its files, else the token's checks. */
export type AppAccess = { ok: true; open: boolean } | { ok: false; status: 401 | 403; code: string; message: string };

/** The page and its two files: they hold no secret, so they need no token (the token comes in the URL's fragment). */
export function isOpenAsset(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && (path === '/' || path.startsWith('/_kinfra/dashboard/'));
}

/**
 * The dashboard's page is open; everything else (the API, its events and logs, reads included: they name folders
 * and branches) wants the token, and never from another site.
 */
export function appAccess(req: RequestFacts, router: Pick<RouterFacts, 'port' | 'token'>): AppAccess {
  const path = req.url.split('?')[0]!;
  if (isOpenAsset(req.method, path)) return { ok: true, open: true };
  const crossSite = crossSiteReason(req.origin, req.secFetchSite, router.port);
  if (crossSite) {
    return {
      ok: false,
      status: 403,
      code: 'cross-site',
      message: `Requests from another site are refused (${crossSite}).`,
    };
  }
  if (!hasToken(req.authorization, router.token)) {
    const message = 'Send the token as `Authorization: Bearer <token>` (kinfra router token; kinfra dashboard).';
    return { ok: false, status: 401, code: 'token-required', message };
  }
  return { ok: true, open: false };
}

/**
 * Why a control request counts as coming from another site, or undefined. A browser says where a request comes
 * from: `Sec-Fetch-Site` (anything but same-origin, or none for one the user typed) and `Origin` (anything but the
 * router's own). A tool (curl, a script) sends neither.
 */
export function crossSiteReason(origin: string | undefined, secFetchSite: string | undefined, port: number) {
  const site = secFetchSite?.trim().toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${site}`;
  if (origin !== undefined && !ownOrigins(port).includes(origin.trim().toLowerCase())) return `Origin: ${origin}`;
  return undefined;
}

/** Whether the Authorization header carries the token, compared in constant time. */
export function hasToken(authorization: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m !== null && sameText(m[1]!, token);
}

/** Constant-time comparison (for the same length; a different length is no match). */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** A route as the control endpoint and `kinfra router status` show it. */
export interface RouteView {
  /** As a browser sends it: `api.ktrdr--a.localhost:8800`. */
  host: string;
  url: string;
  instanceId: string;
  /** The port's name (`api`). */
  name: string;
  port: number;
  /** Where it goes: `http://127.0.0.1:8001`. */
  target: string;
  main: boolean;
}

/** The upstream the router connects to: the published port on the IPv4 loopback. */
export const TARGET_HOST = '127.0.0.1';

export function routeViews(table: RouteTable, port: number): RouteView[] {
  return table.sandboxes.flatMap((s) =>
    s.routes.map((r) => ({
      host: `${r.host}:${port}`,
      url: hostUrl(r.host, port),
      instanceId: r.instanceId,
      name: r.name,
      port: r.port,
      target: `http://${TARGET_HOST}:${r.port}`,
      main: r.main,
    })),
  );
}
