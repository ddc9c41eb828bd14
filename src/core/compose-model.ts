// What a compose project has, read from its effective configuration (`docker compose config`): services and the host
// ports they publish. Compose v2 prints ports in the long form with `published` as a string; v1 mixes the short form
// (`127.0.0.1:8001:8000/tcp`) and the long one with numbers. Pure.

import { portVariable, type PublishedEntry } from './derived-ports.js';

export interface PublishedPort {
  host: number;
  container: number | undefined;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIp: string | undefined;
}

export interface ServiceModel {
  name: string;
  ports: PublishedPort[];
  /** `network_mode: host`: its ports are the host's own, and every copy would share them. */
  hostNetwork?: boolean;
}

export interface StackModel {
  services: ServiceModel[];
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : undefined;
};

/** `a-b` or `a` as the list of ports it stands for (a range moves as a block). */
function range(text: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) return [];
  const from = Number(m[1]);
  const to = m[2] ? Number(m[2]) : from;
  if (to < from || to - from > 1000) return [];
  return Array.from({ length: to - from + 1 }, (_, i) => from + i).filter((p) => p > 0 && p <= 65535);
}

/** One `ports:` entry in either form; a container-only entry publishes no fixed host port. */
export function parsePortEntry(entry: unknown): PublishedPort[] {
  if (typeof entry === 'number') return [];
  if (typeof entry === 'string') {
    const [spec, proto] = entry.split('/');
    const protocol = proto === 'udp' || proto === 'sctp' ? proto : 'tcp';
    // [ip:]host:container, where ip may be [v6]
    const m = /^(?:(\[[^\]]+\]|[^:]*):)?([\d-]+):([\d-]+)$/.exec(spec!.trim());
    if (!m) return [];
    const hosts = range(m[2]!);
    const containers = range(m[3]!);
    const hostIp = m[1] ? m[1].replace(/^\[|\]$/g, '') : undefined;
    return hosts.map((host, i) => ({
      host,
      container: containers[i] ?? containers[0],
      protocol,
      hostIp: hostIp || undefined,
    }));
  }
  if (entry && typeof entry === 'object') {
    const e = entry as { published?: unknown; target?: unknown; protocol?: unknown; host_ip?: unknown };
    const hosts = typeof e.published === 'string' ? range(e.published) : num(e.published) ? [num(e.published)!] : [];
    return hosts.map((host) => ({
      host,
      container: num(e.target),
      protocol: e.protocol === 'udp' || e.protocol === 'sctp' ? e.protocol : 'tcp',
      hostIp: typeof e.host_ip === 'string' && e.host_ip !== '' ? e.host_ip : undefined,
    }));
  }
  return [];
}

type RawService = { ports?: unknown[]; network_mode?: unknown } | null;
const servicesOf = (config: unknown) => (config as { services?: Record<string, RawService> } | null)?.services ?? {};

export function stackModel(config: unknown): StackModel {
  return {
    services: Object.entries(servicesOf(config)).map(([name, s]) => ({
      name,
      ports: (Array.isArray(s?.ports) ? s.ports : []).flatMap(parsePortEntry),
      ...(s?.network_mode === 'host' ? { hostNetwork: true } : {}),
    })),
  };
}

/**
 * The variable and container port of one uninterpolated `ports:` entry whose host port is a variable, and whether the
 * entry names its host IP itself (when it does not, an IP the interpolated entry has came from the variable).
 */
function rawVariable(entry: unknown): { variable: string; container: number | undefined; ownIp: boolean } | undefined {
  if (typeof entry === 'string') {
    const m = /(\$\{[^}]*\}|\$[A-Za-z_]\w*):(\d+)(-\d+)?(?:\/\w+)?$/.exec(entry.trim());
    // A variable that holds a whole range cannot be set to one port: the layer moves such a range instead.
    const variable = m && !m[3] ? portVariable(m[1]!) : undefined;
    return variable ? { variable, container: Number(m![2]), ownIp: m!.index > 0 } : undefined;
  }
  if (entry && typeof entry === 'object') {
    const e = entry as { published?: unknown; target?: unknown; host_ip?: unknown };
    const variable = typeof e.published === 'string' ? portVariable(e.published) : undefined;
    return variable ? { variable, container: num(e.target), ownIp: e.host_ip !== undefined } : undefined;
  }
  return undefined;
}

/**
 * Variables a service's uninterpolated configuration reads outside its `ports:` (its environment, command, ...): a
 * port variable the service reads itself is usually the port it listens on inside, which must not move with the
 * host side. Other services reading it (a frontend's API URL) want the host port, and do not count.
 */
function ownVariables(rawService: unknown): Set<string> {
  if (rawService === undefined || rawService === null) return new Set();
  const text = JSON.stringify({ ...(rawService as object), ports: undefined });
  return new Set([...text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
}

/**
 * Every host port the configuration publishes, service by service, with the variable that sets it when the
 * uninterpolated configuration (`config --no-interpolate`, when Compose gives one) shows one. Services on the
 * host's network publish nothing of their own.
 */
export function publishedEntries(config: unknown, raw?: unknown): PublishedEntry[] {
  const rawServices = servicesOf(raw);
  return stackModel(config).services.flatMap((s) => {
    if (s.hostNetwork) return [];
    const rawPorts = rawServices[s.name]?.ports;
    const elsewhere = ownVariables(rawServices[s.name]);
    const vars = (Array.isArray(rawPorts) ? rawPorts : []).map(rawVariable).filter((v) => v !== undefined);
    const used = new Set<number>();
    return s.ports.map((p) => {
      // One entry per variable: `${API:-8000}:8000` and `8001:8000` both reach container port 8000.
      const i = vars.findIndex((x, k) => !used.has(k) && x.container === p.container);
      const v = i >= 0 ? vars[i] : undefined;
      if (v) used.add(i);
      // `${PORT:-8080}` set to `127.0.0.1:8080`: setting PORT to a number would drop the IP, so the layer moves it.
      const usable = v && (p.hostIp === undefined || v.ownIp);
      const variable = usable ? v.variable : undefined;
      return { ...p, service: s.name, variable, readElsewhere: variable !== undefined && elsewhere.has(variable) };
    });
  });
}

/** The service that publishes host port `port`, if any. */
export function serviceOfPort(stack: StackModel, port: number): string | undefined {
  return stack.services.find((s) => s.ports.some((p) => p.host === port))?.name;
}
