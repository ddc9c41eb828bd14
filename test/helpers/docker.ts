import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, workspace, type Workspace } from './cli.js';

/** Compose projects of the E2E tests all start with this prefix (kinfra.yaml below). */
export const E2E_PREFIX = 'kte';

function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`docker is not installed: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Fails (never skips) when there is no engine: the E2E tests must run in CI. */
export function requireEngine(): void {
  docker(['info', '--format', '{{.ServerVersion}}']);
}

/** Build the example stack's images once, under one fixed project name (so their ids do not change per sandbox). */
export function buildExampleImages(): void {
  const r = spawnSync(
    'docker',
    ['compose', '-p', 'kinfra-build', '-f', join(REPO_ROOT, 'examples/stack/docker-compose.yml'), 'build'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (r.status !== 0) throw new Error(`building the example images failed: ${r.stderr}`);
}

/** Everything the engine has of compose projects whose name starts with `prefix`. */
export function leftovers(prefix = `${E2E_PREFIX}--`): { containers: string[]; volumes: string[]; networks: string[] } {
  const list = (args: string[]) =>
    docker(args)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'))
      .filter(([, p]) => p?.startsWith(prefix))
      .map(([n]) => n!);
  const label = '{{.Label "com.docker.compose.project"}}';
  return {
    containers: list(['ps', '-a', '--format', `{{.ID}}\t${label}`]),
    volumes: list(['volume', 'ls', '--format', `{{.Name}}\t${label}`]),
    networks: list(['network', 'ls', '--format', `{{.Name}}\t${label}`]),
  };
}

/** Remove what an earlier, killed run may have left behind. */
export function removeLeftovers(prefix = `${E2E_PREFIX}--`): void {
  const l = leftovers(prefix);
  if (l.containers.length) docker(['rm', '-f', '-v', ...l.containers]);
  if (l.volumes.length) docker(['volume', 'rm', '-f', ...l.volumes]);
  if (l.networks.length) docker(['network', 'rm', ...l.networks]);
}

export function containerOf(project: string, service: string): string {
  return docker([
    'ps',
    '-q',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
  ]);
}

export function dockerStop(id: string): void {
  docker(['stop', '-t', '2', id]);
}

/**
 * Ports far from the defaults, so the E2E stacks never meet a developer's own
 * (slot N: API 28000+N, DB 25432+N, ...). Same variables as the example stack.
 */
export const E2E_CONFIG = `prefix: ${E2E_PREFIX}
compose_files: [docker-compose.yml]
ports:
  api: { env: KTRDR_API_PORT, base: 28000, label: API, url: "http://localhost:{port}/api/v1/docs" }
  db: { env: KTRDR_DB_PORT, base: 25432, label: Database, url: "localhost:{port}" }
  grafana: { env: KTRDR_GRAFANA_PORT, base: 23000, label: Grafana, url: "http://localhost:{port}" }
  jaeger_ui: { env: KTRDR_JAEGER_UI_PORT, base: 36686, label: Jaeger, url: "http://localhost:{port}" }
  jaeger_otlp_grpc: { env: KTRDR_JAEGER_OTLP_GRPC_PORT, base: 24317, step: 10 }
  jaeger_otlp_http: { env: KTRDR_JAEGER_OTLP_HTTP_PORT, base: 24318, step: 10 }
  prometheus: { env: KTRDR_PROMETHEUS_PORT, base: 29090, label: Prometheus, url: "http://localhost:{port}" }
workers: { env_prefix: KTRDR_WORKER_PORT_, count: 4, base: 25000, step: 10, main: 25003 }
shared:
  env: KTRDR_SHARED_DIR
  root: ~/.ktrdr/shared
  dirs: { data: KTRDR_DATA_DIR, models: KTRDR_MODELS_DIR, strategies: KTRDR_STRATEGIES_DIR }
gate:
  checks:
    - { name: Database, kind: postgres, port: db }
    - { name: Backend, kind: http, port: api, path: /api/v1/health, status: 200 }
    - { name: Workers, kind: workers, port: api, path: /api/v1/workers, after: [Backend] }
    - { name: Observability, kind: http, port: jaeger_ui, path: /, status: [200, 302] }
`;

/** A scratch project holding the example stack and the E2E kinfra.yaml. */
export function exampleWorkspace(config = E2E_CONFIG): Workspace {
  const ws = workspace({ 'kinfra.yaml': config });
  cpSync(join(REPO_ROOT, 'examples/stack'), ws.repo, { recursive: true });
  writeFileSync(join(ws.repo, 'kinfra.yaml'), config);
  ws.git(['add', '-A']);
  ws.git(['commit', '-qm', 'example stack']);
  return ws;
}

/**
 * A stand-in for the Docker daemon's socket that forwards to the real one, so a
 * test can make "the daemon" vanish mid-command (stop()) and come back (start())
 * without stopping the engine other tests use. Point DOCKER_HOST at `host`.
 */
export interface EngineProxy {
  host: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function engineProxy(dir: string, target = '/var/run/docker.sock'): EngineProxy {
  const path = join(dir, 'docker.sock');
  let server: import('node:net').Server | undefined;
  const open = new Set<import('node:net').Socket>();
  return {
    host: `unix://${path}`,
    async start() {
      const net = await import('node:net');
      const { rmSync } = await import('node:fs');
      rmSync(path, { force: true });
      server = net.createServer((client) => {
        const upstream = net.connect(target);
        open.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          open.delete(client);
          open.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server!.listen(path, resolve));
    },
    async stop() {
      for (const s of open) s.destroy();
      open.clear();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    },
  };
}

/**
 * A stand-in for the daemon's socket that holds every connection until open() is called (or, with `autoOpenMs`,
 * that long after the first one), then forwards to the real one. `held` resolves at the first connection: the
 * command under test is then inside its first engine call, which is how a test pins a command in the middle of
 * what it does (e.g. a release resetting a slot) while other commands run. `heldAt` and `openedAt` say when.
 */
export interface GatedEngine {
  host: string;
  held: Promise<void>;
  heldAt: number | undefined;
  openedAt: number | undefined;
  open(): void;
  close(): Promise<void>;
}

export async function gatedEngine(
  dir: string,
  opts: { name?: string; autoOpenMs?: number } = {},
  target = '/var/run/docker.sock',
): Promise<GatedEngine> {
  const net = await import('node:net');
  const path = join(dir, `${opts.name ?? 'gated'}-docker.sock`);
  const sockets = new Set<import('node:net').Socket>();
  const waiting: (() => void)[] = [];
  let first!: () => void;
  const held = new Promise<void>((resolve) => (first = resolve));
  let timer: NodeJS.Timeout | undefined;
  const engine: GatedEngine = {
    host: `unix://${path}`,
    held,
    heldAt: undefined,
    openedAt: undefined,
    open() {
      engine.openedAt ??= Date.now();
      for (const f of waiting.splice(0)) f();
    },
    close() {
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    if (engine.heldAt === undefined) {
      engine.heldAt = Date.now();
      if (opts.autoOpenMs !== undefined) timer = setTimeout(() => engine.open(), opts.autoOpenMs);
      first();
    }
    const forward = () => {
      const upstream = net.connect(target);
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
    };
    if (engine.openedAt !== undefined) forward();
    else waiting.push(forward);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return engine;
}

/** The pid of a router of this HOME, if its command line still proves it is one (never anything else). */
export function provenRouter(pid: number | undefined): number | undefined {
  if (!pid || !existsSync(`/proc/${pid}/cmdline`)) return undefined;
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('router-serve') ? pid : undefined;
}

/**
 * What a suite that started a router of its workspace and created sandboxes leaves behind, removed: the router
 * stopped (SIGKILL only when stop failed, to the pid it reported once its command line proves it is the router), the
 * sandboxes destroyed, the engine's leftovers of `prefix` and the workspace.
 */
export async function removeRouterWorkspace(
  ws: Workspace | undefined,
  opts: { routerPid: number | undefined; created: Iterable<string>; prefix: string },
): Promise<void> {
  if (ws) {
    await ws.run(['router', 'stop']);
    const left = provenRouter(opts.routerPid);
    if (left) process.kill(left, 'SIGKILL');
    for (const id of opts.created) await ws.run(['sandbox', 'destroy', id, '--force', '--yes']);
  }
  removeLeftovers(opts.prefix);
  ws?.cleanup();
}
