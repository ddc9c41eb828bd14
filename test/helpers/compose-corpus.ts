// The real-world Compose corpus (issue 14, "Any Compose project, unchanged"): finding it, turning one of its projects
// into a scratch git repository as its owner would have it, running Compose and kinfra there with an environment
// that holds nothing of the caller's shell, and reading what the effective configurations publish and name.
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { CLI, git, type CliResult } from './cli.js';

/** Where the corpus may be, in the order it is looked for. */
export function corpusCandidates(repoRoot: string): string[] {
  const fromEnv = process.env.KINFRA_CORPUS;
  return [...(fromEnv ? [fromEnv] : []), join(repoRoot, '../shared/corpus/compose'), '/work/shared/corpus/compose'];
}

/** The first candidate that holds an INDEX.tsv, or undefined (CI may not have the corpus). */
export function findCorpus(repoRoot: string): string | undefined {
  return corpusCandidates(repoRoot).find((dir) => existsSync(join(dir, 'INDEX.tsv')));
}

/** One row of INDEX.tsv. */
export interface CorpusProject {
  dir: string;
  repo: string;
  commit: string;
  /** The `-f` files in order, relative to `dir`. */
  paths: string[];
  features: string[];
  services: number;
  publishedPorts: number;
  configOk: string;
  notes: string;
}

export function readIndex(corpus: string): CorpusProject[] {
  const [header, ...rows] = readFileSync(join(corpus, 'INDEX.tsv'), 'utf8').split('\n').filter(Boolean);
  const columns = header!.split('\t');
  return rows.map((row) => {
    const cells = row.split('\t');
    const cell = (name: string) => cells[columns.indexOf(name)] ?? '';
    return {
      dir: cell('dir'),
      repo: cell('repo'),
      commit: cell('commit'),
      paths: cell('paths').split(',').filter(Boolean),
      features: cell('features').split(',').filter(Boolean),
      services: Number(cell('services')),
      publishedPorts: Number(cell('published_ports')),
      configOk: cell('config_ok'),
      notes: cell('notes'),
    };
  });
}

// Compose v2's own discovery when no -f is given (compose-go: the first main file found, then the first override).
const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
const DEFAULT_OVERRIDES = [
  'compose.override.yml',
  'compose.override.yaml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
];

/** The files plain `docker compose` (no -f, no COMPOSE_FILE) would use in `dir`. */
export function discoveredComposeFiles(dir: string): string[] {
  const main = DEFAULT_FILES.find((f) => existsSync(join(dir, f)));
  if (!main) return [];
  const override = DEFAULT_OVERRIDES.find((f) => existsSync(join(dir, f)));
  return override ? [main, override] : [main];
}

/** What the test did to a project's copy so that its main checkout runs what INDEX.tsv's `paths` say. */
export interface Scratch {
  /** Temp folder holding everything below: removed by cleanup(). */
  root: string;
  home: string;
  /** The copy of the whole corpus folder (the upstream repository's files). */
  project: string;
  /** The git repository: the folder of the first `-f` file. */
  repo: string;
  /** The `-f` files, relative to `repo`. */
  files: string[];
  /** Set-up steps taken, for the report: `.env from X`, `COMPOSE_FILE=...`, `symlink`, `root <sub>/`. */
  steps: string[];
  cleanup(): void;
}

function makeWritable(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  chmodSync(path, st.mode | (st.isDirectory() ? 0o700 : 0o600));
  if (st.isDirectory()) for (const name of readdirSync(path)) makeWritable(join(path, name));
}

/**
 * A scratch HOME (git identity as workspace() gives it) and the project copied whole to `<root>/w/<repo name>`;
 * the git repository is the folder of the first `-f` file (the copy itself, or a subfolder of it: its `../` paths
 * then resolve the same from the repository and from the sandboxes beside it). Follows INDEX.tsv's notes for a
 * `.env` copied from the project's example and for recreated symlinks; writes COMPOSE_FILE to the root `.env` when
 * the `-f` files are not what Compose finds by itself; commits everything. No kinfra.yaml.
 */
export function scratchRepo(corpus: string, p: CorpusProject): Scratch {
  const root = mkdtempSync(join(tmpdir(), 'kinfra-corpus-'));
  const home = join(root, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, '.gitconfig'),
    '[user]\n\tname = kinfra test\n\temail = test@kinfra.local\n[init]\n\tdefaultBranch = main\n',
  );
  const steps: string[] = [];
  const project = join(root, 'w', p.repo.split('/')[1] ?? p.dir);
  mkdirSync(dirname(project), { recursive: true });
  cpSync(join(corpus, p.dir), project, { recursive: true, verbatimSymlinks: true });
  makeWritable(project);

  for (const m of p.notes.matchAll(/(\S+) is a symlink to (\S+) \(recreated\)/g)) {
    const link = join(project, m[1]!);
    rmSync(link, { force: true });
    symlinkSync(m[2]!, link);
    steps.push(`${m[1]} → ${m[2]} symlink`);
  }

  const sub = posix.dirname(p.paths[0]!);
  const repo = sub === '.' ? project : join(project, sub);
  if (sub !== '.') steps.push(`root ${sub}/`);
  const files = p.paths.map((f) => posix.relative(sub, f));

  const envFile = join(repo, '.env');
  const fromExample = /with \.env from (\S+?)((?: \+ \w+=[^\s:]*)+| \+ [^:]*)?:/.exec(p.notes);
  if (fromExample && !existsSync(envFile)) {
    copyFileSync(join(project, fromExample[1]!), envFile);
    const extra = (fromExample[2] ?? '').replace(/^ \+ /, '').split(/\s+/).filter(Boolean);
    if (extra.length) appendLines(envFile, extra);
    steps.push(`.env from ${fromExample[1]}${extra.length ? ` + ${extra.join(' ')}` : ''}`);
  }

  const real = (names: string[]) => names.map((f) => realpathOr(join(repo, f)));
  if (real(discoveredComposeFiles(repo)).join('\n') !== real(files).join('\n')) {
    const line = `COMPOSE_FILE=${files.join(':')}`;
    appendLines(envFile, [line]);
    steps.push(line);
  }

  git(repo, ['init', '-q', '-b', 'main'], home);
  git(repo, ['add', '-A'], home);
  git(repo, ['commit', '-qm', `${p.repo} at ${p.commit.slice(0, 12)}`], home);
  return { root, home, project, repo, files, steps, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function appendLines(file: string, lines: string[]): void {
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  appendFileSync(file, (before && !before.endsWith('\n') ? '\n' : '') + lines.map((l) => l + '\n').join(''));
}

/**
 * The environment every child (and every in-process run) gets: PATH, a scratch HOME, PWD as a shell would set it,
 * what reaches Docker, and nothing else of the caller's shell (a HOSTNAME or TZ there would change what the
 * corpus's files interpolate to).
 */
export function corpusEnv(home: string, cwd: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { HOME: home, PWD: cwd, NO_COLOR: '1', GIT_CONFIG_NOSYSTEM: '1' };
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (['PATH', 'TMPDIR', 'LANG', 'SYSTEMROOT'].includes(k) || /^(DOCKER_|VITEST|NODE_ENV$|TEST$)/.test(k)) {
      env[k] = v;
    }
  }
  return env;
}

/** Run a program and capture it; a run past `timeoutMs` is killed and answers code -1. */
export function capture(
  file: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** The built kinfra as a child: for what writes to the terminal itself (`sandbox compose`). */
export function kinfraChild(args: readonly string[], cwd: string, home: string): Promise<CliResult> {
  return capture(process.execPath, [CLI, ...args], { cwd, env: corpusEnv(home, cwd) });
}

/** kinfra in this process (runCli from the source), with exactly corpusEnv() as its environment. */
export async function kinfraHere(args: readonly string[], cwd: string, home: string): Promise<CliResult> {
  const { runCli } = await import('../../src/cli/main.js');
  const { Readable } = await import('node:stream');
  let stdout = '';
  let stderr = '';
  const saved = process.env;
  process.env = corpusEnv(home, cwd);
  try {
    const code = await runCli(
      args,
      {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        stdin: Readable.from([]),
        env: process.env,
      },
      cwd,
    );
    return { code, stdout, stderr };
  } finally {
    process.env = saved;
  }
}

/** Compose's flag for every profile at once (v2). */
export const ALL_PROFILES = ['--profile', '*'];

/** `docker compose [profiles] -f … config --format json` in `repo`: what the main checkout runs. */
export async function composeConfig(
  repo: string,
  files: readonly string[],
  home: string,
  profiles: readonly string[] = [],
): Promise<{ config?: ComposeConfig; error?: string; warnings: string[] }> {
  const args = ['compose', ...profiles, ...files.flatMap((f) => ['-f', f]), 'config', '--format', 'json'];
  const r = await capture('docker', args, { cwd: repo, env: corpusEnv(home, repo) });
  const warnings = composeWarnings(r.stderr);
  if (r.code !== 0) return { error: lastLine(r.stderr) || `exit ${r.code}`, warnings };
  return { config: JSON.parse(r.stdout) as ComposeConfig, warnings };
}

/** Compose's `level=warning msg="…"` lines, as their messages. */
export function composeWarnings(stderr: string): string[] {
  return [...stderr.matchAll(/level=warning msg="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\"/g, '"'));
}

export function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .pop()
      ?.trim() ?? ''
  );
}

// ---- What an effective configuration publishes and names ----

export interface ComposePort {
  target?: number | string;
  published?: number | string;
  host_ip?: string;
  protocol?: string;
}
export interface ComposeService {
  ports?: ComposePort[];
  container_name?: string;
  network_mode?: string;
  [key: string]: unknown;
}
export interface ComposeConfig {
  name?: string;
  services?: Record<string, ComposeService>;
  volumes?: Record<string, { name?: string; external?: boolean | { name?: string } } | null>;
  networks?: Record<string, { name?: string; external?: boolean | { name?: string }; ipam?: unknown } | null>;
  [key: string]: unknown;
}

/** One published host port: ranges come expanded, one entry per port. */
export interface HostPort {
  service: string;
  target: string;
  protocol: string;
  hostIp: string;
  published: number;
}

function range(text: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) return [];
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** Services that share the host's network stack: kinfra reports them, it cannot give them other ports. */
export function hostNetworkServices(config: ComposeConfig): string[] {
  return Object.entries(config.services ?? {})
    .filter(([, s]) => s.network_mode === 'host')
    .map(([name]) => name);
}

/** Every published host port of `config`, outside the `exempt` services; container-only ports publish none. */
export function hostPorts(config: ComposeConfig, exempt: ReadonlySet<string> = new Set()): HostPort[] {
  const out: HostPort[] = [];
  for (const [service, s] of Object.entries(config.services ?? {})) {
    if (exempt.has(service)) continue;
    for (const p of s.ports ?? []) {
      if (p.published === undefined || p.published === '') continue;
      const published = range(String(p.published));
      const targets = range(String(p.target ?? ''));
      published.forEach((port, i) =>
        out.push({
          service,
          target: String(targets.length === published.length ? targets[i] : (p.target ?? '')),
          protocol: p.protocol ?? 'tcp',
          hostIp: p.host_ip ?? '',
          published: port,
        }),
      );
    }
  }
  return out;
}

const portKey = (p: HostPort) => `${p.published}/${p.protocol}`;
const entryKey = (p: HostPort) => `${p.service} ${p.target}/${p.protocol}`;

function isExternal(v: { external?: unknown } | null | undefined): boolean {
  return Boolean(v?.external);
}

function few(items: readonly string[], n = 4): string {
  return items.length <= n ? items.join(', ') : `${items.slice(0, n).join(', ')} (+${items.length - n} more)`;
}

export interface Analysis {
  /** Everything wrong, one line each (empty: the project passes). */
  problems: string[];
  /** Per sandbox: how many of the main checkout's host ports it publishes elsewhere. */
  remapped: number[];
  /** The main checkout's published host ports (exempt services left out). */
  mainPorts: number;
  /** Informational: fixed network names the sandboxes share with the main checkout (not asserted). */
  sharedNetworks: string[];
}

/**
 * Issue 14's checks of one project: published host ports pairwise disjoint across the main checkout and the
 * sandboxes (per protocol; `network_mode: host` services exempt), every entry's host_ip kept, no container_name in
 * a sandbox, distinct project names, distinct names for every non-external volume.
 */
export function analyse(main: ComposeConfig, sandboxes: { name: string; config: ComposeConfig }[]): Analysis {
  const all = [{ name: 'main', config: main }, ...sandboxes];
  const exempt = new Set(all.flatMap((c) => hostNetworkServices(c.config)));
  const ports = all.map((c) => hostPorts(c.config, exempt));
  const problems: string[] = [];

  for (let a = 0; a < all.length; a++) {
    for (let b = a + 1; b < all.length; b++) {
      const inA = new Set(ports[a]!.map(portKey));
      const shared = [...new Set(ports[b]!.map(portKey))].filter((k) => inA.has(k));
      if (shared.length) {
        problems.push(`${all[a]!.name} and ${all[b]!.name} both publish ${shared.length}: ${few(shared)}`);
      }
    }
  }

  const byEntry = (list: HostPort[]) => {
    const m = new Map<string, HostPort[]>();
    for (const p of list) m.set(entryKey(p), [...(m.get(entryKey(p)) ?? []), p]);
    return m;
  };
  const mainEntries = byEntry(ports[0]!);
  const remapped: number[] = [];
  sandboxes.forEach((s, i) => {
    const entries = byEntry(ports[i + 1]!);
    let moved = 0;
    const lost: string[] = [];
    const missing: string[] = [];
    for (const [key, list] of mainEntries) {
      const theirs = entries.get(key) ?? [];
      const ips = (l: HostPort[]) => l.map((p) => p.hostIp || '(all)').sort();
      if (theirs.length === 0) missing.push(key);
      else if (ips(list).join(',') !== ips(theirs).join(',')) {
        lost.push(`${key} host_ip ${ips(list).join(',')} → ${ips(theirs).join(',')}`);
      }
      const mine = new Set(list.map((p) => p.published));
      moved += theirs.filter((p) => !mine.has(p.published)).length;
    }
    remapped.push(moved);
    if (missing.length) problems.push(`${s.name}: publishes nothing for ${missing.length}: ${few(missing, 3)}`);
    if (lost.length) problems.push(`${s.name}: ${lost.length} host_ip not kept: ${few(lost, 3)}`);
    const named = Object.entries(s.config.services ?? {}).filter(([, svc]) => svc.container_name !== undefined);
    if (named.length) {
      problems.push(
        `${s.name}: container_name kept on ${few(named.map(([n, svc]) => `${n} (${String(svc.container_name)})`))}`,
      );
    }
  });

  const names = all.map((c) => c.config.name ?? '(none)');
  if (new Set(names).size !== names.length) problems.push(`project names not distinct: ${names.join(', ')}`);

  const volumeKeys = new Set(all.flatMap((c) => Object.keys(c.config.volumes ?? {})));
  for (const key of volumeKeys) {
    const seen = new Map<string, string[]>();
    for (const c of all) {
      const v = c.config.volumes?.[key];
      if (!c.config.volumes || !(key in c.config.volumes) || isExternal(v)) continue;
      const name = v?.name ?? `${c.config.name}_${key}`;
      seen.set(name, [...(seen.get(name) ?? []), c.name]);
    }
    for (const [name, who] of seen) {
      if (who.length > 1) problems.push(`volume ${key}: ${who.join(', ')} all name it ${name}`);
    }
  }

  const sharedNetworks: string[] = [];
  for (const [key, net] of Object.entries(main.networks ?? {})) {
    if (isExternal(net)) continue;
    const mainName = net?.name ?? `${main.name}_${key}`;
    if (sandboxes.some((s) => (s.config.networks?.[key]?.name ?? `${s.config.name}_${key}`) === mainName)) {
      sharedNetworks.push(`${key} (${mainName})`);
    }
  }
  return { problems, remapped, mainPorts: ports[0]!.length, sharedNetworks };
}

/** What a configuration holds that kinfra must handle: for the report. */
export function configFeatures(config: ComposeConfig): string[] {
  const out: string[] = [];
  const services = Object.entries(config.services ?? {});
  const host = hostNetworkServices(config);
  if (host.length) out.push(`network_mode host: ${few(host, 3)}`);
  const named = services.filter(([, s]) => s.container_name !== undefined).length;
  if (named) out.push(`container_name ×${named}`);
  const ips = new Set(
    hostPorts(config)
      .map((p) => p.hostIp)
      .filter(Boolean),
  );
  if (ips.size) out.push(`host_ip ${[...ips].join('/')}`);
  const external = Object.entries(config.networks ?? {}).filter(([, n]) => isExternal(n));
  if (external.length) out.push(`external networks: ${external.map(([k, n]) => n?.name ?? k).join(', ')}`);
  const fixedNets = Object.entries(config.networks ?? {}).filter(
    ([k, n]) => !isExternal(n) && n?.name !== undefined && n.name !== `${config.name}_${k}`,
  );
  if (fixedNets.length) out.push(`fixed network names: ${fixedNets.map(([, n]) => n!.name).join(', ')}`);
  const subnets = Object.values(config.networks ?? {}).filter((n) => JSON.stringify(n?.ipam ?? {}).includes('subnet'));
  if (subnets.length) out.push(`fixed subnets ×${subnets.length}`);
  const staticIps = services.filter(([, s]) => JSON.stringify(s.networks ?? {}).includes('ipv4_address')).length;
  if (staticIps) out.push(`static IPs ×${staticIps}`);
  const fixedVols = Object.entries(config.volumes ?? {}).filter(
    ([k, v]) => !isExternal(v) && v?.name !== undefined && v.name !== `${config.name}_${k}`,
  );
  if (fixedVols.length)
    out.push(
      `fixed volume names: ${few(
        fixedVols.map(([, v]) => v!.name!),
        3,
      )}`,
    );
  const externalVols = Object.values(config.volumes ?? {}).filter((v) => isExternal(v)).length;
  if (externalVols) out.push(`external volumes ×${externalVols}`);
  return out;
}

// ---- verify's findings, whatever the exact shape ----

/** The `message` of every object in any array of objects that have one, anywhere in `doc`. */
export function findingMessages(doc: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      for (const item of v) {
        if (item && typeof item === 'object' && typeof (item as { message?: unknown }).message === 'string') {
          out.push((item as { message: string }).message);
        }
        walk(item);
      }
    } else if (v && typeof v === 'object') {
      for (const value of Object.values(v)) walk(value);
    }
  };
  walk(doc);
  return out;
}

/**
 * Messages grouped by their wording, most frequent first (`24× host port N is fixed: …`): numbers read as N,
 * `${…}` as itself, UPPER_CASE variables as VAR, and the given names (services, containers) as X.
 */
export function summariseMessages(messages: readonly string[], names: readonly string[] = [], max = 3): string {
  if (messages.length === 0) return 'nothing';
  const byLength = [...new Set(names)].filter((n) => n.length > 1).sort((a, b) => b.length - a.length);
  const shapeOf = (m: string) => {
    let shape = m.replace(/\$\{[^}]*\}/g, '${…}');
    // Whole names only: a service called `db` must not turn "sandbox" into "sanXox".
    for (const n of byLength) {
      shape = shape.replace(new RegExp(`(?<![\\w-])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`, 'g'), 'X');
    }
    return shape.replace(/\b[A-Z][A-Z0-9_]{2,}\b/g, 'VAR').replace(/\d+/g, 'N');
  };
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(shapeOf(m), (counts.get(shapeOf(m)) ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = sorted.slice(0, max).map(([shape, n]) => `${n}× ${shape}`);
  if (sorted.length > max) shown.push(`${sorted.length - max} other kind(s)`);
  return shown.join('; ');
}

// ---- The report ----

export interface CorpusRow {
  project: string;
  services: string;
  remapped: string;
  verdict: string;
  verify: string;
  setup: string;
  features: string;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderReport(rows: readonly CorpusRow[], intro: readonly string[]): string {
  const head = [
    'project',
    'services',
    'host ports remapped (s1, s2, s3)',
    'verdict',
    'verify reported',
    'set-up',
    'features',
  ];
  const lines = [
    ...intro,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map(
      (r) =>
        `| ${[r.project, r.services, r.remapped, r.verdict, r.verify, r.setup, r.features].map(cell).join(' | ')} |`,
    ),
  ];
  return lines.join('\n') + '\n';
}
