// The host names the router serves, and how a Host header is read. One rule names everything: a sandbox is
// `<instance-id>.localhost`, one of its ports `<port-name>.<instance-id>.localhost`, each part made a host-name label
// (lowercase; every character a host name cannot carry, such as `_` or `.`, becomes `-`). Browsers and curl resolve
// every `*.localhost` name to the loopback address, so no DNS or hosts file is needed. Pure.

/** The domain every sandbox name lives under. */
export const ROUTER_DOMAIN = 'localhost';

/** The longest label DNS allows. */
const MAX_LABEL = 63;

/**
 * A name as a host-name label: lowercase, anything outside [a-z0-9-] becomes `-` (`worker_1` is `worker-1`), dashes
 * at either end dropped, at most 63 characters. Runs of dashes are kept, so `ktrdr--feat-a` stays as it is. '' when
 * nothing usable is left.
 */
export function hostLabel(name: string): string {
  const dashed = name.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return dashed
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_LABEL)
    .replace(/-+$/, '');
}

/** `ktrdr--feat-a.localhost`: the sandbox's own name (its main HTTP port). */
export function sandboxHost(instanceId: string): string {
  return `${hostLabel(instanceId)}.${ROUTER_DOMAIN}`;
}

/** `api.ktrdr--feat-a.localhost`: one of the sandbox's ports, by its port name. */
export function portHost(portName: string, instanceId: string): string {
  return `${hostLabel(portName)}.${sandboxHost(instanceId)}`;
}

/** A host with the router's port, as a browser sends it and a URL carries it (`api.x.localhost:8800`). */
export function withPort(host: string, port: number): string {
  return `${host}:${port}`;
}

/** `http://api.ktrdr--feat-a.localhost:8800`. */
export function hostUrl(host: string, port: number): string {
  return `http://${withPort(host, port)}`;
}

/** A Host header, read: the name (lowercase, IPv6 without brackets) and the port (undefined when it has none). */
export interface HostHeader {
  name: string;
  port: number | undefined;
}

/**
 * Read a Host header: `name[:port]` or `[v6]:port`. Undefined for anything else (empty, a user part, a path, a port
 * that is not a number): such a request names nothing the router serves.
 */
export function parseHostHeader(header: string | undefined): HostHeader | undefined {
  if (header === undefined) return undefined;
  const h = header.trim().toLowerCase();
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::(\d{1,5}))?$/.exec(h);
  if (!m) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { name: m[1] ?? m[2]!, port };
}

/** The names of the router itself: its control endpoints answer only under them. */
export const ROUTER_OWN_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/**
 * The dashboard's name (`http://kinfra.localhost:8800`): an origin of its own, apart from every sandbox's. No sandbox
 * can take it: an instance id always holds `--`.
 */
export const DASHBOARD_HOST = `kinfra.${ROUTER_DOMAIN}`;

/** The origins a browser gives the router's own pages (`http://localhost:8800`, the dashboard's, ...). */
export function ownOrigins(port: number): string[] {
  return [...ROUTER_OWN_NAMES, DASHBOARD_HOST].map((n) => `http://${n.includes(':') ? `[${n}]` : n}:${port}`);
}

/** Whether a name is under `.localhost`, so a browser only ever sends it to this machine. */
export function isLocalhostName(name: string): boolean {
  return name.endsWith(`.${ROUTER_DOMAIN}`) && name.length > ROUTER_DOMAIN.length + 1;
}
