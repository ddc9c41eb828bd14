// Which of a sandbox's ports something else holds, and the error that names them before `up` starts.

import type { ContainerInfo } from '../adapters/engine.js';
import { findPortHolder, isPortFreeAnywhere } from '../adapters/port-holders.js';
import { KinfraError } from '../core/errors.js';
import type { Registry } from '../core/registry/model.js';
import type { Sandbox } from './the-sandbox.js';

export interface PortConflict {
  port: number;
  env: string;
  kind: 'sandbox' | 'compose-project' | 'container' | 'process';
  /** Who holds it, in words: "sandbox ktrdr--b (service backend)", "process 4242 (python3 -m http.server)". */
  holder: string;
}

/**
 * Ports of this sandbox held by something that is not this sandbox. Containers
 * are recognised by their compose labels (so re-running `up` on a running
 * sandbox is no conflict); anything else holding a port is found by binding it
 * and, where the OS tells, named by pid and command.
 */
export async function findPortConflicts(
  s: Sandbox,
  containers: readonly ContainerInfo[],
  registry: Registry,
): Promise<PortConflict[]> {
  const conflicts: PortConflict[] = [];
  for (const p of s.ports) {
    const holder = containers.find((c) => c.state === 'running' && c.hostPorts.includes(p.port));
    if (holder) {
      if (holder.project === s.project.name) continue;
      const service = holder.service ? ` (service ${holder.service})` : '';
      if (holder.project && registry.instances[holder.project]) {
        conflicts.push({ port: p.port, env: p.env, kind: 'sandbox', holder: `sandbox ${holder.project}${service}` });
      } else if (holder.project) {
        conflicts.push({
          port: p.port,
          env: p.env,
          kind: 'compose-project',
          holder: `compose project ${holder.project}${service}`,
        });
      } else {
        conflicts.push({ port: p.port, env: p.env, kind: 'container', holder: `container ${holder.name}` });
      }
      continue;
    }
    if (await isPortFreeAnywhere(p.port)) continue;
    const proc = await findPortHolder(p.port);
    conflicts.push({
      port: p.port,
      env: p.env,
      kind: 'process',
      holder: proc
        ? `process ${proc.pid} (${proc.command})`
        : 'a process the OS does not name (try: lsof -i :' + p.port + ')',
    });
  }
  return conflicts;
}

export function portConflictError(s: Sandbox, conflicts: readonly PortConflict[]): KinfraError {
  const lines = conflicts.map((c) => `  port ${c.port} (${c.env}) is held by ${c.holder}`);
  return new KinfraError(
    'port-conflict',
    'port-conflict',
    `Cannot start ${s.instanceId} ` +
      `(slot ${s.slot}): ${conflicts.length === 1 ? 'a port is' : `${conflicts.length} ports are`} in ` +
      `use:\n${lines.join('\n')}`,
    'Stop what holds them (for a sandbox: `kinfra sandbox down` in its folder), ' +
      'or move this sandbox to a free slot N ' +
      '(see kinfra sandbox list): `kinfra sandbox destroy --keep-worktree --yes && kinfra sandbox init --slot N` ' +
      '(destroy also removes its volumes).',
    { conflicts },
  );
}
