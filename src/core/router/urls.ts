// A sandbox's URLs by name, beside its port URLs: `http://api.ktrdr--a.localhost:8800` for a browser (each sandbox
// its own origin), and `http://127.0.0.1:8001` for tools, since Node's resolver does not resolve `*.localhost` on
// many systems. Pure.
import { hostUrl, portHost, sandboxHost } from './hostnames.js';
import { mainPortName } from './routes.js';

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
