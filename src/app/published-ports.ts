// The host ports the engine already publishes, so the allocator skips a slot that would need one: another project's
// stack on this machine (another user's kinfra, a compose project kinfra never made) is not in the registry.
import { listContainers, type ContainerInfo } from '../adapters/engine.js';

/** Port -> who publishes it; empty when the engine does not answer (the registry alone decides then). */
export async function publishedPorts(except?: string): Promise<Map<number, string>> {
  return portsPublishedBy(await listContainers().catch(() => []), except);
}

/** The same, from containers a command has already listed (`up` reads the engine once). */
export function portsPublishedBy(containers: readonly ContainerInfo[], except?: string): Map<number, string> {
  const busy = new Map<number, string>();
  for (const c of containers) {
    if (c.state !== 'running' || (except !== undefined && c.project === except)) continue;
    const who = c.project ? `compose project ${c.project} (container ${c.name})` : `container ${c.name}`;
    for (const port of c.hostPorts) if (!busy.has(port)) busy.set(port, who);
  }
  return busy;
}
