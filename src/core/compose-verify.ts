// Is a compose file safe to run as many sandboxes side by side, and still the main checkout's file (seed 001 milestone
// 6)? Pure: takes the file as parsed YAML (not interpolated, so variables are still visible) and the layout. What
// kinfra moves or drops per sandbox by itself (a fixed host port, a variable it does not know, container_name) is
// information, not a problem: only what would break the main checkout or collide between copies is an error.

import type { Config } from './config/config.js';
import { portFor } from './ports.js';

export interface Finding {
  severity: 'error' | 'warning' | 'info';
  service: string;
  message: string;
  fix: string;
}

const VAR = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}$/;

interface PortEntry {
  hostIp: string | undefined;
  host: string | undefined;
  container: string;
}

/** "[ip:]host:container[/proto]" or "container", with ${VAR:-x} kept whole. */
export function parsePortString(spec: string): PortEntry {
  const noProto = spec.replace(/\/(tcp|udp|sctp)$/, '');
  const parts: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of noProto) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (ch === ':' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  if (parts.length === 1) return { hostIp: undefined, host: undefined, container: parts[0]! };
  if (parts.length === 2) return { hostIp: undefined, host: parts[0], container: parts[1]! };
  // IPv6 addresses hold colons too: the last two parts are host and container.
  return {
    hostIp: parts
      .slice(0, -2)
      .join(':')
      .replace(/^\[|\]$/g, ''),
    host: parts.at(-2),
    container: parts.at(-1)!,
  };
}

function portEntries(ports: unknown): PortEntry[] {
  if (!Array.isArray(ports)) return [];
  return ports.map((p) => {
    if (typeof p === 'string' || typeof p === 'number') return parsePortString(String(p));
    const o = (p ?? {}) as { target?: unknown; published?: unknown; host_ip?: unknown };
    return {
      hostIp: o.host_ip === undefined ? undefined : String(o.host_ip),
      host: o.published === undefined ? undefined : String(o.published),
      container: String(o.target ?? ''),
    };
  });
}

function checkPort(service: string, p: PortEntry, config: Config, out: Finding[]): void {
  const byEnv = new Map(config.ports.map((x) => [x.env, x]));
  const known = [...byEnv.keys()];
  if (p.container.includes('$')) {
    out.push({
      severity: 'error',
      service,
      message: `the container port ${p.container} is a variable`,
      fix: 'keep internal ports fixed (each sandbox has its own network); parameterise only the host side',
    });
  }
  if (p.host === undefined) return; // not published on the host: nothing to clash
  const m = VAR.exec(p.host);
  const claimed = config.ports.find((x) => String(portFor(x, 0)) === p.host);
  if (!m && claimed) {
    out.push({
      severity: 'info',
      service,
      message: `host port ${p.host} is fixed: kinfra moves it to ${claimed.env}'s port of each sandbox's slot`,
      fix: `nothing to do; or write \${${claimed.env}:-${p.host}}`,
    });
  } else if (!m) {
    out.push({
      severity: 'info',
      service,
      message: `host port ${p.host} is fixed: kinfra moves it to a port of each sandbox's slot`,
      fix: known.length
        ? `nothing to do; or use \${VARIABLE:-${p.host}} to name it (${known.slice(0, 3).join(', ')}, ...)`
        : 'nothing to do',
    });
  } else {
    const [, name, op, def] = m;
    const spec = byEnv.get(name!);
    if (!spec) {
      out.push({
        severity: 'info',
        service,
        message: `host port variable ${name} is not in the layout: kinfra sets it per sandbox`,
        fix: 'nothing to do',
      });
    } else {
      const main = portFor(spec, 0);
      if (op === undefined) {
        out.push({
          severity: 'error',
          service,
          message: `\${${name}} has no default, so the main checkout (without .env.sandbox) publishes nothing`,
          fix: `write \${${name}:-${main}}`,
        });
      } else if (def !== String(main)) {
        out.push({
          severity: 'error',
          service,
          message: `\${${name}:-${def}} defaults to ${def}, but the main checkout's ${name} is ${main}`,
          fix: `write \${${name}:-${main}}`,
        });
      }
    }
  }
  if (p.hostIp === undefined || p.hostIp === '0.0.0.0' || p.hostIp === '::') {
    out.push({
      severity: 'warning',
      service,
      message: `port ${p.host} is published on all interfaces`,
      fix:
        `bind it to loopback: "127.0.0.1:${p.host}:${p.container}" (a branch in progress is ` +
        `rarely meant for the network)`,
    });
  }
}

function checkVolumes(service: string, volumes: unknown, config: Config, out: Finding[]): void {
  if (!config.shared || !Array.isArray(volumes)) return;
  const sharedVars = new Set([config.shared.env, ...config.shared.dirs.map((d) => d.env)]);
  for (const v of volumes) {
    const source = typeof v === 'string' ? v.split(':')[0]! : String((v as { source?: unknown })?.source ?? '');
    for (const m of source.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-)?[^}]*\}/g)) {
      if (sharedVars.has(m[1]!) && !m[2]) {
        const local = `./${config.shared.dirs.find((d) => d.env === m[1])?.name ?? 'data'}`;
        out.push({
          severity: 'error',
          service,
          message: `volume ${source} has no fallback, so it breaks without a sandbox`,
          fix: `write \${${m[1]}:-${local}} (the shared folder in a sandbox, ${local} without one)`,
        });
      }
    }
  }
}

export function verifyCompose(doc: unknown, config: Config): Finding[] {
  const services = (doc as { services?: unknown } | null)?.services;
  // A file of `include:`s alone has its services elsewhere: Compose's reading of the whole project covers them.
  if (!services && Array.isArray((doc as { include?: unknown } | null)?.include)) return [];
  if (!services || typeof services !== 'object') {
    return [
      {
        severity: 'error',
        service: '-',
        message: 'the file has no services',
        fix: 'point verify at the compose file of the stack',
      },
    ];
  }
  const out: Finding[] = [];
  for (const [name, raw] of Object.entries(services as Record<string, unknown>)) {
    const svc = (raw ?? {}) as Record<string, unknown>;
    for (const p of portEntries(svc.ports)) checkPort(name, p, config, out);
    checkVolumes(name, svc.volumes, config, out);
  }
  return out;
}
