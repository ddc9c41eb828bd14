// Issue 14, "Any Compose project, unchanged": every project of the real-world Compose corpus whose files Compose
// reads, committed as it is (no kinfra.yaml), gets three sandboxes that can run beside the main checkout and each
// other: no host port published twice (host_ip kept), no container_name, their own project names and volumes.
// Compose configurations only: nothing is started. Writes docs/compose-corpus.md, one row per project.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, git } from '../helpers/cli.js';
import {
  analyse,
  ALL_PROFILES,
  composeConfig,
  composeWarnings,
  configFeatures,
  corpusCandidates,
  findCorpus,
  findingMessages,
  kinfraChild,
  kinfraHere,
  lastLine,
  readIndex,
  renderReport,
  scratchRepo,
  summariseMessages,
  type ComposeConfig,
  type CorpusProject,
  type CorpusRow,
  type Scratch,
} from '../helpers/compose-corpus.js';

const REPORT = join(REPO_ROOT, 'docs/compose-corpus.md');
const SANDBOXES = ['s1', 's2', 's3'];
const corpus = findCorpus(REPO_ROOT);

function json(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** kinfra's --json document: on stdout, or on stderr when the command failed. */
function jsonDoc(r: { stdout: string; stderr: string }): any {
  return json(r.stdout) ?? json(r.stderr);
}

/** A kinfra --json failure as one line: its error message's first line, else stderr's last. */
function failure(r: { code: number; stdout: string; stderr: string }): string {
  const doc = jsonDoc(r);
  const message = typeof doc?.error?.message === 'string' ? (doc.error.message as string).split('\n')[0] : undefined;
  return `exit ${r.code}: ${message ?? (lastLine(r.stderr) || lastLine(r.stdout) || 'no output')}`;
}

/** The problems as the table says them: the pairwise port clashes in one item, one item per problem the
 * sandboxes share (`s1, s2, s3: container_name kept on …`). */
function shortProblems(problems: readonly string[]): string {
  const clashes: string[] = [];
  const bySandbox = new Map<string, string[]>();
  for (const p of problems) {
    const m = /^(\S+) and (\S+) both publish (\d+):/.exec(p);
    const own = /^(s\d+): (.*)$/.exec(p);
    if (m) clashes.push(`${m[1]}/${m[2]} ${m[3]}`);
    else if (own) bySandbox.set(own[2]!, [...(bySandbox.get(own[2]!) ?? []), own[1]!]);
    else bySandbox.set(p, []);
  }
  const rest = [...bySandbox].map(([text, who]) => (who.length ? `${who.join(', ')}: ${text}` : text));
  return [...(clashes.length ? [`host ports shared: ${clashes.join(', ')}`] : []), ...rest].join('; ');
}

/** Raw-YAML features the configuration no longer shows. */
function sourceFeatures(p: CorpusProject, s: Scratch, warnings: readonly string[]): string[] {
  const out: string[] = [];
  if (s.steps.some((x) => x.startsWith('root '))) out.push('subfolder root');
  const tokens = new Set([...p.features, ...(/also: ([^|]*)/.exec(p.notes)?.[1] ?? '').trim().split(',')]);
  for (const t of ['include', 'extends', 'profiles', 'env_file', 'required_var', 'port_range', 'deploy_replicas']) {
    if (tokens.has(t)) out.push(t === 'required_var' ? '${VAR:?}' : t);
  }
  const env = join(s.repo, '.env');
  const own = existsSync(env) ? readFileSync(env, 'utf8') : '';
  for (const v of ['COMPOSE_PROJECT_NAME', 'COMPOSE_PROFILES']) {
    if (new RegExp(`^${v}=`, 'm').test(own)) out.push(`.env sets ${v}`);
  }
  const unset = new Set(warnings.map((w) => /"(\w+)" variable is not set/.exec(w)?.[1]).filter(Boolean));
  if (unset.size) out.push(`${unset.size} unset variable(s) blank`);
  return out;
}

function emptyRow(p: CorpusProject, verdict = 'failed: did not finish'): CorpusRow {
  return { project: p.repo, services: String(p.services), remapped: '', verdict, verify: '', setup: '', features: '' };
}

function fewOf(items: readonly string[], n: number): string {
  return items.length <= n ? items.join(', ') : `${items.slice(0, n).join(', ')} (+${items.length - n} more)`;
}

/** The `${NAME:?…}` / `${NAME?…}` variables of the project's compose files that its root `.env` leaves unset. */
function requiredUnset(s: Scratch): string[] {
  const yaml: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (/\.ya?ml$/.test(e.name)) yaml.push(readFileSync(join(dir, e.name), 'utf8'));
    }
  };
  walk(s.project);
  const env = join(s.repo, '.env');
  const text = existsSync(env) ? readFileSync(env, 'utf8') : '';
  // A value of "" or '' is as empty as none.
  const set = new Set([...text.matchAll(/^\s*(?:export\s+)?(\w+)=[ \t]*(?!""|'')\S/gm)].map((m) => m[1]));
  const names = new Set(yaml.flatMap((y) => [...y.matchAll(/\$\{(\w+):?\?/g)].map((m) => m[1]!)));
  return [...names].filter((n) => !set.has(n)).sort();
}

/** The env_file entries of the `-f` files that are not there (sorted; relative to the root when inside it). */
function missingEnvFiles(s: Scratch): string[] {
  const out = new Set<string>();
  for (const f of s.files) {
    const doc = parseYaml(readFileSync(join(s.repo, f), 'utf8')) as { services?: Record<string, any> } | null;
    for (const svc of Object.values(doc?.services ?? {})) {
      const entries: unknown[] = [svc?.env_file ?? []].flat();
      for (const e of entries) {
        const path = typeof e === 'string' ? e : (e as { path?: string; required?: boolean })?.path;
        if (!path || (typeof e === 'object' && (e as { required?: boolean }).required === false)) continue;
        const full = isAbsolute(path) ? path : join(s.repo, dirname(f), path);
        if (!existsSync(full)) out.add(full.startsWith(s.repo + '/') ? full.slice(s.repo.length + 1) : full);
      }
    }
  }
  return [...out].sort();
}

/** What one project's run found: its table row, the problems (none: it passed), or why it was skipped. */
interface Outcome {
  row: CorpusRow;
  problems: string[];
  skipped?: string;
}

/**
 * One project, start to end: its scratch repository, the main checkout's configuration, three sandboxes and
 * theirs, the checks, verify, and the sandboxes destroyed (every worktree gone) and the scratch removed whatever
 * happened. `row` is filled in as it goes, so a failure still leaves it saying how far it got.
 */
async function sandboxProject(corpusDir: string, p: CorpusProject, row: CorpusRow): Promise<Outcome> {
  let s: Scratch;
  try {
    s = scratchRepo(corpusDir, p);
  } catch (e) {
    row.verdict = `failed: set-up: ${(e as Error).message}`;
    return { row, problems: [row.verdict] };
  }
  const tidy = (text: string) => text.split(s.repo).join('<repo>').split(s.root).join('<tmp>');
  row.setup = tidy(s.steps.join('; '));

  // Every profile: a sandbox must be able to run whatever the main checkout can. Compose answers for the
  // default services alone when a profiled one cannot be read.
  let profiles = ALL_PROFILES;
  let main = await composeConfig(s.repo, s.files, s.home, profiles);
  if (!main.config) {
    const plain = await composeConfig(s.repo, s.files, s.home);
    if (plain.config) {
      row.setup += tidy(`${row.setup ? '; ' : ''}default profiles only (with every one: ${main.error})`);
      profiles = [];
    }
    main = plain;
  }
  if (!main.config) {
    // Compose names one of the required variables it lacks, not always the same one: name them all, sorted.
    const missing = /^env file .* not found/.test(main.error ?? '') ? missingEnvFiles(s) : [];
    const required = /required variable \S+ is missing a value/.test(main.error ?? '')
      ? `required variable(s) without a value: ${fewOf(requiredUnset(s), 6)}`
      : missing.length
        ? `env_file(s) missing: ${missing.join(', ')}`
        : main.error;
    row.verdict = tidy(`skipped: docker compose config fails: ${required}`);
    row.features = sourceFeatures(p, s, main.warnings).join('; ');
    s.cleanup();
    return { row, problems: [], skipped: row.verdict };
  }
  const mainConfig: ComposeConfig = main.config!;
  row.services = String(Object.keys(mainConfig.services ?? {}).length);
  row.features = [...sourceFeatures(p, s, main.warnings), ...configFeatures(mainConfig)].join('; ');

  const problems: string[] = [];
  const created: { name: string; id: string; path: string }[] = [];
  // Copies that would really collide (a fixed subnet or address) are refused, as issue 14 allows, if verify says why.
  let refused: string | undefined;
  try {
    for (const name of SANDBOXES) {
      const r = await kinfraHere(['sandbox', 'create', name, '--json'], s.repo, s.home);
      const doc = jsonDoc(r);
      if (doc?.error?.code === 'cannot-isolate') {
        const findings = (doc.error.details?.findings ?? []) as { service: string; message: string }[];
        refused = findings.map((f) => `${f.service} ${f.message.split(':')[0]}`).join('; ');
        break;
      }
      if (r.code !== 0 || !doc?.data?.instanceId) {
        problems.push(`create ${name} failed (${failure(r)})`);
        break;
      }
      created.push({ name, id: doc.data.instanceId, path: doc.data.path });
      if (dirname(doc.data.path) !== dirname(s.repo)) {
        problems.push(`create ${name}: worktree ${doc.data.path} is not beside the repository`);
      }
    }

    const configs: { name: string; config: ComposeConfig }[] = [];
    for (const c of created) {
      const args = ['sandbox', 'compose', ...profiles, 'config', '--format', 'json'];
      const r = await kinfraChild(args, c.path, s.home);
      const config = r.code === 0 ? (json(r.stdout) as ComposeConfig | undefined) : undefined;
      if (!config) problems.push(`${c.name}: kinfra sandbox compose config failed (${failure(r)})`);
      else configs.push({ name: c.name, config });
      // What Compose warns about in a sandbox and not in the main checkout (paths read as the main's).
      const warned = composeWarnings(r.stderr.split(c.path).join(s.repo)).filter((w) => !main.warnings.includes(w));
      if (warned.length && c.name === 's1') row.features += `${row.features ? '; ' : ''}s1 warns: ${warned[0]}`;
    }
    if (configs.length === SANDBOXES.length) {
      const a = analyse(mainConfig, configs);
      problems.push(...a.problems);
      row.remapped = a.remapped.map((n) => `${n}/${a.mainPorts}`).join(', ');
      if (a.sharedNetworks.length) {
        row.features += `${row.features ? '; ' : ''}network shared with main: ${a.sharedNetworks.join(', ')}`;
      }
    }

    const v = await kinfraHere(['sandbox', 'verify', '--json'], s.repo, s.home);
    const vdoc = jsonDoc(v);
    const messages = findingMessages(vdoc);
    if (vdoc === undefined) row.verify = `no JSON (${failure(v)})`;
    else if (messages.length) {
      const names = Object.entries(mainConfig.services ?? {}).flatMap(([n, svc]) => [
        n,
        ...(typeof svc.container_name === 'string' ? [svc.container_name] : []),
      ]);
      row.verify = `exit ${v.code}: ${summariseMessages(messages, names)}`;
    } else row.verify = vdoc.ok ? 'nothing' : failure(v);
    if (refused !== undefined && v.code !== 10) problems.push(`create refused (${refused}), but verify passed`);
  } catch (e) {
    problems.push(`error: ${(e as Error).message}`);
  } finally {
    try {
      for (const c of created) {
        const r = await kinfraHere(['sandbox', 'destroy', c.id, '--yes', '--json'], s.repo, s.home);
        if (r.code !== 0) problems.push(`destroy ${c.name} failed (${failure(r)})`);
      }
      const left = git(s.repo, ['worktree', 'list', '--porcelain'], s.home)
        .split('\n')
        .filter((l) => l.startsWith('worktree '))
        .map((l) => l.slice('worktree '.length))
        .filter((w) => w !== s.repo);
      for (const w of left) git(s.repo, ['worktree', 'remove', '--force', w], s.home);
      if (left.length) problems.push(`destroy left ${left.length} worktree(s)`);
    } catch (e) {
      problems.push(`clean-up: ${(e as Error).message}`);
    } finally {
      s.cleanup();
    }
    row.verify = tidy(row.verify);
    row.verdict = problems.length
      ? tidy(`failed: ${shortProblems(problems)}`)
      : refused !== undefined
        ? tidy(`refused, as verify reports: ${refused}`)
        : 'passed';
  }
  return { row, problems: problems.map(tidy) };
}

beforeAll(() => {
  // `sandbox compose` hands the terminal to compose: it runs as a child, from the build.
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first.`);
});

// The checks themselves, on configurations made up to break each rule once; and the whole run on a project that
// any kinfra must sandbox (its ports already follow kinfra's variables), so a pass means what it says.
describe('the corpus harness', () => {
  const port = (published: string, target: number | string, host_ip?: string, protocol = 'tcp') => ({
    published,
    target,
    protocol,
    ...(host_ip ? { host_ip } : {}),
  });
  const main: ComposeConfig = {
    name: 'app',
    services: {
      web: { ports: [port('8080', 80, '127.0.0.1'), port('9000-9001', '9000-9001', undefined, 'udp')] },
      agent: { network_mode: 'host', ports: [port('7000', 7000)] },
    },
    volumes: { data: { name: 'app_data' }, shared: { name: 'shared', external: true } },
  };

  it('passes disjoint sandboxes that keep host_ip, and finds every kind of clash', () => {
    const good = (n: number): ComposeConfig => ({
      name: `app--s${n}`,
      services: {
        web: {
          ports: [
            port(String(8080 + n), 80, '127.0.0.1'),
            port(`${9000 + 2 * n}-${9001 + 2 * n}`, '9000-9001', '', 'udp'),
          ],
        },
        agent: { network_mode: 'host', ports: [port('7000', 7000)] },
      },
      volumes: { data: { name: `app--s${n}_data` }, shared: { name: 'shared', external: true } },
    });
    const ok = analyse(
      main,
      [1, 2, 3].map((n) => ({ name: `s${n}`, config: good(n) })),
    );
    expect(ok.problems).toEqual([]);
    expect(ok.remapped).toEqual([3, 3, 3]);
    expect(ok.mainPorts).toBe(3);

    const bad: ComposeConfig = {
      name: 'app',
      services: { web: { container_name: 'web', ports: [port('8081', 80), port('9001', 9001, '', 'udp')] } },
      volumes: { data: { name: 'app_data' } },
    };
    const found = analyse(main, [{ name: 's1', config: bad }]).problems;
    expect(found).toEqual([
      'main and s1 both publish 1: 9001/udp',
      's1: publishes nothing for 1: web 9000/udp',
      's1: 1 host_ip not kept: web 80/tcp host_ip 127.0.0.1 → (all)',
      's1: container_name kept on web (web)',
      'project names not distinct: app, app',
      'volume data: main, s1 all name it app_data',
    ]);
  });

  it('reads findings from any array of objects with a message, and groups their wording', () => {
    const doc = {
      error: {
        details: {
          result: {
            findings: [{ message: 'host port 80 is fixed' }, { message: 'host port 443 is fixed' }, { severity: 'x' }],
          },
        },
      },
    };
    expect(findingMessages(doc)).toEqual(['host port 80 is fixed', 'host port 443 is fixed']);
    expect(summariseMessages(findingMessages(doc))).toBe('2× host port N is fixed');
    expect(summariseMessages([])).toBe('nothing');
  });

  it("sandboxes, end to end, a project whose ports already follow kinfra's variables", async () => {
    const corpusDir = mkdtempSync(join(tmpdir(), 'kinfra-corpus-control-'));
    try {
      mkdirSync(join(corpusDir, 'control__app'));
      writeFileSync(
        join(corpusDir, 'control__app/docker-compose.yml'),
        'services:\n  api:\n    image: debian:bookworm-slim\n' +
          '    ports: ["127.0.0.1:${KTRDR_API_PORT:-8000}:8000"]\n    volumes: [data:/data]\n' +
          '  db:\n    image: debian:bookworm-slim\n    ports: ["${KTRDR_DB_PORT:-5432}:5432"]\n' +
          'volumes:\n  data: {}\n',
      );
      const p: CorpusProject = {
        dir: 'control__app',
        repo: 'control/app',
        commit: '0'.repeat(40),
        paths: ['docker-compose.yml'],
        features: [],
        services: 2,
        publishedPorts: 2,
        configOk: 'yes',
        notes: '',
      };
      const out = await sandboxProject(corpusDir, p, emptyRow(p));
      expect(out.problems).toEqual([]);
      expect(out.row).toMatchObject({ verdict: 'passed', services: '2', remapped: '2/2, 2/2, 2/2' });
    } finally {
      rmSync(corpusDir, { recursive: true, force: true });
    }
  });
});

if (!corpus) {
  describe('Any Compose project, unchanged (issue 14)', () => {
    it.skip(
      `skipped: no Compose corpus here (looked for INDEX.tsv in ${corpusCandidates(REPO_ROOT).join(', ')}; ` +
        'set KINFRA_CORPUS to its folder)',
      () => undefined,
    );
  });
} else {
  const projects = readIndex(corpus);
  const rows = new Map<string, CorpusRow>();

  afterAll(() => {
    // A filtered run (-t) leaves the last full report as it was.
    if (rows.size !== projects.length) return;
    const counts = { passed: 0, skipped: 0, failed: 0 };
    const ordered = projects.map((p) => rows.get(p.dir) ?? emptyRow(p, 'not run'));
    for (const r of ordered) {
      const k = r.verdict.split(':')[0] as keyof typeof counts;
      if (k in counts) counts[k]++;
    }
    const intro = [
      '<!-- Generated by a test run: `npx vitest run test/cli/compose-corpus.test.ts` writes this file. ' +
        'Do not edit it by hand. -->',
      '',
      '# The Compose corpus, sandboxed',
      '',
      `${projects.length} real Compose projects (the corpus's INDEX.tsv), each committed unchanged to a scratch ` +
        'repository whose root is the folder of its first `-f` file, without a kinfra.yaml. Three sandboxes are ' +
        "created in each. The main checkout's `docker compose --profile '*' config` and each sandbox's " +
        "`kinfra sandbox compose --profile '*' config` (every profile: what the main checkout can run, a sandbox " +
        'must run beside it) must publish disjoint host ports (per protocol; `network_mode: host` services ' +
        "exempt), keep every entry's host_ip, drop container_name, and give the project and every non-external " +
        'volume its own name. Nothing is started. ' +
        `Totals: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped.`,
      '',
      '- **host ports remapped**: how many of the main checkout’s published host ports each sandbox publishes ' +
        'elsewhere, out of all of them.',
      '- **verify reported**: `kinfra sandbox verify --json` in the main checkout, its findings grouped by ' +
        'wording (numbers as N).',
      '- **set-up**: what the test did to the copy: a `.env` from the project’s example (as INDEX.tsv’s notes ' +
        'say), `COMPOSE_FILE` when the `-f` files are not what Compose finds by itself, a subfolder as the root.',
    ];
    writeFileSync(REPORT, renderReport(ordered, intro));
  });

  describe('Any Compose project, unchanged (issue 14)', () => {
    for (const p of projects) {
      it(`${p.repo} (${p.paths.join(' + ')})`, async (ctx) => {
        const row = emptyRow(p);
        rows.set(p.dir, row);
        const out = await sandboxProject(corpus, p, row);
        if (out.skipped) ctx.skip(out.skipped);
        expect(out.problems, `${p.repo}: what the sandboxes would clash on`).toEqual([]);
      });
    }
  });
}
