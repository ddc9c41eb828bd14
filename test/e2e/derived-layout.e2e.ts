import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, git, kinfra, parseJson, type CliResult } from '../helpers/cli.js';
import { requireEngine } from '../helpers/docker.js';

/**
 * Issue 14 ("Any Compose project, unchanged") on a real Docker Engine: a plain compose project, with literal host
 * ports, a container_name, a healthcheck, a one-shot init service the web service waits for and a named volume, and
 * no kinfra.yaml. Its main checkout runs with plain `docker compose up -d`; two sandboxes of it run beside it, each on
 * ports of its own, each passing the gate kinfra derives without configuration; destroying them leaves the main
 * checkout's stack as it was. Once with Compose v2, once with v1, once with v2 and the fully rendered file.
 *
 * The repository folder is `ktd` (no kinfra.yaml: its name is the prefix), so the main checkout's compose project is
 * `ktd` and the sandboxes' are `ktd--a` and `ktd--b`; the literal ports are 46080 and 127.0.0.1:46081, far from
 * the other suites' (28000+, 37-39xxx). The image is built from debian:bookworm-slim with only perl-base in it
 * (no apt, no network): a tiny HTTP server and its healthcheck.
 */
const FOLDER = 'ktd';
const IMAGE = 'ktd-web:e2e';
const CONTAINER_NAME = 'ktd-web';
const WEB_PORT = 46080;
const LOCAL_PORT = 46081;
/** Scratch roots of this suite: anything on the engine that names a folder under one is this suite's. */
const SCRATCH = 'kinfra-ktd-';
/** The sandboxes: ktd--a and ktd--b. */
const NAMES = ['a', 'b'] as const;
type Name = (typeof NAMES)[number];

const DOCKERFILE = `FROM debian:bookworm-slim
COPY server.pl health.pl /app/
CMD ["perl", "/app/server.pl", "8080"]
`;

/** Answers every request on each port it is given with 200 and what init wrote to the volume. */
const SERVER = `use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
$| = 1;
$SIG{TERM} = $SIG{INT} = sub { exit 0 };
$SIG{CHLD} = 'IGNORE';
my $select = IO::Select->new;
for my $port (@ARGV) {
  my $s = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $port, Listen => 32, ReuseAddr => 1)
    or die "cannot listen on $port: $!\\n";
  $select->add($s);
  print "listening on $port\\n";
}
while (1) {
  for my $s ($select->can_read) {
    my $c = $s->accept or next;
    if (fork() == 0) {
      alarm 5;
      my $line = <$c> // '';
      while (my $l = <$c>) { last if $l =~ /^\\r?\\n$/ }
      my $init = 'missing';
      if (open my $f, '<', '/data/init.txt') { $init = <$f> // ''; chomp $init; close $f }
      my $body = "ktd web on port " . $s->sockport . ", init: $init\\n";
      print $c "HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: " . length($body) .
        "\\r\\nConnection: close\\r\\n\\r\\n$body";
      close $c;
      exit 0;
    }
    close $c;
  }
}
`;

/** Healthy once init's file is on the volume and the server answers 200 on 8080. */
const HEALTH = `use strict;
use warnings;
use IO::Socket::INET;
-e '/data/init.txt' or exit 1;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:8080', Timeout => 2) or exit 1;
print $s "GET / HTTP/1.0\\r\\n\\r\\n";
my $status = <$s> // '';
exit($status =~ m{^HTTP/1\\.[01] 200 } ? 0 : 1);
`;

/**
 * The project's compose file, nothing kinfra-specific in it. No `version:` key: Compose v1 1.29 reads a file
 * without one as a Compose Specification file, and there it accepts `pull_policy` and waits for
 * `condition: service_completed_successfully`, as v2 does; one file serves both. Only web builds (its image named,
 * so the sandboxes use the main checkout's): v2 builds once per service that has `build:`, leaving the copy it
 * tagged first dangling, and v1 pulls (never builds) an `image:` without `build:` when it is missing, whatever
 * `pull_policy` says. init runs the base image, which is there.
 */
const COMPOSE = `services:
  init:
    image: debian:bookworm-slim
    pull_policy: never
    restart: "no"
    command: ["sh", "-c", "echo initialised > /data/init.txt"]
    volumes:
      - data:/data
  web:
    image: ${IMAGE}
    build: .
    pull_policy: never
    container_name: ${CONTAINER_NAME}
    command: ["perl", "/app/server.pl", "8080", "8081"]
    ports:
      - "${WEB_PORT}:8080"
      - "127.0.0.1:${LOCAL_PORT}:8081"
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD", "perl", "/app/health.pl"]
      interval: 1s
      timeout: 3s
      retries: 30
    depends_on:
      init:
        condition: service_completed_successfully
volumes:
  data: {}
`;

const FILES: Record<string, string> = {
  'docker-compose.yml': COMPOSE,
  Dockerfile: DOCKERFILE,
  'server.pl': SERVER,
  'health.pl': HEALTH,
  'README.md': '# ktd: a plain compose project\n',
};

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
  return { code: r.status ?? -1, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

function docker(args: string[]): string {
  const r = run('docker', args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const lines = (text: string) => text.split('\n').filter(Boolean);
const show = (r: CliResult) => `exit ${r.code}\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr.slice(0, 3000)}`;

/** The scratch roots, as given and with links resolved (a label may carry either). */
const scratchRoots = () => [...new Set([tmpdir(), realpathSync(tmpdir())])].map((d) => join(d, SCRATCH));

/**
 * Whether an engine object is this suite's: of the main checkout's project (`ktd`), of a `ktd--` sandbox, or made
 * by a compose or kinfra run in one of this suite's scratch folders (whatever prefix kinfra gave it).
 */
function ours(project: string, ...folders: string[]): boolean {
  if (project === FOLDER || project.startsWith(`${FOLDER}--`)) return true;
  return folders.some((f) => f !== '' && scratchRoots().some((root) => f.startsWith(root)));
}

/** Remove every container, volume and network of this suite (also what a killed run left behind), nothing else. */
function sweep(): void {
  const label = (k: string) => `{{.Label "${k}"}}`;
  const fields = [
    label('com.docker.compose.project'),
    label('dev.kinfra.path'),
    label('com.docker.compose.project.working_dir'),
  ].join('\t');
  const pick = (out: string) =>
    lines(out)
      .map((l) => l.split('\t'))
      .filter(([, project = '', ...folders]) => ours(project, ...folders))
      .map(([id]) => id!);
  const containers = pick(docker(['ps', '-a', '--format', `{{.ID}}\t${fields}`]));
  if (containers.length) docker(['rm', '-f', '-v', ...containers]);
  const volumes = pick(docker(['volume', 'ls', '--format', `{{.Name}}\t${fields}`]));
  if (volumes.length) docker(['volume', 'rm', '-f', ...volumes]);
  const networks = pick(docker(['network', 'ls', '--format', `{{.Name}}\t${fields}`]));
  if (networks.length) docker(['network', 'rm', ...networks]);
}

/** Remove the image, and any other image a compose build of this suite's projects left (v2 labels them). */
function removeImages(): void {
  const projects = [FOLDER, ...NAMES.map((n) => `${FOLDER}--${n}`)];
  const ids = new Set(
    projects.flatMap((p) => lines(docker(['images', '-aq', '--filter', `label=com.docker.compose.project=${p}`]))),
  );
  for (const ref of [IMAGE, ...ids]) run('docker', ['image', 'rm', ref]);
}

/** What one compose project holds on the engine. */
function projectResources(project: string): { containers: string[]; volumes: string[]; networks: string[] } {
  const filter = ['--filter', `label=com.docker.compose.project=${project}`];
  return {
    containers: lines(docker(['ps', '-aq', '--no-trunc', ...filter])).sort(),
    volumes: lines(docker(['volume', 'ls', '-q', ...filter])).sort(),
    networks: lines(docker(['network', 'ls', '-q', ...filter])).sort(),
  };
}

/** The one container of a service of a project (any state). */
function containerOf(project: string, service: string): string {
  const ids = lines(
    docker([
      'ps',
      '-aq',
      '--no-trunc',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
    ]),
  );
  if (ids.length !== 1) throw new Error(`${project} has ${ids.length} ${service} containers, expected 1`);
  return ids[0]!;
}

interface ContainerState {
  id: string;
  name: string;
  status: string;
  /** When it last started: a restart keeps the id, not this. */
  startedAt: string;
  exitCode: number;
  health: string | undefined;
  ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
}

function inspectContainer(id: string): ContainerState {
  const c = JSON.parse(docker(['inspect', '--type', 'container', '--format', '{{json .}}', id])) as {
    Id: string;
    Name: string;
    State: { Status: string; StartedAt: string; ExitCode: number; Health?: { Status: string } };
    NetworkSettings: { Ports: ContainerState['ports'] | null };
  };
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    status: c.State.Status,
    startedAt: c.State.StartedAt,
    exitCode: c.State.ExitCode,
    health: c.State.Health?.Status,
    ports: c.NetworkSettings.Ports ?? {},
  };
}

/** The host ports a container publishes for one of its ports (`8080/tcp`), with their host IPs. */
function bindings(id: string, containerPort: string): { ip: string; port: number }[] {
  return (inspectContainer(id).ports[containerPort] ?? []).map((b) => ({ ip: b.HostIp, port: Number(b.HostPort) }));
}

/** The one host port a container publishes for a container port (IPv4 and IPv6 bindings of it agree). */
function hostPort(id: string, containerPort: string): number {
  const ports = [...new Set(bindings(id, containerPort).map((b) => b.port))];
  if (ports.length !== 1) throw new Error(`${id.slice(0, 12)} publishes ${containerPort} on ${ports.join(', ')}`);
  return ports[0]!;
}

/** Every container on the engine named exactly `name`. */
function containersNamed(name: string): string[] {
  return lines(docker(['ps', '-aq', '--no-trunc', '--filter', `name=^/${name}$`]));
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** GET / on a host port: status and body, or the error as the body (status 0). */
function get(port: number, host = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/', method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
    req.end();
  });
}

interface Run {
  /** How the run is told apart in its describe's name. */
  name: string;
  /** kinfra's own environment for this run. */
  env: Record<string, string>;
  /** The main checkout's compose command. */
  compose: string[];
}

const RUNS: Run[] = [
  { name: 'Compose v2', env: { KINFRA_COMPOSE: 'v2' }, compose: ['docker', 'compose'] },
  { name: 'Compose v1', env: { KINFRA_COMPOSE: 'v1' }, compose: ['docker-compose'] },
  {
    name: 'Compose v2, fully rendered file',
    env: { KINFRA_COMPOSE: 'v2', KINFRA_COMPOSE_MERGE: 'rendered' },
    compose: ['docker', 'compose'],
  },
];

beforeAll(() => {
  requireEngine();
  sweep();
  removeImages();
});
afterAll(() => {
  sweep();
  removeImages();
});

for (const r of RUNS) {
  describe(`derived layout (issue 14): any compose project, unchanged, ${r.name}`, () => {
    let root: string;
    let home: string;
    let dev: string;
    let repo: string;
    const instance = (n: Name) => `${FOLDER}--${n}`;
    const folder = (n: Name) => join(dev, instance(n));
    const created = new Map<Name, { ports: Record<string, number>; path: string }>();
    const upped = new Set<Name>();
    let main: ContainerState;

    const cli = (args: string[], cwd = repo) => kinfra(args, { cwd, home, env: r.env });
    const compose = (args: string[]) => {
      const [cmd, ...pre] = r.compose;
      return run(cmd!, [...pre, ...args], { cwd: repo, env: cliEnv(home) });
    };
    /** The main checkout's web container: running, healthy, the same one it was. */
    const mainWeb = () => inspectContainer(containersNamed(CONTAINER_NAME)[0] ?? 'no such container');

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), SCRATCH));
      home = join(root, 'home');
      dev = join(root, 'dev');
      repo = join(dev, FOLDER);
      mkdirSync(home, { recursive: true });
      mkdirSync(repo, { recursive: true });
      writeFileSync(
        join(home, '.gitconfig'),
        '[user]\n\tname = kinfra test\n\temail = test@kinfra.local\n[init]\n\tdefaultBranch = main\n',
      );
      for (const [name, text] of Object.entries(FILES)) writeFileSync(join(repo, name), text);
      git(repo, ['init', '-q', '-b', 'main'], home);
      git(repo, ['add', '-A'], home);
      git(repo, ['commit', '-qm', 'a plain compose project'], home);

      // 1. The main checkout runs its stack with plain compose, project name = folder name.
      const up = compose(['up', '-d']);
      if (up.code !== 0) throw new Error(`${r.compose.join(' ')} up -d failed: ${up.stderr}`);
      main = await waitFor(
        'the main checkout to be healthy',
        () => {
          const ids = containersNamed(CONTAINER_NAME);
          const c = ids.length === 1 ? inspectContainer(ids[0]!) : undefined;
          if (c?.health === 'unhealthy') throw new Error(`${CONTAINER_NAME} is unhealthy`);
          return c?.health === 'healthy' ? c : undefined;
        },
        90_000,
      );
    }, 300_000);

    afterAll(async () => {
      // Whatever a failing step left: the sandboxes first (kinfra's own way, then by force), then the main stack.
      for (const n of NAMES) if (created.has(n)) await cli(['sandbox', 'destroy', n, '--force', '--json']);
      if (repo && existsSync(repo)) compose(['down', '-v', '-t', '2']);
      sweep();
      removeImages();
      if (root) rmSync(root, { recursive: true, force: true });
    }, 300_000);

    it(`the main checkout's plain ${r.compose.join(' ')} up -d: init done, web healthy on ${WEB_PORT}`, async () => {
      expect(main.name).toBe(CONTAINER_NAME);
      expect(main.status).toBe('running');
      expect(inspectContainer(containerOf(FOLDER, 'init'))).toMatchObject({ status: 'exited', exitCode: 0 });
      expect(bindings(main.id, '8080/tcp').map((b) => b.port)).toContain(WEB_PORT);
      expect(bindings(main.id, '8081/tcp')).toEqual([{ ip: '127.0.0.1', port: LOCAL_PORT }]);
      expect(await get(WEB_PORT)).toEqual({ status: 200, body: 'ktd web on port 8080, init: initialised\n' });
      expect(await get(LOCAL_PORT)).toEqual({ status: 200, body: 'ktd web on port 8081, init: initialised\n' });
      expect(projectResources(FOLDER).volumes).toEqual([`${FOLDER}_data`]);
    });

    it('create a and b, no kinfra.yaml: ktd--a and ktd--b beside the main checkout, its tree as it was', async () => {
      for (const n of NAMES) {
        const c = await cli(['sandbox', 'create', n, '--json']);
        expect(c.code, show(c)).toBe(0);
        const data = parseJson(c.stdout).data as { instanceId: string; path: string; ports: Record<string, number> };
        created.set(n, { ports: data.ports, path: data.path });
        expect(data.instanceId).toBe(instance(n));
        expect([folder(n), join(realpathSync(dev), instance(n))]).toContain(data.path);
      }
      expect(existsSync(join(repo, 'kinfra.yaml'))).toBe(false);
      // Nothing written into the project's trees but the sandbox's own .env.sandbox; the compose file unchanged.
      expect(git(repo, ['status', '--porcelain', '--ignored'], home)).toBe('');
      for (const n of NAMES) {
        expect(readFileSync(join(folder(n), 'docker-compose.yml'), 'utf8')).toBe(COMPOSE);
        expect(
          lines(git(folder(n), ['status', '--porcelain', '--ignored'], home)).filter(
            (l) => !l.includes('.env.sandbox'),
          ),
        ).toEqual([]);
      }
      // The main checkout's stack is not touched by a create.
      expect(mainWeb()).toMatchObject({
        id: main.id,
        startedAt: main.startedAt,
        status: 'running',
        health: 'healthy',
      });
    });

    it('up in each sandbox passes the gate kinfra derives: every service running, init done, web healthy', async () => {
      expect([...created.keys()], 'both sandboxes were created').toEqual([...NAMES]);
      for (const n of NAMES) {
        const up = await cli(['sandbox', 'up', '--timeout', '120', '--json'], folder(n));
        expect(up.code, show(up)).toBe(0);
        const data = parseJson(up.stdout).data as { instanceId: string; gate: { passed: boolean } | null };
        expect(data.instanceId).toBe(instance(n));
        expect(data.gate?.passed, show(up)).toBe(true);
        upped.add(n);
        // The gate's verdict is the engine's truth.
        expect(inspectContainer(containerOf(instance(n), 'init'))).toMatchObject({ status: 'exited', exitCode: 0 });
        expect(inspectContainer(containerOf(instance(n), 'web'))).toMatchObject({
          status: 'running',
          health: 'healthy',
        });
      }
    }, 300_000);

    it(
      'all three at once: each sandbox answers on ports of its own, 127.0.0.1 stays 127.0.0.1, ' +
        `only the main checkout's container is named ${CONTAINER_NAME}`,
      async () => {
        expect([...upped], 'both sandboxes are up').toEqual([...NAMES]);
        const seen = new Map<string, number>([
          ['main 8080', WEB_PORT],
          ['main 8081', LOCAL_PORT],
        ]);
        for (const n of NAMES) {
          const web = containerOf(instance(n), 'web');
          const state = inspectContainer(web);
          expect(state.name).not.toBe(CONTAINER_NAME);
          const port = hostPort(web, '8080/tcp');
          const local = bindings(web, '8081/tcp');
          // The host IP of a binding is kept: only the port moves.
          expect(local.map((b) => b.ip)).toEqual(['127.0.0.1']);
          seen.set(`${n} 8080`, port);
          seen.set(`${n} 8081`, local[0]!.port);
          expect(await get(port), `${n} on ${port}`).toEqual({
            status: 200,
            body: 'ktd web on port 8080, init: initialised\n',
          });
          expect(await get(local[0]!.port), `${n} on 127.0.0.1:${local[0]!.port}`).toEqual({
            status: 200,
            body: 'ktd web on port 8081, init: initialised\n',
          });
          // What kinfra says the sandbox publishes is what it publishes.
          const ports = Object.values(created.get(n)!.ports);
          expect(ports, `create --json ports of ${n}`).toEqual(expect.arrayContaining([port, local[0]!.port]));
          const st = await cli(['sandbox', 'status', '--json'], folder(n));
          expect(st.code, show(st)).toBe(0);
          const status = parseJson(st.stdout).data as {
            project: string;
            containers: { state: string };
            services: { port: number; url: string }[];
          };
          expect(status.project).toBe(instance(n));
          expect(status.containers.state, show(st)).not.toBe('missing');
          expect(status.services.map((s) => s.port)).toEqual(expect.arrayContaining([port, local[0]!.port]));
          expect(status.services.find((s) => s.port === port)?.url).toContain(`:${port}`);
          // Its volume is its own, not the main checkout's.
          expect(projectResources(instance(n)).volumes).toEqual([`${instance(n)}_data`]);
        }
        const ports = [...seen.values()];
        expect(new Set(ports).size, JSON.stringify(Object.fromEntries(seen))).toBe(ports.length);
        expect(containersNamed(CONTAINER_NAME)).toEqual([main.id]);
        // The main checkout's stack still runs as it did, on its own ports.
        expect(mainWeb()).toMatchObject({
          id: main.id,
          startedAt: main.startedAt,
          status: 'running',
          health: 'healthy',
        });
        expect(await get(WEB_PORT)).toEqual({ status: 200, body: 'ktd web on port 8080, init: initialised\n' });
      },
    );

    it('ports who names the holder (issue 15): a sandbox and its service, the main checkout by project', async () => {
      expect([...upped], 'both sandboxes are up').toEqual([...NAMES]);
      const who = async (port: number) => {
        const r = await cli(['sandbox', 'ports', 'who', String(port), '--json']);
        expect(r.code, show(r)).toBe(0);
        return parseJson(r.stdout).data.ports[0];
      };
      const a = instance('a');
      const port = hostPort(containerOf(a, 'web'), '8080/tcp');
      expect(await who(port)).toMatchObject({ state: 'sandbox', sandbox: a, service: 'web', reservedFor: a });
      // The main checkout's stack is a compose project kinfra did not make: named with its working folder.
      expect(await who(WEB_PORT)).toMatchObject({
        state: 'compose-project',
        project: FOLDER,
        service: 'web',
        container: CONTAINER_NAME,
        workingDir: repo,
        sandbox: null,
      });
      // The same answers for every port of a sandbox, from its folder.
      const all = await cli(['sandbox', 'ports', '--json'], folder('a'));
      expect(all.code, show(all)).toBe(0);
      const rows = parseJson(all.stdout).data.ports as { state: string; sandbox: string | null }[];
      expect(
        rows.every((r) => r.state === 'sandbox' && r.sandbox === a),
        show(all),
      ).toBe(true);
    });

    it("destroy --yes of both leaves the main checkout's stack running and untouched", async () => {
      expect([...created.keys()], 'both sandboxes were created').toEqual([...NAMES]);
      const before = projectResources(FOLDER);
      // a by name from the main checkout, b from its own folder.
      const a = await cli(['sandbox', 'destroy', 'a', '--yes', '--json']);
      expect(a.code, show(a)).toBe(0);
      const b = await cli(['sandbox', 'destroy', '--yes', '--json'], folder('b'));
      expect(b.code, show(b)).toBe(0);
      for (const [n, res] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const data = parseJson(res.stdout).data as { instanceId: string; keptVolumes: string[] };
        expect(data.instanceId).toBe(instance(n));
        expect(data.keptVolumes).toEqual([]);
        expect(existsSync(folder(n))).toBe(false);
        expect(projectResources(instance(n))).toEqual({ containers: [], volumes: [], networks: [] });
      }
      expect(projectResources(FOLDER)).toEqual(before);
      expect(mainWeb()).toMatchObject({
        id: main.id,
        startedAt: main.startedAt,
        status: 'running',
        health: 'healthy',
      });
      expect(containersNamed(CONTAINER_NAME)).toEqual([main.id]);
      expect(await get(WEB_PORT)).toEqual({ status: 200, body: 'ktd web on port 8080, init: initialised\n' });
      expect(await get(LOCAL_PORT)).toEqual({ status: 200, body: 'ktd web on port 8081, init: initialised\n' });
    });
  });
}
