// `kinfra sandbox status`: what runs, every URL, the workers and the shared data.
import { join } from 'node:path';
import { listContainers, type ContainerInfo } from '../adapters/engine.js';
import { folderSize, pathExists } from '../adapters/folders.js';
import { probeHttp } from '../adapters/probes.js';
import type { HostnameUrls } from '../core/router/urls.js';
import { namedUrlsFor } from './router-address.js';
import type { AppContext } from './context.js';
import { liveFocus } from './focus-state.js';
import { ownsContainer, projectState, type ProjectState } from './engine-state.js';
import { inStack, publishes, resolveSandbox, sandboxStack, type SandboxUrl } from './the-sandbox.js';
import { serviceOfPort } from '../core/compose-model.js';
import { registration, workerList } from '../core/workers.js';

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
  services: SandboxUrl[];
  /** Services the layout names that the stack does not have. */
  absent: string[];
  /** Its URLs by name through the router. */
  hostnames: HostnameUrls;
  workers: WorkerStatus[];
  shared: { root: string; dirs: SharedDirStatus[] } | null;
  /** The main checkout's ports forward to this sandbox (`kinfra sandbox focus`). */
  focused: boolean;
}

const COUNT_LIMIT = 20_000;

/** The workers the backend lists, or undefined when it does not answer. */
async function listedWorkers(apiPort: number | undefined, path: string | undefined): Promise<unknown[] | undefined> {
  if (apiPort === undefined || path === undefined) return undefined;
  const o = await probeHttp(apiPort, path, { timeoutMs: 700 });
  return o.ok ? workerList(o.json) : undefined;
}

/** `kinfra sandbox status`: what runs, every URL, the workers and the shared data (seed 003). */
export async function sandboxStatus(ctx: AppContext): Promise<StatusReport> {
  const registry = await ctx.registry.snapshot();
  const s = await resolveSandbox(ctx, { registry });
  const containers = await listContainers();
  // Only its own: another kinfra's stack under the same project name is not this sandbox running.
  const owns = (c: ContainerInfo) => ownsContainer(c, s.stamp.owner, s.project.name, s.stamp.path);
  const mine = containers.filter(owns);
  const stack = await sandboxStack(s);
  const { urls, absent } = inStack(s, stack);
  const workersCheck = s.config.gate.find((c) => c.kind === 'workers');
  const apiPort = s.ports.find((p) => p.name === workersCheck?.port)?.port;
  const listed = mine.some((c) => c.state === 'running') ? await listedWorkers(apiPort, workersCheck?.path) : undefined;

  const rows = s.ports
    .filter((p) => p.worker !== undefined && publishes(stack, p.port))
    .map((p) => ({
      p,
      service:
        (stack ? serviceOfPort(stack.model, p.port) : undefined) ??
        mine.find((x) => x.hostPorts.includes(p.port))?.service,
    }));
  // The gate's own predicate: status never says "not registered" where the gate says registered.
  const reg = listed
    ? registration(
        rows.map((r) => r.service).filter((x): x is string => !!x),
        listed,
      )
    : undefined;
  const workers = rows.map(({ p, service }) => {
    const c = mine.find((x) => x.service === service) ?? mine.find((x) => x.hostPorts.includes(p.port));
    return {
      port: p.port,
      url: (p.url ?? 'http://localhost:{port}').replace('{port}', String(p.port)),
      service: service ?? null,
      state: c?.state ?? 'not created',
      registered: reg && service ? (reg.byService.get(service) ?? false) : null,
    };
  });

  const shared =
    s.config.shared && s.env[s.config.shared.env]
      ? {
          root: s.env[s.config.shared.env]!,
          dirs: s.config.shared.dirs.map((d) => {
            const path = s.env[d.env] ?? join(s.env[s.config.shared!.env]!, d.name);
            const exists = pathExists(path);
            return {
              name: d.name,
              path,
              exists,
              ...(exists ? folderSize(path, COUNT_LIMIT) : { files: 0, bytes: 0, partial: false }),
            };
          }),
        }
      : null;

  const named = await namedUrlsFor(ctx);
  return {
    instanceId: s.instanceId,
    slot: s.slot,
    path: s.path,
    registered: s.entry !== undefined,
    project: s.project.name,
    containers: projectState(containers, s.project.name, owns),
    services: urls,
    absent,
    hostnames: named(s.instanceId, Object.fromEntries(s.ports.map((p) => [p.name, p.port])), s.entry?.main_http),
    workers,
    shared,
    focused: (await liveFocus(ctx, registry))?.instance === s.instanceId,
  };
}
