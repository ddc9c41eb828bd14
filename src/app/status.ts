import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listContainers, type ContainerInfo } from '../adapters/engine.js';
import { probeHttp } from '../adapters/probes.js';
import type { AppContext } from './context.js';
import { resolveSandbox, sandboxPorts } from './current.js';
import { ownsContainer, projectState, type ProjectState } from './engine-state.js';
import { serviceUrls, type ServiceUrl } from './up.js';

export interface WorkerStatus {
  port: number;
  url: string;
  service: string | null;
  state: string;
  /** null when the backend did not answer. */
  registered: boolean | null;
}

export interface SharedDirStatus {
  name: string;
  path: string;
  exists: boolean;
  files: number;
  bytes: number;
  /** True when counting stopped early (very large folders). */
  partial: boolean;
}

export interface StatusReport {
  instanceId: string;
  slot: number;
  path: string;
  registered: boolean;
  project: string;
  containers: ProjectState;
  services: (ServiceUrl & { port: number })[];
  workers: WorkerStatus[];
  shared: { root: string; dirs: SharedDirStatus[] } | null;
}

const COUNT_LIMIT = 20_000;

function sizeOf(dir: string): { files: number; bytes: number; partial: boolean } {
  let files = 0;
  let bytes = 0;
  const stack = [dir];
  while (stack.length > 0 && files < COUNT_LIMIT) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) stack.push(join(d, e.name));
      else if (e.isFile()) {
        files++;
        bytes += statSync(join(d, e.name), { throwIfNoEntry: false })?.size ?? 0;
      }
    }
  }
  return { files, bytes, partial: stack.length > 0 };
}

/** Worker ids the backend reports as registered, or undefined when it does not answer. */
async function registeredWorkers(apiPort: number | undefined, path: string | undefined): Promise<Set<string> | undefined> {
  if (apiPort === undefined || path === undefined) return undefined;
  const o = await probeHttp(apiPort, path, { timeoutMs: 700 });
  const list = Array.isArray(o.json) ? o.json : (o.json as { workers?: unknown })?.workers;
  if (!o.ok || !Array.isArray(list)) return undefined;
  return new Set(list.map((w: { id?: unknown; name?: unknown }) => String(w?.id ?? w?.name ?? '')));
}

/** `kinfra sandbox status`: what runs, every URL, the workers and the shared data (seed 003). */
export async function sandboxStatus(ctx: AppContext): Promise<StatusReport> {
  const s = await resolveSandbox(ctx);
  const containers = await listContainers();
  // Only its own: another kinfra's stack under the same project name is not this sandbox running.
  const owns = (c: ContainerInfo) => ownsContainer(c, s.stamp.owner, s.project.name, s.stamp.path);
  const mine = containers.filter(owns);
  const ports = sandboxPorts(s);
  const urls = serviceUrls(s);
  const workersCheck = s.config.gate.find((c) => c.kind === 'workers');
  const apiPort = ports.find((p) => p.name === workersCheck?.port)?.port;
  const registered = mine.some((c) => c.state === 'running') ? await registeredWorkers(apiPort, workersCheck?.path) : undefined;

  const workers = ports.filter((p) => p.worker !== undefined).map((p) => {
    const c = mine.find((x) => x.hostPorts.includes(p.port));
    return {
      port: p.port,
      url: (p.url ?? 'http://localhost:{port}').replace('{port}', String(p.port)),
      service: c?.service ?? null,
      state: c?.state ?? 'not created',
      registered: registered && c?.service ? registered.has(c.service) : null,
    };
  });

  const shared = s.config.shared && s.env[s.config.shared.env]
    ? {
        root: s.env[s.config.shared.env]!,
        dirs: s.config.shared.dirs.map((d) => {
          const path = s.env[d.env] ?? join(s.env[s.config.shared!.env]!, d.name);
          const exists = existsSync(path);
          return { name: d.name, path, exists, ...(exists ? sizeOf(path) : { files: 0, bytes: 0, partial: false }) };
        }),
      }
    : null;

  return {
    instanceId: s.instanceId,
    slot: s.slot,
    path: s.path,
    registered: s.entry !== undefined,
    project: s.project.name,
    containers: projectState(containers, s.project.name, owns),
    services: urls.map((u) => ({ ...u, port: ports.find((p) => p.name === u.name)!.port })),
    workers,
    shared,
  };
}
