// The ports kinfra derives from a project's effective compose configuration: every host port the main checkout
// publishes that the configured layout does not move becomes a slot port of its own, whose slot-0 value is the port
// as published and whose step is chosen so that no port of any slot 0..max lands on another (the configured ports'
// included). A range moves as a block, since each of its ports gets the same kind of step. Pure.

import { portFor, MAX_PORT, type NamedPort } from './ports.js';
import type { PublishedPort } from './compose-model.js';

/** A published port of the main checkout's configuration, with the variable that sets it when one does. */
export interface PublishedEntry extends PublishedPort {
  service: string;
  /** `${VAR:-8080}` in the file: kinfra sets VAR itself rather than rewrite the entry. */
  variable?: string | undefined;
  /**
   * The service reads the variable itself too (`PORT` as its own listening port): kinfra does not set it (unless
   * the layout names it), and the layer moves the host port instead.
   */
  readElsewhere?: boolean | undefined;
}

/** A slot port kinfra derived; `variable` says whether it is set through the project's own variable. */
export interface DerivedPort extends NamedPort {
  service: string;
  container?: number | undefined;
  variable: boolean;
}

export interface DerivedPorts {
  ports: DerivedPort[];
  /** Published ports kinfra cannot give a slot value, in words. */
  problems: string[];
}

/** Container ports that usually speak HTTP: status shows those as http:// URLs. */
const HTTP_PORTS = new Set([80, 443, 3000, 4000, 5000, 5173, 8000, 8008, 8080, 8081, 8088, 8443, 8888, 9000, 9090]);

const portName = (text: string): string => {
  const n = text.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  return /^[a-z]/.test(n) ? n : `p_${n}`;
};

/** The variable a raw (uninterpolated) host-port text names: `${WEB_PORT:-8080}`, `${WEB_PORT}`, `$WEB_PORT`. */
export function portVariable(text: string): string | undefined {
  return /^\$\{?([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}?$/.exec(text.trim())?.[1];
}

function urlOf(e: PublishedEntry): string {
  const ip = e.hostIp && e.hostIp !== '0.0.0.0' && e.hostIp !== '::' ? e.hostIp : 'localhost';
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const secure = e.container === 443 || e.container === 8443;
  return e.container !== undefined && HTTP_PORTS.has(e.container) && e.protocol === 'tcp'
    ? `${secure ? 'https' : 'http'}://${host}:{port}`
    : `${host}:{port}`;
}

/**
 * The smallest step that keeps `base + step*N` (N = 1..max) inside the port range and off every port in `taken`,
 * or undefined when none does.
 */
export function stepFor(base: number, maxSlot: number, taken: ReadonlySet<number>): number | undefined {
  for (let step = 1; base + step * maxSlot <= MAX_PORT; step++) {
    let free = true;
    for (let n = 1; n <= maxSlot && free; n++) free = !taken.has(base + step * n);
    if (free) return step;
  }
  return undefined;
}

/** Every port the plan uses over slots 0..max. */
export function planPorts(plan: readonly NamedPort[], maxSlot: number): Set<number> {
  const all = new Set<number>();
  for (const p of plan) for (let n = 0; n <= maxSlot; n++) all.add(portFor(p, n));
  return all;
}

/**
 * Derive the slot ports of the entries the configured layout does not move. `keep` are ports derived before (the
 * registry's): they keep their name, variable and step, so deriving again never moves a running sandbox. `avoid`
 * are ports a new one must not land on in any slot.
 */
export function derivePorts(
  entries: readonly PublishedEntry[],
  configured: readonly NamedPort[],
  maxSlot: number,
  keep: readonly DerivedPort[] = [],
  avoid: ReadonlySet<number> = new Set(),
): DerivedPorts {
  const configuredVars = new Set(configured.map((p) => p.env));
  const slotZero = new Map(configured.map((p) => [portFor(p, 0), p]));
  const problems: string[] = [];
  const byHost = new Map<number, PublishedEntry[]>();
  for (const e of entries) {
    if (e.variable && configuredVars.has(e.variable)) continue;
    // A fixed port that is a configured port's main-checkout value is that port: the layer moves it to its value.
    if (slotZero.has(e.host)) continue;
    byHost.set(e.host, [...(byHost.get(e.host) ?? []), e]);
  }
  const kept = new Map(keep.map((k) => [k.base, k]));
  // Every kept port stays taken in every slot, published by this branch or not: a sandbox still holds its value.
  const taken = planPorts([...configured, ...keep], maxSlot);
  for (const host of byHost.keys()) taken.add(host);
  // Ports someone else holds now (another sandbox, another project's containers): a new port's steps avoid them.
  for (const port of avoid) taken.add(port);
  const names = new Set([...configured.map((p) => p.name), ...keep.map((k) => k.name)]);
  const perService = new Map<string, number>();
  for (const [, list] of byHost) perService.set(list[0]!.service, (perService.get(list[0]!.service) ?? 0) + 1);

  const ports: DerivedPort[] = [];
  const claimed = new Set(keep.filter((k) => k.variable).map((k) => k.env));
  // A variable behind two host ports (`${PORT:-8080}` and `${PORT:-9090}`) would set both: neither claims it.
  const hostsOf = new Map<string, Set<number>>();
  for (const e of entries)
    if (e.variable) hostsOf.set(e.variable, new Set([...(hostsOf.get(e.variable) ?? []), e.host]));
  for (const [v, hosts] of hostsOf) if (hosts.size > 1) claimed.add(v);
  // A variable the stack reads elsewhere too (the app's own PORT) stays the stack's: the layer moves the host port.
  for (const e of entries) if (e.variable && e.readElsewhere) claimed.add(e.variable);
  for (const host of [...byHost.keys()].sort((a, b) => a - b)) {
    const list = byHost.get(host)!;
    const old = kept.get(host);
    if (old) {
      ports.push(old);
      continue;
    }
    const first = list.find((e) => e.variable) ?? list[0]!;
    const keptHere = keep.find((k) => host > k.base && (host - k.base) % k.step === 0);
    if (keptHere && (host - keptHere.base) / keptHere.step <= maxSlot) {
      const slot = (host - keptHere.base) / keptHere.step;
      problems.push(
        `service ${first.service} now publishes ${host}, which is slot ${slot}'s ${keptHere.env}: the sandbox on ` +
          `slot ${slot} cannot keep its ports; destroy it with --keep-worktree and init it again`,
      );
      continue;
    }
    const step = stepFor(host, maxSlot, taken);
    if (step === undefined) {
      problems.push(
        `service ${first.service} publishes ${host}, too close to ${MAX_PORT} to move for ${maxSlot} slots`,
      );
      continue;
    }
    for (let n = 1; n <= maxSlot; n++) taken.add(host + step * n);
    const name = uniqueName(first, perService.get(first.service)! > 1, names);
    const variable =
      first.variable !== undefined && !configuredVars.has(first.variable) && !claimed.has(first.variable);
    if (variable) claimed.add(first.variable!);
    ports.push({
      name,
      env: variable ? first.variable! : `KINFRA_PORT_${name.toUpperCase()}`,
      base: host,
      step,
      label: perService.get(first.service)! > 1 ? `${first.service} ${first.container ?? host}` : first.service,
      url: urlOf(first),
      service: first.service,
      container: first.container,
      variable,
    });
  }
  return { ports, problems };
}

function uniqueName(e: PublishedEntry, several: boolean, names: Set<string>): string {
  const plain = portName(several ? `${e.service}_${e.container ?? e.host}` : e.service);
  let name = names.has(plain) ? `${plain}_${e.host}` : plain;
  for (let n = 2; names.has(name); n++) name = `${plain}_${e.host}_${n}`;
  names.add(name);
  return name;
}

/**
 * Host port of the main checkout -> the sandbox's, for every port of the layout: what the generated layer rewrites
 * where the file has the port fixed (a port set through its variable already has the sandbox's value).
 */
export function remapTable(ports: readonly NamedPort[], values: Readonly<Record<string, string | undefined>>) {
  const table = new Map<number, number>();
  for (const p of ports) {
    const text = values[p.env] ?? '';
    const v = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    if (v >= 1 && v <= MAX_PORT && v !== portFor(p, 0)) table.set(portFor(p, 0), v);
  }
  return table;
}

/** A derived port as the registry keeps it (in its instance entry's `derived_ports`, by port name). */
export interface StoredDerivedPort {
  env: string;
  base: number;
  step: number;
  service: string;
  container?: number;
  label?: string;
  url?: string;
  variable?: boolean;
}

export function storeDerived(ports: readonly DerivedPort[]): Record<string, StoredDerivedPort> {
  return Object.fromEntries(
    ports.map((p) => [
      p.name,
      {
        env: p.env,
        base: p.base,
        step: p.step,
        service: p.service,
        ...(p.container !== undefined ? { container: p.container } : {}),
        ...(p.label !== undefined ? { label: p.label } : {}),
        ...(p.url !== undefined ? { url: p.url } : {}),
        ...(p.variable ? { variable: true } : {}),
      },
    ]),
  );
}

/** The derived ports a registry entry keeps; entries that are not well formed are left out, never guessed. */
export function storedDerived(stored: unknown): DerivedPort[] {
  if (stored === null || typeof stored !== 'object') return [];
  const port = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_PORT;
  const optional = (v: unknown, type: string) => v === undefined || typeof v === type;
  return Object.entries(stored as Record<string, Partial<StoredDerivedPort>>).flatMap(([name, s]) =>
    s &&
    typeof s.env === 'string' &&
    port(s.base) &&
    Number.isInteger(s.step) &&
    s.step! > 0 &&
    (s.container === undefined || port(s.container)) &&
    optional(s.label, 'string') &&
    optional(s.url, 'string') &&
    optional(s.service, 'string')
      ? [
          {
            name,
            env: s.env,
            base: s.base!,
            step: s.step!,
            service: typeof s.service === 'string' ? s.service : name,
            container: s.container,
            label: s.label ?? name,
            url: s.url,
            variable: s.variable === true,
          },
        ]
      : [],
  );
}

/** The layout with its derived ports, worker ports still last. */
export function withDerivedPorts<C extends { ports: NamedPort[] }>(config: C, derived: readonly DerivedPort[]): C {
  const known = new Set(config.ports.map((p) => p.env));
  const extra = derived.filter((d) => !known.has(d.env));
  const plain = config.ports.filter((p) => p.worker === undefined);
  const workers = config.ports.filter((p) => p.worker !== undefined);
  return { ...config, ports: [...plain, ...extra, ...workers] };
}
