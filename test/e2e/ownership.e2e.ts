import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, parseJson, workspace, type CliResult, type Workspace } from '../helpers/cli.js';
import { removeLeftovers, requireEngine } from '../helpers/docker.js';
import { mulberry32 } from '../helpers/random.js';

/**
 * Issue 11 (ownership) on a real Docker Engine: several kinfra states (HOMEs)
 * on one engine, each touching only what it owns (cases 1 and 2, the upgrade
 * path for stacks started before the owner labels, and a randomized test).
 *
 * These stacks use their own compose-project prefix (kto--) and ports far from
 * the other E2E suites (kte--, 28000+): 38xxx for HOME A, 39xxx for HOME B,
 * 37xxx for the others. One tiny service (sleep infinity, one named volume).
 */
const PREFIX = 'kto';
const IMAGE = 'kto-ownership:e2e';
const LABEL = { owner: 'dev.kinfra.owner', sandbox: 'dev.kinfra.sandbox', path: 'dev.kinfra.path' } as const;

const COMPOSE = `services:
  app:
    image: ${IMAGE}
    pull_policy: never
    init: true
    stop_grace_period: 1s
    command: ["sleep", "infinity"]
    ports:
      - "127.0.0.1:\${KTO_APP_PORT:-38999}:8080"
    volumes:
      - data:/data
volumes:
  data: {}
`;

const configFor = (base: number) => `prefix: ${PREFIX}
compose_files: [docker-compose.yml]
ports:
  app: { env: KTO_APP_PORT, base: ${base}, label: App }
`;

function docker(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = spawnSync('docker', args, { encoding: 'utf8', ...opts });
  if (r.error) throw new Error(`docker is not installed: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** docker inspect of several objects: what it printed, even when some of them are gone meanwhile. */
function inspect(args: string[]): string {
  return spawnSync('docker', args, { encoding: 'utf8' }).stdout ?? '';
}

/** One kinfra state: a scratch HOME and its own main checkout, with this port base. */
interface Home extends Workspace {
  name: string;
  /** The sandbox folder of `<prefix>--<name>` in this HOME. */
  dir(name: string): string;
  ownerId(): string | undefined;
  registered(): string[];
  cli(args: string[], cwd?: string): Promise<CliResult>;
}

function home(name: string, base: number): Home {
  const ws = workspace({ 'kinfra.yaml': configFor(base), 'docker-compose.yml': COMPOSE });
  const ownerFile = join(ws.home, '.ktrdr/sandboxes/owner-id');
  const registryFile = join(ws.home, '.ktrdr/sandboxes/registry.json');
  return {
    ...ws,
    name,
    dir: (n) => join(ws.dev, `${PREFIX}--${n}`),
    ownerId: () => (existsSync(ownerFile) ? readFileSync(ownerFile, 'utf8').trim() : undefined),
    registered: () =>
      existsSync(registryFile) ? Object.keys(JSON.parse(readFileSync(registryFile, 'utf8')).instances ?? {}) : [],
    cli: (args, cwd) => ws.run(args, cwd ? { cwd } : {}),
  };
}

/** The JSON error document of a failed --json command (undefined when stderr holds none). */
function errorOf(r: CliResult): { code: string; message: string; hint?: string; details?: unknown } | undefined {
  try {
    return parseJson(r.stderr).error;
  } catch {
    return undefined;
  }
}

const show = (r: CliResult) => `exit ${r.code}\nstdout: ${r.stdout.slice(0, 1500)}\nstderr: ${r.stderr.slice(0, 1500)}`;

interface Resource {
  kind: 'container' | 'volume' | 'network';
  /** Container id, volume or network name. */
  id: string;
  project: string;
  running: boolean;
  labels: Record<string, string>;
}

/** Every container, volume and network of a kto-- compose project, with its labels. */
function resources(): Resource[] {
  const out: Resource[] = [];
  const projectOf = (labels: Record<string, string> | null) => labels?.['com.docker.compose.project'] ?? '';
  // Filtered by name first: another suite's resources may vanish between the listing and the inspection.
  const ids = docker(['ps', '-aq', '--filter', `name=${PREFIX}--`])
    .split('\n')
    .filter(Boolean);
  if (ids.length) {
    for (const line of inspect(['inspect', '--format', '{{.Id}}\t{{.State.Running}}\t{{json .Config.Labels}}', ...ids])
      .split('\n')
      .filter(Boolean)) {
      const [id, running, json] = line.split('\t');
      const labels = JSON.parse(json!) as Record<string, string> | null;
      if (projectOf(labels).startsWith(`${PREFIX}--`))
        out.push({
          kind: 'container',
          id: id!,
          project: projectOf(labels),
          running: running === 'true',
          labels: labels ?? {},
        });
    }
  }
  for (const kind of ['volume', 'network'] as const) {
    const names = docker([kind, 'ls', '-q', '--filter', `name=${PREFIX}--`])
      .split('\n')
      .filter(Boolean);
    if (!names.length) continue;
    for (const line of inspect([kind, 'inspect', '--format', '{{.Name}}\t{{json .Labels}}', ...names])
      .split('\n')
      .filter(Boolean)) {
      const [id, json] = line.split('\t');
      const labels = JSON.parse(json!) as Record<string, string> | null;
      if (projectOf(labels).startsWith(`${PREFIX}--`))
        out.push({ kind, id: id!, project: projectOf(labels), running: false, labels: labels ?? {} });
    }
  }
  return out;
}

/** What one project holds on the engine: container ids (with running), volume and network names. */
function projectSnapshot(project: string): {
  containers: string[];
  running: string[];
  volumes: string[];
  networks: string[];
} {
  const mine = resources().filter((r) => r.project === project);
  return {
    containers: mine
      .filter((r) => r.kind === 'container')
      .map((r) => r.id)
      .sort(),
    running: mine
      .filter((r) => r.kind === 'container' && r.running)
      .map((r) => r.id)
      .sort(),
    volumes: mine
      .filter((r) => r.kind === 'volume')
      .map((r) => r.id)
      .sort(),
    networks: mine
      .filter((r) => r.kind === 'network')
      .map((r) => r.id)
      .sort(),
  };
}

function labelsOf(kind: 'container' | 'volume' | 'network', id: string): Record<string, string> {
  const sub =
    kind === 'container'
      ? ['inspect', '--format', '{{json .Config.Labels}}', id]
      : [kind, 'inspect', '--format', '{{json .Labels}}', id];
  return (JSON.parse(docker(sub)) as Record<string, string> | null) ?? {};
}

function volumeExists(name: string): boolean {
  return spawnSync('docker', ['volume', 'inspect', name], { stdio: 'ignore' }).status === 0;
}

/** Start a sandbox's stack the way kinfra did before owner labels: plain compose with its env file. */
function legacyUp(h: Home, name: string): void {
  const dir = h.dir(name);
  docker(
    [
      'compose',
      '--ansi',
      'never',
      '-p',
      `${PREFIX}--${name}`,
      '-f',
      join(dir, 'docker-compose.yml'),
      '--project-directory',
      dir,
      '--env-file',
      join(dir, '.env.sandbox'),
      'up',
      '-d',
    ],
    { cwd: dir, env: cliEnv(h.home) },
  );
}

function containerOf(project: string): string {
  const ids = projectSnapshot(project).containers;
  if (ids.length !== 1) throw new Error(`${project} has ${ids.length} containers, expected 1`);
  return ids[0]!;
}

beforeAll(() => {
  requireEngine();
  removeLeftovers(`${PREFIX}--`);
  const r = spawnSync('docker', ['build', '-q', '-t', IMAGE, '-'], {
    input: 'FROM debian:bookworm-slim\nCMD ["sleep", "infinity"]\n',
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`building ${IMAGE} failed: ${r.stderr}`);
}, 300_000);
afterAll(() => removeLeftovers(`${PREFIX}--`));

describe('case 1: one sandbox name under two HOMEs on one engine', () => {
  let A: Home;
  let B: Home;
  const NAMES = ['feat', 'other'];
  const project = (n: string) => `${PREFIX}--${n}`;
  /** B's stacks are up (B's own up: it brings back what an earlier, failing test may have removed). */
  const ensureB = async () => {
    for (const n of NAMES) {
      const r = await B.cli(['sandbox', 'up', '--no-wait'], B.dir(n));
      expect(r.code, show(r)).toBe(0);
    }
  };
  const snapshots = () => Object.fromEntries(NAMES.map((n) => [n, projectSnapshot(project(n))]));

  beforeAll(async () => {
    A = home('A', 38000);
    B = home('B', 39000);
    // Both register the same ids while the engine has nothing of them yet.
    for (const h of [B, A])
      for (const n of NAMES) {
        const r = await h.cli(['sandbox', 'create', n]);
        expect(r.code, show(r)).toBe(0);
      }
    await ensureB();
  }, 120_000);
  afterAll(() => {
    removeLeftovers(`${PREFIX}--`);
    A?.cleanup();
    B?.cleanup();
  });

  it("B's container, volume and network carry B's owner id, sandbox id and folder", () => {
    const owner = B.ownerId();
    expect(owner, "B's $HOME/.ktrdr/sandboxes/owner-id exists").toBeTypeOf('string');
    expect(owner).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
    const s = projectSnapshot('kto--feat');
    expect(s.containers).toHaveLength(1);
    expect(s.volumes).toEqual(['kto--feat_data']);
    expect(s.networks).toEqual(['kto--feat_default']);
    const want = { [LABEL.owner]: owner, [LABEL.sandbox]: 'kto--feat', [LABEL.path]: B.dir('feat') };
    expect(labelsOf('container', s.containers[0]!)).toMatchObject(want);
    expect(labelsOf('volume', 'kto--feat_data')).toMatchObject(want);
    expect(labelsOf('network', 'kto--feat_default')).toMatchObject(want);
    // The layer is kinfra's, never in the user's tree.
    expect(existsSync(join(B.home, '.ktrdr/sandboxes/layers/kto--feat.yml'))).toBe(true);
    expect(
      B.git(['status', '--porcelain', '--ignored'], B.dir('feat'))
        .split('\n')
        .filter((l) => l && !l.includes('.env.sandbox')),
    ).toEqual([]);
  });

  it(
    "A's up of feat refuses with exit 4 project-owned-elsewhere, naming B's folder, " + "and leaves B's stack alone",
    async () => {
      await ensureB();
      const before = snapshots();
      const r = await A.cli(['sandbox', 'up', '--no-wait', '--json'], A.dir('feat'));
      expect(r.code, show(r)).toBe(4);
      expect(errorOf(r)?.code).toBe('project-owned-elsewhere');
      expect(errorOf(r)?.message).toContain(B.dir('feat'));
      expect(snapshots()).toEqual(before);
    },
  );

  it("A's down and down -v in its own feat folder leave B's container and volume", async () => {
    await ensureB();
    const before = snapshots();
    expect(before.feat!.running).toHaveLength(1);
    for (const args of [
      ['sandbox', 'down'],
      ['sandbox', 'down', '-v'],
    ]) {
      const r = await A.cli([...args, '--json'], A.dir('feat'));
      expect([0, 4], show(r)).toContain(r.code);
      expect(snapshots(), `after A's ${args.join(' ')}`).toEqual(before);
    }
  });

  it(
    "A's destroy feat --yes and destroy other --force remove A's sandboxes, " + "never B's containers or volumes",
    async () => {
      await ensureB();
      const before = snapshots();
      const yes = await A.cli(['sandbox', 'destroy', 'feat', '--yes', '--json']);
      expect(yes.code, show(yes)).toBe(0);
      expect(snapshots(), "after A's destroy feat --yes").toEqual(before);
      const force = await A.cli(['sandbox', 'destroy', 'other', '--force', '--json']);
      expect(force.code, show(force)).toBe(0);
      expect(snapshots(), "after A's destroy other --force").toEqual(before);
      expect(A.registered()).toEqual([]);
      expect(existsSync(A.dir('feat'))).toBe(false);
      // B's own view is unchanged.
      expect(B.registered().sort()).toEqual(['kto--feat', 'kto--other']);
    },
  );

  it("A's list shows B's projects as another kinfra's sandboxes with B's folder, never as orphans", async () => {
    await ensureB();
    const r = await A.cli(['sandbox', 'list', '--json']);
    expect(r.code, show(r)).toBe(0);
    const data = parseJson(r.stdout).data;
    // (Other suites may have their own projects on this engine: only kto-- ones are looked at.)
    const ours = (xs: { project: string }[] | undefined) =>
      (xs ?? []).filter((x) => x.project.startsWith(`${PREFIX}--`));
    expect(ours(data.orphans)).toEqual([]);
    expect(data.foreign).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          project: 'kto--feat',
          path: B.dir('feat'),
          containers: 1,
          running: 1,
          volumes: ['kto--feat_data'],
          networks: ['kto--feat_default'],
        }),
        expect.objectContaining({ project: 'kto--other', path: B.dir('other') }),
      ]),
    );
    const human = await A.cli(['sandbox', 'list']);
    expect(human.code, show(human)).toBe(0);
    const text = human.stdout + human.stderr;
    expect(text).toContain("another kinfra's sandbox");
    expect(text).toContain(B.dir('feat'));
    expect(text.split('\n').filter((l) => l.includes(`${PREFIX}--`) && /\bdown\b/.test(l))).toEqual([]);
    // B sees its own sandboxes, neither foreign nor orphaned.
    const own = parseJson((await B.cli(['sandbox', 'list', '--json'])).stdout).data;
    expect(own.instances.map((i: { instanceId: string; status: string }) => [i.instanceId, i.status])).toEqual([
      ['kto--feat', 'running'],
      ['kto--other', 'running'],
    ]);
    expect(ours(own.orphans)).toEqual([]);
    expect(ours(own.foreign)).toEqual([]);
  });

  it("A's doctor reports B's projects under foreign, and never suggests down for them", async () => {
    await ensureB();
    const before = snapshots();
    const r = await A.cli(['sandbox', 'doctor', '--json']);
    const findings = parseJson(r.stdout).data.findings as {
      check: string;
      status: string;
      message: string;
      fix?: string;
    }[];
    const aboutFeat = findings.filter((f) => f.message.includes('kto--feat') || (f.fix ?? '').includes('kto--feat'));
    expect(aboutFeat.length, JSON.stringify(findings, null, 2)).toBeGreaterThan(0);
    for (const f of aboutFeat) {
      expect(f.check, JSON.stringify(f)).toBe('foreign');
      expect(['ok', 'warn']).toContain(f.status);
      expect(f.fix ?? '').not.toMatch(/\bdown\b/);
    }
    expect(
      findings.filter((f) => f.check === 'orphans' && f.status !== 'ok' && f.message.includes(`${PREFIX}--`)),
    ).toEqual([]);
    expect(
      findings.some((f) => /\bdown\b/.test(f.fix ?? '') && /kto--(feat|other)/.test(`${f.fix} ${f.message}`)),
    ).toBe(false);
    // doctor --repair does not touch them either.
    await A.cli(['sandbox', 'doctor', '--repair', '--json']);
    expect(snapshots()).toEqual(before);
  });

  it(
    "A's create feat, while B's feat runs, refuses with exit 4 " + "project-owned-elsewhere naming B's folder",
    async () => {
      await ensureB();
      const before = snapshots();
      const r = await A.cli(['sandbox', 'create', 'feat', '--json']);
      expect(r.code, show(r)).toBe(4);
      expect(errorOf(r)?.code).toBe('project-owned-elsewhere');
      expect(errorOf(r)?.message).toContain(B.dir('feat'));
      expect(A.registered()).toEqual([]);
      expect(existsSync(A.dir('feat'))).toBe(false);
      expect(snapshots()).toEqual(before);
    },
  );
});

describe(".env.sandbox naming another sandbox's project (case 2)", () => {
  let C: Home;
  const envFile = () => join(C.dir('a'), '.env.sandbox');
  const ensureUp = async () => {
    // Up with the true env file (an earlier, failing test may have removed b's stack).
    const edited = readFileSync(envFile(), 'utf8');
    writeFileSync(envFile(), edited.replace('COMPOSE_PROJECT_NAME=kto--b', 'COMPOSE_PROJECT_NAME=kto--a'));
    for (const n of ['a', 'b']) {
      const r = await C.cli(['sandbox', 'up', '--no-wait'], C.dir(n));
      expect(r.code, show(r)).toBe(0);
    }
    writeFileSync(envFile(), edited);
  };

  beforeAll(async () => {
    C = home('C', 37000);
    for (const n of ['a', 'b']) {
      const r = await C.cli(['sandbox', 'create', n]);
      expect(r.code, show(r)).toBe(0);
    }
    for (const n of ['a', 'b']) {
      const r = await C.cli(['sandbox', 'up', '--no-wait'], C.dir(n));
      expect(r.code, show(r)).toBe(0);
    }
    const text = readFileSync(envFile(), 'utf8');
    expect(text).toContain('COMPOSE_PROJECT_NAME=kto--a\n');
    writeFileSync(envFile(), text.replace('COMPOSE_PROJECT_NAME=kto--a', 'COMPOSE_PROJECT_NAME=kto--b'));
  }, 120_000);
  afterAll(() => {
    removeLeftovers(`${PREFIX}--`);
    C?.cleanup();
  });

  it(
    'down, down -v and status in a refuse with exit 4 env-file-disagrees; ' + "b's container and volume survive",
    async () => {
      await ensureUp();
      const before = projectSnapshot('kto--b');
      expect(before.running).toHaveLength(1);
      expect(before.volumes).toEqual(['kto--b_data']);
      for (const args of [
        ['sandbox', 'down'],
        ['sandbox', 'down', '-v'],
        ['sandbox', 'status'],
      ]) {
        const r = await C.cli([...args, '--json'], C.dir('a'));
        expect(r.code, `${args.join(' ')}: ${show(r)}`).toBe(4);
        expect(errorOf(r)?.code).toBe('env-file-disagrees');
        expect(errorOf(r)?.hint).toContain('kinfra sandbox doctor --repair');
        expect(projectSnapshot('kto--b'), `after ${args.join(' ')} in a`).toEqual(before);
      }
    },
  );

  it("destroy a --yes refuses with exit 4 env-file-disagrees and removes nothing of b's", async () => {
    await ensureUp();
    const before = projectSnapshot('kto--b');
    const r = await C.cli(['sandbox', 'destroy', '--yes', '--json'], C.dir('a'));
    expect(r.code, show(r)).toBe(4);
    expect(errorOf(r)?.code).toBe('env-file-disagrees');
    expect(errorOf(r)?.hint).toContain('kinfra sandbox doctor --repair');
    expect(projectSnapshot('kto--b')).toEqual(before);
    expect(existsSync(C.dir('a'))).toBe(true);
    expect(C.registered().sort()).toEqual(['kto--a', 'kto--b']);
  });
});

describe('upgrade path: stacks started before the owner labels', () => {
  let D: Home;
  beforeAll(async () => {
    D = home('D', 37200);
    for (const n of ['legacy-json', 'legacy-human', 'legacy-force', 'legacy-adopt']) {
      const r = await D.cli(['sandbox', 'create', n]);
      expect(r.code, show(r)).toBe(0);
      legacyUp(D, n);
      const id = containerOf(`kto--${n}`);
      expect(labelsOf('container', id)[LABEL.owner]).toBeUndefined();
      docker(['exec', id, 'sh', '-c', 'echo precious > /data/marker']);
    }
  }, 120_000);
  afterAll(() => {
    removeLeftovers(`${PREFIX}--`);
    D?.cleanup();
  });

  it(
    'destroy --yes with no terminal keeps the unlabelled volume and reports it ' +
      '(data.keptVolumes); --force removes it',
    async () => {
      const json = await D.cli(['sandbox', 'destroy', 'legacy-json', '--yes', '--json']);
      expect(json.code, show(json)).toBe(0);
      expect(parseJson(json.stdout).data.keptVolumes).toEqual(['kto--legacy-json_data']);
      expect(volumeExists('kto--legacy-json_data')).toBe(true);
      expect(D.registered()).not.toContain('kto--legacy-json');

      // Human output, no terminal either: kept and named.
      const human = await D.cli(['sandbox', 'destroy', 'legacy-human', '--yes']);
      expect(human.code, show(human)).toBe(0);
      expect(human.stdout + human.stderr).toContain('kto--legacy-human_data');
      expect(volumeExists('kto--legacy-human_data')).toBe(true);

      const force = await D.cli(['sandbox', 'destroy', 'legacy-force', '--force', '--json']);
      expect(force.code, show(force)).toBe(0);
      expect(parseJson(force.stdout).data.keptVolumes ?? []).toEqual([]);
      expect(volumeExists('kto--legacy-force_data')).toBe(false);
    },
  );

  it(
    'up adopts a stack started the old way: its containers get the labels, the data stays, ' +
      'and destroy then removes the volume',
    async () => {
      const dir = D.dir('legacy-adopt');
      const up = await D.cli(['sandbox', 'up', '--no-wait'], dir);
      expect(up.code, show(up)).toBe(0);
      const id = containerOf('kto--legacy-adopt');
      expect(labelsOf('container', id)).toMatchObject({
        [LABEL.owner]: D.ownerId(),
        [LABEL.sandbox]: 'kto--legacy-adopt',
        [LABEL.path]: dir,
      });
      expect(docker(['exec', id, 'cat', '/data/marker'])).toBe('precious');

      const r = await D.cli(['sandbox', 'destroy', '--yes', '--json'], dir);
      expect(r.code, show(r)).toBe(0);
      expect(parseJson(r.stdout).data.keptVolumes ?? []).toEqual([]);
      expect(volumeExists('kto--legacy-adopt_data')).toBe(false);
      expect(projectSnapshot('kto--legacy-adopt')).toEqual({ containers: [], running: [], volumes: [], networks: [] });
    },
  );
});

describe('randomized: three HOMEs, colliding names, one engine', () => {
  const homes: Home[] = [];
  afterAll(() => {
    removeLeftovers(`${PREFIX}--`);
    for (const h of homes) h.cleanup();
  });

  it("no HOME's container or volume disappears unless that HOME itself ran down or destroy on it", async () => {
    const seed = Number(process.env.OWNERSHIP_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rounds = Number(process.env.OWNERSHIP_ROUNDS ?? 16);
    const why = `(replay with OWNERSHIP_SEED=${seed})`;
    const rnd = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    homes.push(home('R1', 38100), home('R2', 39100), home('R3', 37100));
    const NAMES = ['x', 'y'];

    // Whose a resource is: its owner label; without one (the old code), the folder
    // compose ran in, or who brought it up first.
    const firstUp = new Map<string, number>();
    const ownerOf = (r: Resource): number | undefined => {
      const o = r.labels[LABEL.owner];
      if (o) {
        const i = homes.findIndex((h) => h.ownerId() === o);
        return i >= 0 ? i : undefined;
      }
      const wd = r.labels['com.docker.compose.project.working_dir'];
      if (wd) {
        const i = homes.findIndex((h) => wd.startsWith(`${h.root}/`));
        if (i >= 0) return i;
      }
      return firstUp.get(`${r.kind}:${r.id}`);
    };

    const violations: string[] = [];
    const unexpected: string[] = [];
    let operations = 0;
    let refusals = 0;
    const log: string[] = [];
    for (let round = 1; round <= rounds; round++) {
      const order = [0, 1, 2].sort(() => rnd() - 0.5);
      for (const hi of order) {
        const h = homes[hi]!;
        const name = pick(NAMES);
        const id = `${PREFIX}--${name}`;
        const mine = h.registered().includes(id);
        const op = mine
          ? pick(['up', 'up', 'up', 'down', 'down -v', 'destroy --yes', 'destroy --force'] as const)
          : 'create';
        const args =
          op === 'create'
            ? ['sandbox', 'create', name]
            : op === 'up'
              ? ['sandbox', 'up', '--no-wait']
              : op.startsWith('destroy')
                ? ['sandbox', 'destroy', name, op.split(' ')[1]!]
                : ['sandbox', ...op.split(' ')];
        const before = resources();
        const r = await h.cli([...args, '--json'], op === 'create' || op.startsWith('destroy') ? h.repo : h.dir(name));
        const after = resources();
        operations++;
        const step = `round ${round}: ${h.name} ${op} ${name}`;
        log.push(`${step} -> ${r.code}${r.code ? ` ${errorOf(r)?.code ?? ''}` : ''}`);
        if (r.code !== 0) refusals++;
        if (![0, 4, 5, 12].includes(r.code) || (r.code !== 0 && !errorOf(r))) unexpected.push(`${step}: ${show(r)}`);

        const gone = before.filter((b) => !after.some((a) => a.kind === b.kind && a.id === b.id));
        for (const g of gone) {
          const owner = ownerOf(g);
          if (owner === undefined) continue;
          const own = owner === hi && g.project === id;
          const allowed =
            own &&
            (op.startsWith('destroy') || op === 'down -v' || (g.kind !== 'volume' && (op === 'down' || op === 'up')));
          if (!allowed)
            violations.push(`${step} removed ${homes[owner]!.name}'s ${g.kind} ${g.id.slice(0, 12)} (${g.project})`);
        }
        if (r.code === 0 && op === 'up') {
          for (const a of after)
            if (!before.some((b) => b.kind === a.kind && b.id === a.id) && a.project === id)
              firstUp.set(`${a.kind}:${a.id}`, hi);
        }
      }
    }
    console.log(
      `ownership randomized: seed=${seed} rounds=${rounds} homes=3 operations=${operations} refusals=${refusals} ` +
        `violations=${violations.length} unexpected=${unexpected.length} ${why}`,
    );
    expect(violations, `${why}\n${log.join('\n')}`).toEqual([]);
    expect(unexpected, why).toEqual([]);
  }, 300_000);
});
