// The router's table: which host name reaches which published port of which registered sandbox. Built from a registry
// snapshot and nothing else, so the router can never send a request to a port that is not a registered sandbox's.
// Pure.
import type { InstanceState, Registry } from '../registry/model.js';
import { hostLabel, portHost, sandboxHost } from './hostnames.js';

/** What the router needs of one registered sandbox. */
export interface RouteSource {
  instanceId: string;
  path: string;
  slot: number;
  /** The registry entry's state while a create or destroy is under way. */
  state?: InstanceState | string | undefined;
  /** Its published ports, by port name, in the layout's order (`api`, `db`, `worker_1`, ...). */
  ports: Readonly<Record<string, number>>;
  /**
   * The port `<instance-id>.localhost` reaches, by name. When not given: `api` when the sandbox has one, else its
   * first port. (The layout will be able to mark a port `http: true`; whoever knows it passes its name here.)
   */
  main?: string | undefined;
}

export interface Route {
  /** The host name, without the router's port: `api.ktrdr--a.localhost`, or `ktrdr--a.localhost` for the main one. */
  host: string;
  instanceId: string;
  /** The port's name (`api`, `worker_1`). */
  name: string;
  /** The published host port it reaches, on 127.0.0.1. */
  port: number;
  /** The sandbox's own name: its main HTTP port. */
  main: boolean;
}

export interface SandboxRoutes {
  instanceId: string;
  path: string;
  slot: number;
  state: string | undefined;
  /** Its main route first (when it has ports), then one per port, in the layout's order. */
  routes: Route[];
}

export interface RouteTable {
  sandboxes: SandboxRoutes[];
  /** Every route by host name (lowercase, no port). */
  byHost: ReadonlyMap<string, Route>;
  /** Names left out, each with why (two sandboxes or ports that make the same host name; a port the router holds). */
  skipped: string[];
  /** Why the registry could not be read: the table is then empty and every page says so. */
  problem?: string | undefined;
}

/** The name of the port `<instance-id>.localhost` reaches: `main` when it is one of the ports, `api`, or the first. */
export function mainPortName(ports: Readonly<Record<string, number>>, main?: string): string | undefined {
  if (main !== undefined && main in ports) return main;
  if ('api' in ports) return 'api';
  return Object.keys(ports)[0];
}

/** Every registered sandbox with the ports the registry records for it, by instance id. */
export function routeSources(registry: Registry): RouteSource[] {
  return Object.entries(registry.instances)
    .map(([instanceId, e]) => ({
      instanceId,
      path: e.path,
      slot: e.slot,
      state: e.state,
      ports: e.ports ?? {},
      main: e.main_http,
    }))
    .sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
}

/**
 * The table. `reserved` are ports the router must never reach (its own: a route to it would loop). A host name two
 * ports would share goes to the first (in port order), and a sandbox whose id makes another's label gets none (by
 * instance id order); both are reported as skipped.
 */
export function routeTable(sources: readonly RouteSource[], reserved: readonly number[] = []): RouteTable {
  const byHost = new Map<string, Route>();
  const skipped: string[] = [];
  const sandboxes: SandboxRoutes[] = [];
  const take = (r: Route, out: Route[]) => {
    const held = byHost.get(r.host);
    if (held) {
      skipped.push(`${r.host} (${r.instanceId} ${r.name}): already names ${held.instanceId} ${held.name}`);
      return;
    }
    byHost.set(r.host, r);
    out.push(r);
  };
  const labels = new Map<string, string>();
  for (const s of sources) {
    const routes: Route[] = [];
    const label = hostLabel(s.instanceId);
    if (!label) {
      skipped.push(`${s.instanceId}: no letters or digits to make a host name of`);
      continue;
    }
    // Two ids with one label (`a_b`, `a-b`): the second gets no name at all, never one that reads as the first's.
    const holder = labels.get(label);
    if (holder !== undefined) {
      skipped.push(`${s.instanceId}: its names (${sandboxHost(s.instanceId)}) are ${holder}'s`);
      continue;
    }
    labels.set(label, s.instanceId);
    const usable = Object.entries(s.ports).filter(([name, port]) => {
      if (!reserved.includes(port)) return true;
      skipped.push(`${portHost(name, s.instanceId)}: port ${port} is the router's own`);
      return false;
    });
    const ports = Object.fromEntries(usable);
    const main = mainPortName(ports, s.main);
    if (main !== undefined) {
      take(
        { host: sandboxHost(s.instanceId), instanceId: s.instanceId, name: main, port: ports[main]!, main: true },
        routes,
      );
    }
    for (const [name, port] of usable) {
      if (!hostLabel(name)) {
        skipped.push(`${s.instanceId} ${name}: no letters or digits to make a host name of`);
        continue;
      }
      take({ host: portHost(name, s.instanceId), instanceId: s.instanceId, name, port, main: false }, routes);
    }
    sandboxes.push({ instanceId: s.instanceId, path: s.path, slot: s.slot, state: s.state, routes });
  }
  return { sandboxes, byHost, skipped };
}

/** The table when the registry cannot be read: nothing is routed, and every page says why. */
export function unreadableTable(problem: string): RouteTable {
  return { sandboxes: [], byHost: new Map(), skipped: [], problem };
}

/** Whether two tables route the same names to the same ports (the router logs only real changes). */
export function sameRoutes(a: RouteTable, b: RouteTable): boolean {
  return describeTable(a) === describeTable(b);
}

function describeTable(t: RouteTable): string {
  return JSON.stringify([
    t.problem ?? null,
    t.sandboxes.map((s) => [s.instanceId, s.path, s.state ?? null, s.routes.map((r) => [r.host, r.port])]),
  ]);
}

/** The sandbox a route belongs to. */
export function sandboxOf(table: RouteTable, route: Route): SandboxRoutes | undefined {
  return table.sandboxes.find((s) => s.instanceId === route.instanceId);
}
