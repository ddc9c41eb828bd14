// What kinfra cannot isolate in a compose project, found in its effective configuration: each said with what kinfra
// does about it and what the user could change. Only what would make copies really collide is an error (a fixed
// subnet or address: the second copy's network cannot be created); what every copy shares is a warning, and what
// kinfra changes per sandbox is information. Pure.

import { isExternal } from './compose-layer.js';

export interface IsolationFinding {
  severity: 'error' | 'warning' | 'info';
  /** The service, `volume <name>`, `network <name>`, or `-` for the project. */
  service: string;
  message: string;
  /** What the user could change. */
  fix: string;
}

type Service = {
  network_mode?: unknown;
  container_name?: unknown;
  networks?: Record<string, { ipv4_address?: unknown; ipv6_address?: unknown } | null> | unknown;
};

const record = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

function serviceFindings(name: string, s: Service, out: IsolationFinding[]): void {
  if (s.network_mode === 'host') {
    out.push({
      severity: 'warning',
      service: name,
      message: 'uses network_mode: host, so every copy listens on the same host ports and kinfra cannot move them',
      fix: 'publish its ports with ports: instead of the host network',
    });
  }
  if (s.container_name !== undefined) {
    out.push({
      severity: 'info',
      service: name,
      message:
        `container_name ${String(s.container_name)} is dropped in each sandbox (Compose names its containers); ` +
        'it stays a network alias, so other services still reach it by that name',
      fix: 'nothing to do; remove container_name to run the same way everywhere',
    });
  }
  for (const [net, cfg] of Object.entries(record(s.networks))) {
    const c = record(cfg);
    const address = c.ipv4_address ?? c.ipv6_address;
    if (address !== undefined) {
      out.push({
        severity: 'error',
        service: name,
        message: `has the fixed address ${String(address)} on network ${net}: a second copy cannot have it too`,
        fix: `remove ipv4_address/ipv6_address and reach the service by its name (${name})`,
      });
    }
  }
}

function resourceFindings(kind: 'volume' | 'network', section: unknown, project: string, out: IsolationFinding[]) {
  for (const [key, v] of Object.entries(record(section))) {
    const r = record(v);
    if (isExternal(v)) {
      out.push({
        severity: 'warning',
        service: `${kind} ${key}`,
        message: `is external (${String(r.name ?? key)}): every copy shares it`,
        fix: `if each copy needs its own, make it a ${kind} of the project (drop external: true)`,
      });
      continue;
    }
    if (typeof r.name === 'string' && r.name !== `${project}_${key}` && project !== '') {
      out.push({
        severity: 'info',
        service: `${kind} ${key}`,
        message: `has the fixed name ${r.name}; each sandbox gets its own (<project>_${key})`,
        fix: 'nothing to do',
      });
    }
    const subnets = (Array.isArray(record(r.ipam).config) ? (record(r.ipam).config as unknown[]) : [])
      .map((c) => record(c).subnet)
      .filter((x) => x !== undefined);
    if (kind === 'network' && subnets.length > 0) {
      out.push({
        severity: 'error',
        service: `network ${key}`,
        message: `has the fixed subnet ${subnets.join(', ')}: a second copy's network would overlap it`,
        fix: 'remove ipam.config (Docker picks a free subnet per network), or make the network external and shared',
      });
    }
  }
}

/** Every finding for the project's effective configuration, run as compose project `project`. */
export function isolationFindings(config: unknown, project: string): IsolationFinding[] {
  const c = record(config);
  const out: IsolationFinding[] = [];
  for (const [name, s] of Object.entries(record(c.services))) serviceFindings(name, record(s) as Service, out);
  resourceFindings('volume', c.volumes, project, out);
  resourceFindings('network', c.networks, project, out);
  return out;
}
