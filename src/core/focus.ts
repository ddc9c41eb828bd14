// Focus: the main checkout's ports (slot 0) forwarded to one sandbox's, while the main stack does not run. What is
// pure of it is here: which slot-0 port goes to which port of the sandbox, over TCP, UDP or both (as its compose file
// publishes it), the registry's record of the focus (a top-level `focus` field an older kinfra keeps as it is), and
// where a forwarder may send a new connection now. Pure.
import type { PublishedPort } from './compose-model.js';
import { portFor, type NamedPort, type SlotPort } from './ports.js';
import { isObject, type Registry } from './registry/model.js';

export type FocusProtocol = 'tcp' | 'udp';

/** One forwarded port: the main checkout's (`from`) to the sandbox's (`to`), by the layout's port name. */
export interface FocusPort {
  name: string;
  from: number;
  to: number;
  protocols: FocusProtocol[];
}

/** The focus as the registry records it: which sandbox, which forwarder process, since when, which ports. */
export interface FocusRecord {
  instance: string;
  /** The forwarder process. */
  pid: number;
  since: string;
  /** The sandbox's slot when the focus began: `to` of a port holds only while the entry is on it. */
  slot: number;
  ports: FocusPort[];
}

/**
 * The protocols a sandbox publishes `port` with (TCP, UDP or both), from its compose configuration; TCP when it does
 * not publish it or the configuration could not be read (a layout's port the stack lacks is still forwarded).
 */
export function protocolsOf(published: readonly PublishedPort[], port: number): FocusProtocol[] {
  const found = new Set(published.filter((p) => p.host === port).map((p) => p.protocol));
  const protocols = (['tcp', 'udp'] as const).filter((p) => found.has(p));
  return protocols.length > 0 ? [...protocols] : ['tcp'];
}

/**
 * What focus forwards: every port of the layout at slot 0 (a derived port's slot-0 value is the port as the main
 * checkout's compose file publishes it) to the same port name of the sandbox. A port the sandbox does not have (a
 * pool worker the layout lacks at slot 0, or the reverse) is left out, and so is one already at its slot-0 value.
 */
export function focusPorts(
  plan: readonly NamedPort[],
  sandbox: readonly SlotPort[],
  published: readonly PublishedPort[],
): FocusPort[] {
  const byName = new Map(sandbox.map((p) => [p.name, p.port]));
  return plan.flatMap((p) => {
    const to = byName.get(p.name);
    const from = portFor(p, 0);
    return to === undefined || to === from ? [] : [{ name: p.name, from, to, protocols: protocolsOf(published, to) }];
  });
}

const port = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

function focusPort(v: unknown): FocusPort | undefined {
  if (!isObject(v) || typeof v.name !== 'string' || !port(v.from) || !port(v.to)) return undefined;
  const protocols = Array.isArray(v.protocols)
    ? v.protocols.filter((p): p is FocusProtocol => p === 'tcp' || p === 'udp')
    : [];
  return {
    name: v.name,
    from: v.from as number,
    to: v.to as number,
    protocols: protocols.length ? protocols : ['tcp'],
  };
}

/**
 * The registry's focus, or undefined when there is none or it is not one kinfra wrote: a malformed field (a hand
 * edit, a field of that name from another tool) is no focus, never a reason to refuse the registry.
 */
export function focusOf(registry: Registry): FocusRecord | undefined {
  const f = registry.focus;
  if (!isObject(f) || typeof f.instance !== 'string' || !Number.isInteger(f.pid) || (f.pid as number) < 1)
    return undefined;
  if (typeof f.since !== 'string' || !Number.isInteger(f.slot) || !Array.isArray(f.ports)) return undefined;
  const ports = f.ports.map(focusPort);
  if (ports.some((p) => p === undefined)) return undefined;
  return {
    instance: f.instance,
    pid: f.pid as number,
    since: f.since,
    slot: f.slot as number,
    ports: ports as FocusPort[],
  };
}

export function setFocus(registry: Registry, record: FocusRecord): void {
  registry.focus = { ...record, ports: record.ports.map((p) => ({ ...p, protocols: [...p.protocols] })) };
}

export function clearFocus(registry: Registry): void {
  delete registry.focus;
}

/** Where a forwarder of `pid` may send a new connection of the port named `name` now, or why it may not. */
export type FocusTarget =
  | { kind: 'forward'; port: number }
  /** The focus is another forwarder's now, or was ended: this one stops. */
  | { kind: 'not-mine' }
  /** The focused sandbox is no longer registered: the focus ends. */
  | { kind: 'gone'; instance: string }
  /** The sandbox no longer has that port: this connection is refused, the focus stays. */
  | { kind: 'no-port' };

/**
 * The sandbox's port for `name` as the registry gives it now: its entry's port of that name (an entry without a port
 * map, migrated from version 1, keeps the port recorded at focus time while it stays on the same slot). Never a
 * port that is not the focused sandbox's.
 */
export function focusTarget(registry: Registry, pid: number, name: string): FocusTarget {
  const f = focusOf(registry);
  if (!f || f.pid !== pid) return { kind: 'not-mine' };
  const entry = registry.instances[f.instance];
  if (!entry) return { kind: 'gone', instance: f.instance };
  const recorded = f.ports.find((p) => p.name === name);
  if (!recorded) return { kind: 'no-port' };
  const now = entry.ports ? entry.ports[name] : entry.slot === f.slot ? recorded.to : undefined;
  return now === undefined ? { kind: 'no-port' } : { kind: 'forward', port: now };
}

/** A forwarder's state against the registry, checked between connections: carry on, stop, or end the focus. */
export function forwarderVerdict(registry: Registry, pid: number): 'serve' | 'not-mine' | 'gone' {
  const f = focusOf(registry);
  if (!f || f.pid !== pid) return 'not-mine';
  return registry.instances[f.instance] ? 'serve' : 'gone';
}

/** `8000 -> 8001 (api)`, UDP said when it is forwarded. */
export function describeFocusPort(p: FocusPort): string {
  const proto = p.protocols.join('+') === 'tcp' ? '' : `, ${p.protocols.join('+')}`;
  return `${p.from} -> ${p.to} (${p.name}${proto})`;
}
