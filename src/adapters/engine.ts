// The Docker Engine, through the `docker` CLI (it honours docker contexts and DOCKER_HOST, which dockerode does not).
// Containers, volumes and networks are found by compose labels, never by parsing names: Compose v1 names containers
// `proj_web_1`, v2 `proj-web-1`.

import { KinfraError } from '../core/errors.js';
import { OWNER_LABEL, PATH_LABEL, SANDBOX_LABEL, type Labelled } from '../core/ownership.js';
import { engineGet } from './engine-api.js';
import { assertResponding, CHANGE_MS, currentCommand, notResponding, queryMs } from './engine-deadline.js';
import { run, type RunResult } from './runner.js';

export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
export const WORKING_DIR_LABEL = 'com.docker.compose.project.working_dir';

export interface ContainerInfo {
  id: string;
  name: string;
  /** running, exited, created, restarting, paused, dead */
  state: string;
  /** Human status, e.g. "Up 3 minutes (healthy)". */
  status: string;
  health: 'healthy' | 'unhealthy' | 'starting' | undefined;
  project: string | undefined;
  service: string | undefined;
  /** Host ports this container publishes (TCP and UDP). */
  hostPorts: number[];
  /** The folder compose ran in: for a sandbox, its worktree (doctor finds lost sandboxes by it). */
  workingDir: string | undefined;
  /** kinfra's ownership labels (dev.kinfra.*) it carries. */
  labels: Record<string, string>;
  /** Names of the volumes it mounts. */
  volumes: string[];
}

export interface LabelledResource {
  name: string;
  project: string;
  /** kinfra's ownership labels (dev.kinfra.*) it carries. */
  labels: Record<string, string>;
  /** Volumes: when the engine created it. */
  createdAt?: string | undefined;
}

const KINFRA_LABELS = [OWNER_LABEL, SANDBOX_LABEL, PATH_LABEL] as const;

function kinfraLabels(all: Record<string, string | undefined> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KINFRA_LABELS) if (all?.[k]) out[k] = all[k]!;
  return out;
}

/** A container as the ownership rules see it. */
export function containerLabelled(c: ContainerInfo): Labelled {
  return { kind: 'container', name: c.id, project: c.project, labels: c.labels, workingDir: c.workingDir };
}

export function resourceLabelled(kind: 'volume' | 'network', r: LabelledResource): Labelled {
  return { kind, name: r.name, project: r.project, labels: r.labels, createdAt: r.createdAt };
}

const CONTAINER_FORMAT =
  '{"id":{{json .ID}},"name":{{json .Names}},"state":{{json .State}},' +
  '"status":{{json .Status}},"ports":{{json .Ports}},' +
  `"project":{{json (.Label "${PROJECT_LABEL}")}},"service":{{json (.Label "${SERVICE_LABEL}")}},` +
  `"workingDir":{{json (.Label "${WORKING_DIR_LABEL}")}},"mounts":{{json .Mounts}},` +
  `"owner":{{json (.Label "${OWNER_LABEL}")}},"sandbox":{{json (.Label "${SANDBOX_LABEL}")}},` +
  `"path":{{json (.Label "${PATH_LABEL}")}}}`;

/** Classify a failed docker call into one actionable error (exit 7). */
export function engineError(r: RunResult | undefined, what: string): KinfraError {
  const text = r ? `${r.stderr}\n${r.stdout}` : '';
  if (r === undefined) {
    return new KinfraError(
      'engine',
      'docker-missing',
      'Docker is not installed: there is no `docker` command on PATH.',
      'Install Docker Engine (https://docs.docker.com/engine/install/) and run the command again.',
    );
  }
  if (/permission denied/i.test(text)) {
    return new KinfraError(
      'engine',
      'docker-permission-denied',
      'Permission denied talking to the Docker daemon.',
      'Add yourself to the docker group (sudo usermod -aG docker $USER), log in again, and retry.',
    );
  }
  if (
    /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|connection refused/i.test(
      text,
    )
  ) {
    return new KinfraError(
      'engine',
      'docker-not-running',
      'The Docker daemon is not running.',
      'Start it (sudo systemctl start docker, or open Docker Desktop) and run the command again.',
    );
  }
  const last = text.trim().split('\n').filter(Boolean).pop() ?? `exit ${r.exitCode}`;
  return new KinfraError(
    'engine',
    'docker-failed',
    `docker could not ${what}: ${last}`,
    'Check that Docker works: docker info',
  );
}

/** One docker CLI call, with a deadline: a query's unless it changes something (engine-deadline.ts). */
async function docker(args: string[], what: string, deadlineMs = queryMs()): Promise<string> {
  assertResponding();
  const startedIn = currentCommand();
  let r: RunResult;
  try {
    r = await run('docker', args, { timeoutMs: deadlineMs });
  } catch (e) {
    if ((e as KinfraError).code === 'tool-missing') throw engineError(undefined, what);
    throw e;
  }
  if (r.timedOut) throw notResponding(`\`${commandName(args)}\``, deadlineMs, startedIn);
  if (r.exitCode !== 0) throw engineError(r, what);
  return r.stdout;
}

/** `docker ps`, `docker volume ls`: the command without its options and names. */
function commandName(args: readonly string[]): string {
  const words: string[] = [];
  for (const a of args) {
    if (a.startsWith('-') || words.length === 2) break;
    words.push(a);
  }
  return ['docker', ...words].join(' ');
}

function jsonLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** Host ports in a `docker ps` Ports column: "127.0.0.1:8001->8000/tcp, :::5000-5001->5000-5001/tcp". */
export function parseHostPorts(ports: string): number[] {
  const found = new Set<number>();
  for (const m of ports.matchAll(/:(\d+)(?:-(\d+))?->/g)) {
    const from = Number(m[1]);
    const to = m[2] ? Number(m[2]) : from;
    for (let p = from; p <= to && p - from < 1000; p++) found.add(p);
  }
  return [...found].sort((a, b) => a - b);
}

function healthOf(status: string): ContainerInfo['health'] {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status);
  if (!m) return undefined;
  return m[1] === 'health: starting' ? 'starting' : (m[1] as 'healthy' | 'unhealthy');
}

interface ApiContainer {
  Id: string;
  Names?: string[];
  State?: string;
  Status?: string;
  Labels?: Record<string, string> | null;
  Ports?: { PublicPort?: number }[] | null;
  Mounts?: { Type?: string; Name?: string }[] | null;
}

function fromApi(c: ApiContainer): ContainerInfo {
  const labels = c.Labels ?? {};
  const status = c.Status ?? '';
  return {
    id: c.Id.slice(0, 12),
    name: (c.Names?.[0] ?? '').replace(/^\//, ''),
    state: c.State ?? '',
    status,
    health: healthOf(status),
    project: labels[PROJECT_LABEL] || undefined,
    service: labels[SERVICE_LABEL] || undefined,
    workingDir: labels[WORKING_DIR_LABEL] || undefined,
    labels: kinfraLabels(labels),
    volumes: (c.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!),
    hostPorts: [
      ...new Set((c.Ports ?? []).map((p) => p.PublicPort).filter((p): p is number => typeof p === 'number')),
    ].sort((a, b) => a - b),
  };
}

const labelFilter = encodeURIComponent(JSON.stringify({ label: [PROJECT_LABEL] }));

/** Every container on the engine, running or not: one query serves a whole `list`. */
export async function listContainers(): Promise<ContainerInfo[]> {
  return (await containersFromApi()) ?? containersFromCli();
}

export async function containersFromApi(): Promise<ContainerInfo[] | undefined> {
  return (await engineGet<ApiContainer[]>('/containers/json?all=1'))?.map(fromApi);
}

export async function containersFromCli(): Promise<ContainerInfo[]> {
  const out = await docker(['ps', '-a', '--no-trunc', '--format', CONTAINER_FORMAT], 'list containers');
  type Row = {
    id: string;
    name: string;
    state: string;
    status: string;
    ports: string;
    project: string;
    service: string;
    workingDir: string;
    mounts: string;
    owner: string;
    sandbox: string;
    path: string;
  };
  return jsonLines<Row>(out).map((c) => ({
    id: c.id.slice(0, 12),
    name: c.name,
    state: c.state,
    status: c.status,
    health: healthOf(c.status),
    project: c.project || undefined,
    service: c.service || undefined,
    workingDir: c.workingDir || undefined,
    labels: kinfraLabels({ [OWNER_LABEL]: c.owner, [SANDBOX_LABEL]: c.sandbox, [PATH_LABEL]: c.path }),
    // The CLI names only volumes here (bind mounts show as paths).
    volumes: c.mounts
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '' && !m.includes('/')),
    hostPorts: parseHostPorts(c.ports),
  }));
}

type ApiResource = { Name: string; Labels?: Record<string, string> | null; CreatedAt?: string; Created?: string };
const resources = (list: ApiResource[]): LabelledResource[] =>
  list
    .map((r) => ({
      name: r.Name,
      project: r.Labels?.[PROJECT_LABEL] ?? '',
      labels: kinfraLabels(r.Labels),
      createdAt: r.CreatedAt ?? r.Created,
    }))
    .filter((r) => r.project !== '');

/**
 * `docker volume|network inspect` of every one carrying a compose project label (the CLI's ls has no creation time).
 */
async function inspectAll(kind: 'volume' | 'network'): Promise<LabelledResource[]> {
  const names = (await docker([kind, 'ls', '-q', '--filter', `label=${PROJECT_LABEL}`], `list ${kind}s`))
    .split('\n')
    .filter(Boolean);
  if (names.length === 0) return [];
  return resources(JSON.parse(await docker([kind, 'inspect', ...names], `inspect ${kind}s`)) as ApiResource[]);
}

export async function listProjectVolumes(): Promise<LabelledResource[]> {
  const api = await engineGet<{ Volumes: ApiResource[] | null }>(`/volumes?filters=${labelFilter}`);
  if (api) return resources(api.Volumes ?? []);
  return inspectAll('volume');
}

export async function listProjectNetworks(): Promise<LabelledResource[]> {
  const api = await engineGet<ApiResource[]>(`/networks?filters=${labelFilter}`);
  if (api) return resources(api);
  return inspectAll('network');
}

/** Remove containers by id (with their anonymous volumes). Callers pass only ids they proved are theirs. */
export async function removeContainers(ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await docker(['rm', '--force', '--volumes', ...ids], 'remove containers', CHANGE_MS);
}

/** Remove volumes by name. Callers pass only names they proved are theirs. */
export async function removeVolumes(names: readonly string[]): Promise<void> {
  if (names.length > 0) await docker(['volume', 'rm', ...names], 'remove volumes', CHANGE_MS);
}

/** Remove networks by name; the engine refuses one that a container still uses. */
export async function removeNetworks(names: readonly string[]): Promise<void> {
  if (names.length > 0) await docker(['network', 'rm', ...names], 'remove networks', CHANGE_MS);
}

/** The Engine's version: proof it answers (doctor). */
export async function engineVersion(): Promise<string> {
  const api = await engineGet<{ Version?: string }>('/version');
  if (api?.Version) return api.Version;
  return (await docker(['version', '--format', '{{.Server.Version}}'], 'reach the engine')).trim();
}

/** Whether compose project `project` still has containers or volumes on the engine (two queries). */
export async function projectHasResources(project: string): Promise<boolean> {
  const [containers, volumes] = await Promise.all([listContainers(), listProjectVolumes()]);
  return containers.some((c) => c.project === project) || volumes.some((v) => v.project === project);
}
