// Which router port a sandbox's named URLs carry: the running router's, else the one `kinfra router start` would
// take (KINFRA_ROUTER_PORT, else the default). Read from the router's state file, never by asking the network.
import { processRuns } from '../adapters/processes.js';
import { readRouterState, routerPaths } from '../adapters/router-state.js';
import { isKinfraError } from '../core/errors.js';
import { routeSources, routeTable, unreadableTable, type RouteTable } from '../core/router/routes.js';
import { chooseRouterPort, DEFAULT_ROUTER_PORT, ROUTER_PORT_ENV } from '../core/router/state.js';
import { hostnameUrls, namedUrlOf, type HostnameUrls, type NamedUrl } from '../core/router/urls.js';
import type { AppContext } from './context.js';

export async function routerAddress(ctx: AppContext): Promise<{ port: number; running: boolean }> {
  const stored = await readRouterState(routerPaths(ctx.paths)).catch(() => ({ kind: 'none' }) as const);
  if (stored.kind === 'state' && processRuns(stored.state.pid)) return { port: stored.state.port, running: true };
  const chosen = chooseRouterPort(undefined, process.env[ROUTER_PORT_ENV]);
  return { port: chosen.ok ? chosen.port : DEFAULT_ROUTER_PORT, running: false };
}

/** A function giving each sandbox its named URLs, the router read once. */
export async function namedUrlsFor(
  ctx: AppContext,
): Promise<(instanceId: string, ports: Readonly<Record<string, number>>, mainHttp?: string) => HostnameUrls> {
  const router = await routerAddress(ctx);
  return (instanceId, ports, mainHttp) => hostnameUrls(instanceId, ports, router, mainHttp);
}

/**
 * The name through the router of a port URL (`kinfra sandbox url`), from the table the router builds from the
 * registry, or why there is none. A registry that cannot be read is a reason, not a failure: the port URL still works.
 */
export async function namedUrlFor(ctx: AppContext, portUrl: string, preferPath?: string): Promise<NamedUrl | string> {
  const router = await routerAddress(ctx);
  const table = await currentTable(ctx, router.port);
  if (table.problem !== undefined) return `the registry cannot be read (${table.problem})`;
  return namedUrlOf(portUrl, table, router, preferPath);
}

/** The router's table of the registry as it is now; an unreadable or lost registry routes nothing and says why. */
export async function currentTable(ctx: AppContext, routerPort: number): Promise<RouteTable> {
  try {
    return routeTable(routeSources(await ctx.registry.snapshot()), [routerPort]);
  } catch (e) {
    if (isKinfraError(e)) return unreadableTable(`${e.message} ${e.hint}`);
    throw e;
  }
}
