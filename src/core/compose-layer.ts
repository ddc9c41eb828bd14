// The compose layer kinfra generates for a sandbox and gives Compose after the project's own files. It changes only
// what two copies would otherwise share: host ports move to the slot's values (host IPs kept), `container_name`
// goes, volume and network names fixed with `name:` become the sandbox's own, and every service, named volume and
// network the project defines carries kinfra's ownership labels (external ones are shared, not the sandbox's, and
// stay untouched). Two forms: a layer using Compose's merge tags (`!override`, `!reset`), or, for a Compose without
// them, the whole configuration rendered with the same changes. Pure: the effective configuration comes in parsed.

import { stampLabels, type Stamp } from './ownership.js';
import { parsePortEntry } from './compose-model.js';

type Section = Record<string, unknown> | null | undefined;

export interface EffectiveConfig {
  services?: Section;
  volumes?: Section;
  networks?: Section;
  [key: string]: unknown;
}

/** A value written with a YAML tag in front (`!override [...]`). */
export class Tagged {
  constructor(
    readonly tag: '!override' | '!reset',
    readonly value: unknown,
  ) {}
}

export const isExternal = (v: unknown): boolean => {
  if (v === null || typeof v !== 'object') return false;
  const ext = (v as { external?: unknown }).external;
  return ext === true || (typeof ext === 'object' && ext !== null);
};

const entries = (section: Section) => Object.entries(section ?? {}) as [string, Record<string, unknown> | null][];

/** One `ports:` entry with its host port moved (ranges come expanded); undefined when it needs no change. */
function remapEntry(entry: unknown, remap: ReadonlyMap<number, number>): unknown[] | undefined {
  const parsed = parsePortEntry(entry);
  if (!parsed.some((p) => remap.has(p.host))) return undefined;
  return parsed.map((p) => {
    const published = remap.get(p.host) ?? p.host;
    const ip = p.hostIp ? (p.hostIp.includes(':') ? `[${p.hostIp}]:` : `${p.hostIp}:`) : '';
    return `${ip}${published}:${p.container ?? p.host}/${p.protocol}`;
  });
}

/** The service's ports with every host port moved, or undefined when none moves. */
function remappedPorts(service: Record<string, unknown> | null, remap: ReadonlyMap<number, number>) {
  const ports = service?.ports;
  if (!Array.isArray(ports)) return undefined;
  let changed = false;
  const out = ports.flatMap((e) => {
    const moved = remapEntry(e, remap);
    if (moved) changed = true;
    return moved ?? [e];
  });
  return changed ? out : undefined;
}

/**
 * The service's networks with its dropped container_name as an alias on each: other services that reach it by that
 * name (`postgres://mydb:5432`) still do, on networks that are the sandbox's alone. Undefined when there is none.
 */
function aliasNetworks(service: Record<string, unknown> | null): Record<string, unknown> | undefined {
  const name = service?.container_name;
  if (typeof name !== 'string' || service?.network_mode !== undefined) return undefined;
  const nets = service!.networks;
  const names = Array.isArray(nets) ? nets.map(String) : Object.keys((nets as Record<string, unknown>) ?? {});
  return Object.fromEntries((names.length > 0 ? names : ['default']).map((n) => [n, { aliases: [name] }]));
}

function withAliases(existing: unknown, add: Record<string, unknown>): Record<string, unknown> {
  const map: Record<string, unknown> = Array.isArray(existing)
    ? Object.fromEntries(existing.map((n) => [String(n), null]))
    : { ...((existing as Record<string, unknown>) ?? {}) };
  for (const [net, a] of Object.entries(add)) {
    const cur = (map[net] ?? {}) as { aliases?: string[] };
    const aliases = [...new Set([...(cur.aliases ?? []), ...(a as { aliases: string[] }).aliases])];
    map[net] = { ...cur, aliases };
  }
  return map;
}

/** Named volumes and networks whose `name:` is fixed, so that every copy would share them: name -> the sandbox's. */
function ownNames(section: Section, project: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, v] of entries(section)) {
    const fixed = v && typeof v.name === 'string' ? v.name : undefined;
    if (!isExternal(v) && fixed !== undefined && fixed !== `${project}_${key}`) out.set(key, `${project}_${key}`);
  }
  return out;
}

function resourceLayer(
  section: Section,
  project: string,
  labels: Record<string, string>,
  extra: string[] = [],
  given: ReadonlyMap<string, string> = new Map(),
) {
  const renamed = new Map([...ownNames(section, project), ...given]);
  const names = [...new Set([...extra, ...Object.keys(section ?? {})])].filter((n) => !isExternal((section ?? {})[n]));
  return Object.fromEntries(names.map((n) => [n, { labels, ...(renamed.has(n) ? { name: renamed.get(n) } : {}) }]));
}

/**
 * The layer given after the project's files: labels everywhere, ports moved (`!override`, since Compose appends
 * port lists), `container_name` removed (`!reset`), fixed names made the sandbox's.
 */
export function sandboxLayer(
  config: EffectiveConfig,
  stamp: Stamp,
  remap: ReadonlyMap<number, number> = new Map(),
  volumeNames: ReadonlyMap<string, string> = new Map(),
): Record<string, unknown> {
  const labels = stampLabels(stamp);
  const services: Record<string, unknown> = {};
  for (const [name, s] of entries(config.services)) {
    const ports = remappedPorts(s, remap);
    const aliases = aliasNetworks(s);
    services[name] = {
      labels,
      ...(s && 'container_name' in s ? { container_name: new Tagged('!reset', null) } : {}),
      ...(aliases ? { networks: aliases } : {}),
      ...(ports ? { ports: new Tagged('!override', ports) } : {}),
    };
  }
  const layer: Record<string, unknown> = { services };
  // `volumeNames`: a database switched to another volume (a clone, a restore): the registry names the live one.
  const volumes = resourceLayer(config.volumes, stamp.sandbox, labels, [], volumeNames);
  if (Object.keys(volumes).length > 0) layer.volumes = volumes;
  // `default` is implicit: Compose makes it for every service that names no network.
  const networks = resourceLayer(config.networks, stamp.sandbox, labels, ['default']);
  if (Object.keys(networks).length > 0) layer.networks = networks;
  return layer;
}

/** The labels-only layer (what a layout with nothing to move needs): kept for callers that only label. */
export function labelLayer(config: EffectiveConfig, stamp: Stamp): Record<string, unknown> {
  return sandboxLayer(config, stamp);
}

const mergeLabels = (existing: unknown, labels: Record<string, string>) => {
  if (Array.isArray(existing))
    return [
      ...existing.filter((l) => !String(l).startsWith('dev.kinfra.')),
      ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
    ];
  return { ...((existing as Record<string, string> | undefined) ?? {}), ...labels };
};

/** The whole configuration with the layer's changes applied: what runs when Compose has no merge tags. */
export function renderedConfig(
  config: EffectiveConfig,
  stamp: Stamp,
  remap: ReadonlyMap<number, number> = new Map(),
  volumeNames: ReadonlyMap<string, string> = new Map(),
): EffectiveConfig {
  const labels = stampLabels(stamp);
  const out: EffectiveConfig = structuredClone(config);
  delete out.name;
  for (const [, s] of entries(out.services)) {
    if (!s) continue;
    const aliases = aliasNetworks(s);
    if (aliases) s.networks = withAliases(s.networks, aliases);
    delete s.container_name;
    const ports = remappedPorts(s, remap);
    if (ports) s.ports = ports;
    s.labels = mergeLabels(s.labels, labels);
  }
  // v1 prints no `default` network; it still gets one, and the sandbox's labels with it.
  if (Object.keys(out.services ?? {}).length > 0) out.networks = { default: {}, ...(out.networks ?? {}) };
  for (const key of ['volumes', 'networks'] as const) {
    const renamed = new Map([...ownNames(out[key], stamp.sandbox), ...(key === 'volumes' ? volumeNames : [])]);
    for (const [n, v] of entries(out[key])) {
      if (isExternal(v)) continue;
      const r = (out[key]![n] = v ?? {}) as Record<string, unknown>;
      if (renamed.has(n)) r.name = renamed.get(n);
      r.labels = mergeLabels(r.labels, labels);
    }
  }
  return out;
}

/** The configuration with its host ports moved and nothing else changed: the ports the sandbox really publishes. */
export function withMovedPorts(config: EffectiveConfig, remap: ReadonlyMap<number, number>): EffectiveConfig {
  if (remap.size === 0) return config;
  const services = Object.fromEntries(
    entries(config.services).map(([name, s]) => {
      const ports = remappedPorts(s, remap);
      return [name, ports ? { ...s, ports } : s];
    }),
  );
  return { ...config, services };
}

/** YAML text of a layer: JSON, which is YAML, with the merge tags written before the values they mark. */
export function layerText(value: unknown): string {
  if (value instanceof Tagged) return `${value.tag} ${layerText(value.value)}`;
  if (Array.isArray(value)) return `[${value.map(layerText).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${layerText(v)}`);
    return `{${fields.join(', ')}}`;
  }
  return JSON.stringify(value ?? null);
}
