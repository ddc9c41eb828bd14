// `kinfra sandbox ports [who <port>]`: who holds a port, as exactly one answer (free; a sandbox of this machine's
// registry, with its service and container; another compose project, with its working folder; a container; a
// process, with its pid, command line, working folder and user), so an agent asks instead of killing by name or port.
import { listContainers, type ContainerInfo } from '../adapters/engine.js';
import { ownerId } from '../adapters/owner-id.js';
import { findPortHolder, isPortFreeAnywhere, isUdpPortFreeAnywhere, type Protocol } from '../adapters/port-holders.js';
import { focusOf } from '../core/focus.js';
import type { Registry } from '../core/registry/model.js';
import { heldPorts } from '../core/registry/slots.js';
import type { AppContext } from './context.js';
import { ownsContainer } from './engine-state.js';

export type PortState = 'free' | 'sandbox' | 'compose-project' | 'container' | 'process' | 'unknown';

export interface PortOwner {
  port: number;
  /** The port's name and variable, when it is one of the sandbox's (`ports` without `who`). */
  name: string | null;
  env: string | null;
  state: PortState;
  sandbox: string | null;
  project: string | null;
  service: string | null;
  container: string | null;
  workingDir: string | null;
  pid: number | null;
  command: string | null;
  user: string | null;
  /** The registered sandbox the registry gives this port to, whether or not anything listens now. */
  reservedFor: string | null;
  /** The answer in words. */
  message: string;
}

const none = {
  name: null,
  env: null,
  sandbox: null,
  project: null,
  service: null,
  container: null,
  workingDir: null,
  pid: null,
  command: null,
  user: null,
};

function reservedFor(registry: Registry, port: number): string | null {
  return heldPorts(registry).get(port) ?? null;
}

/** Said of the process the registry records as the focus forwarder (`kinfra sandbox focus`). */
function focusNote(registry: Registry, pid: number): string {
  const f = focusOf(registry);
  return f?.pid === pid ? `: the focus forwarder to sandbox ${f.instance} (kinfra sandbox focus --off ends it)` : '';
}

/** The registered sandbox whose compose project the container belongs to, when this kinfra made it. */
function sandboxOf(c: ContainerInfo, registry: Registry, owner: string): string | undefined {
  const found = Object.entries(registry.instances).find(([id, e]) => (e.compose_project ?? id) === c.project);
  if (!found) return undefined;
  const [id, e] = found;
  const dir = e.pool_slot === undefined ? e.path : (registry.slots[String(e.pool_slot)]?.infrastructure_path ?? '');
  return ownsContainer(c, owner, e.compose_project ?? id, dir) ? id : undefined;
}

function containerAnswer(c: ContainerInfo, port: number, registry: Registry, owner: string) {
  const service = c.service ?? null;
  const base = {
    ...none,
    port,
    service,
    container: c.name,
    project: c.project ?? null,
    workingDir: c.workingDir ?? null,
  };
  const sandbox = sandboxOf(c, registry, owner);
  if (sandbox) {
    const message = `port ${port} is sandbox ${sandbox}'s (service ${service ?? '?'}, container ${c.name})`;
    return { ...base, state: 'sandbox' as const, sandbox, message };
  }
  if (c.project) {
    const where = c.workingDir ? ` in ${c.workingDir}` : '';
    const what = `service ${service ?? '?'}, container ${c.name}`;
    const message = `port ${port} is compose project ${c.project}'s${where} (${what})`;
    return { ...base, state: 'compose-project' as const, message };
  }
  return { ...base, state: 'container' as const, message: `port ${port} is container ${c.name}'s` };
}

/**
 * Who holds `port` now (a TCP listener, or with `protocol` udp a bound UDP socket); `containers` and `registry` are
 * read once per command.
 */
export async function ownerOfPort(
  port: number,
  seen: { containers: readonly ContainerInfo[]; registry: Registry; owner: string },
  protocol: Protocol = 'tcp',
): Promise<PortOwner> {
  const reserved = reservedFor(seen.registry, port);
  const c = seen.containers.find((x) => x.state === 'running' && x.hostPorts.includes(port));
  if (c) return { ...containerAnswer(c, port, seen.registry, seen.owner), reservedFor: reserved };
  if (await (protocol === 'udp' ? isUdpPortFreeAnywhere : isPortFreeAnywhere)(port)) {
    const note = reserved ? `, the registry keeps it for sandbox ${reserved}` : '';
    return { ...none, port, state: 'free', reservedFor: reserved, message: `port ${port} is free${note}` };
  }
  const p = await findPortHolder(port, protocol);
  const what = protocol === 'udp' ? `UDP port ${port}` : `port ${port}`;
  const lsofFamily = protocol === 'udp' ? 'udp' : '';
  if (!p) {
    return {
      ...none,
      port,
      state: 'unknown',
      reservedFor: reserved,
      message: `${what} is in use by something the OS does not name (try: lsof -i ${lsofFamily}:${port})`,
    };
  }
  const where = p.cwd ? ` in ${p.cwd}` : '';
  return {
    ...none,
    port,
    state: 'process',
    pid: p.pid,
    command: p.command,
    workingDir: p.cwd ?? null,
    user: p.user ?? null,
    reservedFor: reserved,
    message:
      `${what} is process ${p.pid}'s (${p.command}${where}${p.user ? `, user ${p.user}` : ''})` +
      focusNote(seen.registry, p.pid),
  };
}

/** What `ownerOfPort` reads once per command: the engine's containers, the registry, this kinfra's owner id. */
export async function seenNow(ctx: AppContext) {
  const [containers, registry, owner] = await Promise.all([
    listContainers().catch(() => [] as ContainerInfo[]),
    ctx.registry.snapshot(),
    ownerId(ctx.paths.ownerId),
  ]);
  return { containers, registry, owner };
}

/** `ports who <port>`: one port; `ports`: every port of the sandbox that holds cwd, with who holds each. */
export async function sandboxPorts(
  ctx: AppContext,
  req: { who?: string | undefined; port?: number | undefined },
): Promise<{ sandbox: string | null; ports: PortOwner[] }> {
  const seen = await seenNow(ctx);
  if (req.port !== undefined) return { sandbox: null, ports: [await ownerOfPort(req.port, seen)] };
  // Only the sandbox's own ports need its layout (yaml, zod, compose): `who <port>` stays quick to start.
  const { resolveSandbox } = await import('./the-sandbox.js');
  const s = await resolveSandbox(ctx, { registry: seen.registry });
  const ports: PortOwner[] = [];
  for (const p of s.ports) ports.push({ ...(await ownerOfPort(p.port, seen)), name: p.name, env: p.env });
  return { sandbox: s.instanceId, ports };
}
