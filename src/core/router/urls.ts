// A sandbox's URLs by name, beside its port URLs: `http://api.ktrdr--a.localhost:8800` for a browser (each sandbox
// its own origin), and `http://127.0.0.1:8001` for tools, since Node's resolver does not resolve `*.localhost` on
// many systems. Pure.
import { hostUrl, portHost, sandboxHost } from './hostnames.js';
import { mainPortName, type RouteTable } from './routes.js';

export interface NamedPortUrl {
  /** The port's name (`api`, `worker_1`). */
  name: string;
  /** Through the router, by name. */
  url: string;
  /** Straight to the published port: what a tool can always reach. */
  direct: string;
}

export interface HostnameUrls {
  /** The sandbox's own name: its main HTTP port through the router; null when it has no port. */
  url: string | null;
  /** The router's port these URLs name, and whether a router answers there now. */
  routerPort: number;
  routerRunning: boolean;
  ports: NamedPortUrl[];
}

export function hostnameUrls(
  instanceId: string,
  ports: Readonly<Record<string, number>>,
  router: { port: number; running: boolean },
  mainHttp?: string,
): HostnameUrls {
  const main = mainPortName(ports, mainHttp);
  return {
    url: main === undefined ? null : hostUrl(sandboxHost(instanceId), router.port),
    routerPort: router.port,
    routerRunning: router.running,
    ports: Object.entries(ports).map(([name, port]) => ({
      name,
      url: hostUrl(portHost(name, instanceId), router.port),
      direct: `http://127.0.0.1:${port}`,
    })),
  };
}

/** A port URL by name through the router: which sandbox and port it reaches, and the router it names. */
export interface NamedUrl {
  /** `http://api.ktrdr--a.localhost:8800`. */
  url: string;
  instanceId: string;
  /** The port's name (`api`). */
  port: string;
  routerPort: number;
  routerRunning: boolean;
}

/** The names a URL's host may have for the router to reach it: this machine's loopback. */
const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The name through the router of a port URL (`http://localhost:8001`): the route of the router's table that reaches
 * the same port, by the port's own name (`api.<instance-id>.localhost`, else the sandbox's own name when that is the
 * only route to it). When several sandboxes' routes reach the port, the one whose folder is `preferPath` wins. A reason
 * instead when the router would not reach it: not plain HTTP on this machine, or no route reaches that port.
 */
export function namedUrlOf(
  portUrl: string,
  table: RouteTable,
  router: { port: number; running: boolean },
  preferPath?: string,
): NamedUrl | string {
  let u: URL;
  try {
    u = new URL(portUrl);
  } catch {
    return `${portUrl} is not a URL`;
  }
  if (u.protocol !== 'http:') return 'the router forwards plain HTTP only';
  if (!LOOPBACK_HOSTS.includes(u.hostname)) return `${u.host} is not this machine`;
  const port = Number(u.port || '80');
  if (port === router.port) return `port ${port} is the router's own`;
  const routes = table.sandboxes.flatMap((s) => s.routes.map((r) => ({ r, path: s.path })));
  const candidates = routes
    .filter(({ r }) => r.port === port)
    .sort(
      (a, b) => Number(b.path === preferPath) - Number(a.path === preferPath) || Number(a.r.main) - Number(b.r.main),
    );
  const found = candidates[0]?.r;
  if (!found) return table.problem ?? `no registered sandbox has port ${port}`;
  return {
    // The same path and query: a --url of http://localhost:8001/api/v2 is http://api.<id>.localhost:8800/api/v2.
    url: `${hostUrl(found.host, router.port)}${u.pathname === '/' ? '' : u.pathname}${u.search}`,
    instanceId: found.instanceId,
    port: found.name,
    routerPort: router.port,
    routerRunning: router.running,
  };
}
