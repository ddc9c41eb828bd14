import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cliEnv, parseJson, appWorkspace, type CliResult, type Workspace } from '../helpers/cli.js';
import { mulberry32 } from '../helpers/random.js';

/**
 * Issue 11 (ownership), the cases that need no containers: on real git
 * repositories with a scratch HOME. Destroy still asks the Docker engine for
 * containers, but none are made. Every workspace has its own compose-project
 * prefix (kinfra.yaml), so even the old code, which trusts .env.sandbox, can
 * never meet another test's stack.
 *
 * The randomized tests print their seed in every assertion message and replay
 * with OWNERSHIP_SEED=<seed>.
 */

const SEED = Number(process.env.OWNERSHIP_SEED ?? Date.now() % 1_000_000);
const ROUNDS = Number(process.env.OWNERSHIP_ROUNDS ?? 20);

/** Ignore rules of the fixture repository: KTRDR's data folders, logs, and every default regenerable pattern. */
const GITIGNORE =
  [
    'data/',
    'models/',
    'strategies/',
    '*.log',
    '*.bak',
    '/checkout-*/',
    'node_modules/',
    '.venv/',
    'venv/',
    '__pycache__/',
    'dist/',
    'build/',
    'target/',
    '.cache/',
    '.pytest_cache/',
    '.mypy_cache/',
    '.tox/',
    '*.pyc',
    '*.tmp',
    'out/',
  ].join('\n') + '\n';

const TRACKED = {
  'src/app.py': 'print("app")\n',
  'web/index.js': 'console.log("web");\n',
  'docs/notes.md': '# notes\n',
};

interface Ctx {
  ws: Workspace;
  prefix: string;
  id: (name: string) => string;
  path: (name: string) => string;
  registry: () => any;
  writeRegistry: (reg: any) => void;
}

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

function kinfraYaml(prefix: string, extra = ''): string {
  return (
    `prefix: ${prefix}\nports:\n  api: { env: OWN_API_PORT, base: 47100 }\n  db: { env: OWN_DB_PORT, ` +
    `base: 47200 }\n${extra}`
  );
}

/** A workspace with its own prefix (kinfra.yaml), a .gitignore and a few tracked files. */
function setup(opts: { yamlExtra?: string; files?: Record<string, string> } = {}): Ctx {
  const prefix = `own${Math.random()
    .toString(36)
    .replace(/[^a-z]/g, '')
    .slice(0, 6)}`;
  ws = appWorkspace({
    'kinfra.yaml': kinfraYaml(prefix, opts.yamlExtra),
    '.gitignore': GITIGNORE,
    ...TRACKED,
    ...opts.files,
  });
  const w = ws;
  const registryFile = join(w.home, '.ktrdr/sandboxes/registry.json');
  return {
    ws: w,
    prefix,
    id: (name) => `${prefix}--${name}`,
    path: (name) => join(w.dev, `${prefix}--${name}`),
    registry: () => JSON.parse(readFileSync(registryFile, 'utf8')),
    writeRegistry: (reg) => writeFileSync(registryFile, JSON.stringify(reg, null, 2)),
  };
}

/** The JSON document a --json command printed on stderr (verbose lines may come first). */
function jsonError(stderr: string): any {
  const at = stderr.indexOf('"schemaVersion"');
  if (at < 0) return undefined;
  try {
    return JSON.parse(stderr.slice(stderr.lastIndexOf('{', at))).error;
  } catch {
    return undefined;
  }
}

async function create(c: Ctx, name: string, extra: string[] = []): Promise<any> {
  const r = await c.ws.run(['sandbox', 'create', name, '--json', ...extra]);
  expect(r.code, `precondition: create ${name}: ${r.stderr}`).toBe(0);
  return parseJson(r.stdout).data;
}

function nestedRepo(c: Ctx, dir: string, subject = 'nested work'): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'lib.txt'), `${subject}\n`);
  c.ws.git(['init', '-q'], dir);
  c.ws.git(['add', '-A'], dir);
  c.ws.git(['commit', '-qm', subject], dir);
}

function put(file: string, text = 'x\n'): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** `kind: path` of every work-at-risk line of a refusal. */
function riskLines(message: string): { kind: string; path: string }[] {
  const out: { kind: string; path: string }[] = [];
  for (const line of message.split('\n')) {
    const m = /^\s*(uncommitted|ignored|nested repository|commit on no other branch or remote): (.+?)\s*$/.exec(line);
    if (m) out.push({ kind: m[1]!, path: m[2]! });
  }
  return out;
}
const norm = (p: string) => p.replace(/\/+$/, '');

// ---------------------------------------------------------------------------------------------------------------------

describe('case 2: the registry, not .env.sandbox, decides what destroy touches', () => {
  const variants: { name: string; edit: (a: string, b: string, c: Ctx) => void; fromInside?: boolean }[] = [
    {
      name: "a copy of b's .env.sandbox",
      edit: (a, b) => copyFileSync(join(b, '.env.sandbox'), join(a, '.env.sandbox')),
    },
    {
      name: "a copy of b's .env.sandbox, destroy run inside a's folder",
      edit: (a, b) => copyFileSync(join(b, '.env.sandbox'), join(a, '.env.sandbox')),
      fromInside: true,
    },
    {
      name: "COMPOSE_PROJECT_NAME edited to b's",
      edit: (a, _b, c) => editEnv(a, /^COMPOSE_PROJECT_NAME=.*$/m, `COMPOSE_PROJECT_NAME=${c.id('b')}`),
    },
    { name: "SLOT_NUMBER edited to b's slot", edit: (a) => editEnv(a, /^SLOT_NUMBER=.*$/m, 'SLOT_NUMBER=2') },
    { name: "a port variable edited to b's port", edit: (a) => editEnv(a, /^OWN_DB_PORT=.*$/m, 'OWN_DB_PORT=47202') },
  ];

  function editEnv(dir: string, re: RegExp, line: string): void {
    const file = join(dir, '.env.sandbox');
    const text = readFileSync(file, 'utf8');
    expect(re.test(text), `precondition: ${file} has ${re}`).toBe(true);
    writeFileSync(file, text.replace(re, line));
  }

  it.each(variants)(
    'destroy a refuses (exit 4, env-file-disagrees) when its .env.sandbox is $name, ' +
      'and b stays registered with its folder',
    async ({ edit, fromInside }) => {
      const c = setup();
      await create(c, 'a');
      await create(c, 'b');
      const a = c.path('a');
      const b = c.path('b');
      const bEnv = readFileSync(join(b, '.env.sandbox'), 'utf8');
      edit(a, b, c);

      const r = fromInside
        ? await c.ws.run(['sandbox', 'destroy', '--yes', '--json'], { cwd: a })
        : await c.ws.run(['sandbox', 'destroy', 'a', '--yes', '--json']);
      expect(r.code, `destroy a with a disagreeing .env.sandbox must refuse: ${r.stdout}${r.stderr}`).toBe(4);
      const err = jsonError(r.stderr);
      expect(err?.code, r.stderr).toBe('env-file-disagrees');
      expect(err?.hint, r.stderr).toContain('kinfra sandbox doctor --repair');

      const reg = c.registry();
      expect(reg.instances[c.id('a')]?.path).toBe(a);
      expect(reg.instances[c.id('b')]?.path).toBe(b);
      expect(existsSync(join(a, 'README.md'))).toBe(true);
      expect(existsSync(join(b, 'README.md'))).toBe(true);
      expect(readFileSync(join(b, '.env.sandbox'), 'utf8')).toBe(bEnv);
      const human = await c.ws.run(['sandbox', 'destroy', 'a', '--yes']);
      expect(human.code).toBe(4);
      expect(human.stderr).toContain('kinfra sandbox doctor --repair');
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------------

describe('case 3: destroy checks for unsaved work again at the last moment', () => {
  it('removes the worktree with `git worktree remove` without --force (unless --force is passed)', async () => {
    const c = setup();
    await create(c, 'clean');
    const r = await c.ws.run(['sandbox', 'destroy', 'clean', '--yes', '--verbose']);
    expect(r.code, r.stderr).toBe(0);
    const line = r.stderr.split('\n').find((l) => /^\$ git .*worktree remove/.test(l));
    expect(line, `precondition: --verbose prints the git worktree remove command:\n${r.stderr}`).toBeDefined();
    expect(line).not.toContain('--force');
    expect(existsSync(c.path('clean'))).toBe(false);

    // Precondition that --force still removes work at risk.
    await create(c, 'forced');
    writeFileSync(join(c.path('forced'), 'notes.txt'), 'mine\n');
    const f = await c.ws.run(['sandbox', 'destroy', 'forced', '--force', '--verbose']);
    expect(f.code, f.stderr).toBe(0);
    expect(existsSync(c.path('forced'))).toBe(false);
  });

  /**
   * Start destroy, and write into the worktree as soon as its --verbose output
   * shows it has passed its first check (the Docker listing after the first
   * `git status`), or after a short delay.
   */
  function destroyWithLateWrite(
    c: Ctx,
    name: string,
    write: () => void,
  ): Promise<CliResult & { wrote: boolean; late: boolean; writeError?: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'sandbox', 'destroy', name, '--yes', '--verbose'], {
        cwd: c.ws.repo,
        env: cliEnv(c.ws.home),
      });
      let stdout = '';
      let stderr = '';
      let done = false;
      let wrote = false;
      let late = false;
      let writeError: string | undefined;
      const doWrite = () => {
        if (done) return;
        done = true;
        clearTimeout(fallback);
        try {
          write();
          wrote = true;
        } catch (e) {
          writeError = String(e);
        }
        // Late only if destroy had already printed the removal when the write completed.
        late = /worktree remove/.test(stderr);
      };
      const fallback = setTimeout(doWrite, 1500);
      let statusSeenAt = -1;
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (done) return;
        const lines = stderr.split('\n');
        const status = lines.findIndex((l) => /^\$ git .*status/.test(l));
        if (status < 0) return;
        if (statusSeenAt < 0) {
          statusSeenAt = status;
          setTimeout(doWrite, 300);
        }
        if (lines.slice(status + 1).some((l) => /docker|\/containers|\bps\b/i.test(l))) doWrite();
      });
      child.on('error', reject);
      child.stdin.end();
      child.on('close', (code) => {
        done = true;
        clearTimeout(fallback);
        resolve({ code: code ?? -1, stdout, stderr, wrote, late, ...(writeError ? { writeError } : {}) });
      });
    });
  }

  const writes: { name: string; file: string; write: (p: string) => void; check: (p: string) => string }[] = [
    {
      name: 'an untracked file',
      file: 'late-notes.txt',
      write: (p) => writeFileSync(join(p, 'late-notes.txt'), 'written late\n'),
      check: (p) => readFileSync(join(p, 'late-notes.txt'), 'utf8'),
    },
    {
      name: 'an edit of a tracked file',
      file: 'README.md',
      write: (p) => writeFileSync(join(p, 'README.md'), 'written late\n'),
      check: (p) => readFileSync(join(p, 'README.md'), 'utf8'),
    },
    {
      name: 'an ignored file in data/',
      file: 'data/',
      write: (p) => {
        mkdirSync(join(p, 'data'));
        writeFileSync(join(p, 'data/late.csv'), 'written late\n');
      },
      check: (p) => readFileSync(join(p, 'data/late.csv'), 'utf8'),
    },
  ];

  it.each(writes)(
    "$name written after destroy's first check makes it refuse (exit 4) and keep folder, file and entry",
    async ({ write, check, file }) => {
      const c = setup();
      await create(c, 'race');
      const path = c.path('race');
      const r = await destroyWithLateWrite(c, 'race', () => write(path));
      const removeLine = r.stderr.split('\n').find((l) => /^\$ git .*worktree remove/.test(l));
      if (r.wrote && !r.late) {
        // Written before destroy printed the removal: the last-moment check must have seen it.
        expect(r.code, `destroy removed a worktree holding work written after its first check:\n${r.stderr}`).toBe(4);
        expect(r.stderr).toContain(file === 'data/' ? 'ignored: data/' : `uncommitted: ${file}`);
        expect(check(path)).toBe('written late\n');
        expect(c.registry().instances[c.id('race')]?.path).toBe(path);
      }
      // Otherwise the write came after destroy had begun removing the folder: nothing it could have checked.
      if (removeLine)
        expect(removeLine, 'git worktree remove must not be forced without --force').not.toContain('--force');
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------------

describe('case 4: git-ignored work and nested repositories are work at risk; regenerable folders are not', () => {
  /** The default regenerable patterns, each with a file under it (and a nested repository inside node_modules). */
  function regenerable(c: Ctx, path: string): string[] {
    const files = [
      'node_modules/pkg/index.js',
      'web/node_modules/x/y.js',
      '.venv/bin/python',
      'venv/lib/site.py',
      '__pycache__/a.cpython-311.pyc',
      'src/__pycache__/app.cpython-311.pyc',
      'dist/bundle.js',
      'build/out.o',
      'target/debug/app',
      '.cache/blob',
      '.pytest_cache/v/x',
      '.mypy_cache/3.11/x.json',
      '.tox/py311/x',
      'src/mod.pyc',
    ];
    for (const f of files) put(join(path, f));
    nestedRepo(c, join(path, 'node_modules/dep'), 'dependency history');
    return [...files, 'node_modules/dep'];
  }
  const mentions = (text: string, paths: string[]) =>
    paths.filter((p) => riskLines(text).some((l) => norm(l.path) === norm(p) || p.startsWith(norm(l.path) + '/')));

  it(
    'ignored data/ and an ignored log are listed and block destroy --yes; ' +
      'regenerable folders are never listed and do not block',
    async () => {
      const c = setup();
      await create(c, 'ign');
      const path = c.path('ign');
      put(join(path, 'data/prices/EURUSD.csv'), 'rows\n');
      put(join(path, 'run.log'), 'log\n');
      const regen = regenerable(c, path);

      const r = await c.ws.run(['sandbox', 'destroy', 'ign', '--yes', '--json']);
      expect(r.code, `destroy --yes deleted git-ignored data/ without a word: ${r.stdout}${r.stderr}`).toBe(4);
      const err = jsonError(r.stderr);
      expect(err?.code).toBe('work-at-risk');
      expect(err.message).toMatch(/^\s*ignored: data\//m);
      expect(err.message).toMatch(/^\s*ignored: run\.log$/m);
      expect(mentions(err.message, regen), err.message).toEqual([]);
      expect((err.details?.ignored ?? []).map(norm)).toEqual(expect.arrayContaining(['data', 'run.log']));
      expect(readFileSync(join(path, 'data/prices/EURUSD.csv'), 'utf8')).toBe('rows\n');
      expect(c.registry().instances[c.id('ign')]).toBeDefined();

      // Without the ignored work, only regenerable folders are left: an everyday destroy succeeds.
      rmSync(join(path, 'data'), { recursive: true });
      rmSync(join(path, 'run.log'));
      const ok = await c.ws.run(['sandbox', 'destroy', 'ign', '--yes']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(existsSync(path)).toBe(false);
    },
  );

  it(
    'an ignored nested repository with a commit blocks destroy --yes and is listed; ' +
      'one under node_modules/ does not',
    async () => {
      const c = setup();
      await create(c, 'nest');
      const path = c.path('nest');
      nestedRepo(c, join(path, 'checkout-tool'), 'unpushed tool work');
      const regen = regenerable(c, path);

      const r = await c.ws.run(['sandbox', 'destroy', 'nest', '--yes', '--json']);
      expect(r.code, `destroy --yes deleted an ignored nested repository without a word: ${r.stdout}${r.stderr}`).toBe(
        4,
      );
      const err = jsonError(r.stderr);
      expect(err?.code).toBe('work-at-risk');
      expect(err.message).toMatch(/^\s*nested repository: checkout-tool\/?$/m);
      expect(mentions(err.message, regen), err.message).toEqual([]);
      expect((err.details?.nestedRepos ?? []).map(norm)).toEqual(['checkout-tool']);
      expect(c.ws.git(['log', '--format=%s'], join(path, 'checkout-tool'))).toBe('unpushed tool work');

      rmSync(join(path, 'checkout-tool'), { recursive: true, force: true });
      const ok = await c.ws.run(['sandbox', 'destroy', 'nest', '--yes']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(existsSync(path)).toBe(false);
    },
  );

  it('an untracked nested repository is listed as a nested repository', async () => {
    const c = setup();
    await create(c, 'vend');
    const path = c.path('vend');
    nestedRepo(c, join(path, 'vendor/lib'), 'vendored work');
    const r = await c.ws.run(['sandbox', 'destroy', 'vend', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(4);
    const err = jsonError(r.stderr);
    expect(err?.code).toBe('work-at-risk');
    expect(err.message, 'the refusal must name it as a nested repository').toMatch(
      /^\s*nested repository: vendor\/lib\/?$/m,
    );
    expect((err.details?.nestedRepos ?? []).map(norm)).toEqual(['vendor/lib']);
    expect(existsSync(join(path, 'vendor/lib/.git'))).toBe(true);
  });

  it('kinfra.yaml `destroy: { regenerable: [...] }` adds patterns to the defaults', async () => {
    const c = setup({ yamlExtra: 'destroy:\n  regenerable: ["*.tmp", "out/"]\n' });
    const made = await c.ws.run(['sandbox', 'create', 'ext', '--json']);
    expect(made.code, `kinfra.yaml with destroy.regenerable must be accepted: ${made.stderr}`).toBe(0);
    const path = c.path('ext');
    put(join(path, 'out/report.html'));
    put(join(path, 'web/out/chunk.js'));
    put(join(path, 'scratch.tmp'));
    put(join(path, 'src/cache.tmp'));
    put(join(path, 'node_modules/pkg/index.js'));
    put(join(path, 'keep.bak'), 'backup\n');

    const r = await c.ws.run(['sandbox', 'destroy', 'ext', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(4);
    const err = jsonError(r.stderr);
    expect(err?.code).toBe('work-at-risk');
    expect(riskLines(err.message), err.message).toEqual([{ kind: 'ignored', path: 'keep.bak' }]);

    rmSync(join(path, 'keep.bak'));
    const ok = await c.ws.run(['sandbox', 'destroy', 'ext', '--yes']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(path)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------------

describe('case 5: doctor --repair deletes only folders it can prove kinfra made', () => {
  type Target = { name: string; folder: (c: Ctx) => string; state?: 'destroying'; files: (c: Ctx) => string[] };
  const targets: Target[] = [
    {
      name: "a folder without .git at the sandbox's own place beside the checkout, holding a file",
      folder: (c) => c.path('gone'),
      state: 'destroying',
      files: (c) => [join(c.path('gone'), 'notes.txt')],
    },
    {
      name: 'a folder without .git elsewhere, holding a file',
      folder: (c) => join(c.ws.root, 'elsewhere'),
      state: 'destroying',
      files: (c) => [join(c.ws.root, 'elsewhere/notes.txt')],
    },
    {
      name: 'HOME',
      folder: (c) => c.ws.home,
      state: 'destroying',
      files: (c) => [join(c.ws.home, 'notes.txt'), join(c.ws.home, '.gitconfig')],
    },
    {
      name: 'the main checkout',
      folder: (c) => c.ws.repo,
      state: 'destroying',
      files: (c) => [join(c.ws.repo, 'notes.txt'), join(c.ws.repo, 'README.md'), join(c.ws.repo, '.git/HEAD')],
    },
    {
      name: 'the main checkout (no destroy under way)',
      folder: (c) => c.ws.repo,
      files: (c) => [join(c.ws.repo, 'notes.txt'), join(c.ws.repo, 'README.md'), join(c.ws.repo, '.git/HEAD')],
    },
  ];

  it.each(targets)(
    'an entry that claims kinfra created a worktree at $name: doctor --repair leaves it and its files',
    async (t) => {
      const c = setup();
      await create(c, 'a');
      const folder = t.folder(c);
      mkdirSync(folder, { recursive: true });
      const files = t.files(c);
      const before = new Map<string, string>();
      for (const f of files) {
        if (!existsSync(f)) writeFileSync(f, `precious ${f}\n`);
        before.set(f, readFileSync(f, 'utf8'));
      }
      const reg = c.registry();
      const id = c.id('gone');
      reg.instances[id] = {
        ...reg.instances[c.id('a')],
        slot: 5,
        path: folder,
        branch: id,
        is_worktree: true,
        created_worktree: true,
        ports: { api: 47105, db: 47205 },
        ...(t.state ? { state: t.state } : {}),
      };
      c.writeRegistry(reg);
      const hadEnv = existsSync(join(folder, '.env.sandbox'));

      const r = await c.ws.run(['sandbox', 'doctor', '--repair', '--json']);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
      for (const [f, text] of before) {
        expect(existsSync(f), `doctor --repair deleted ${f} (entry pointing at ${t.name})`).toBe(true);
        expect(readFileSync(f, 'utf8')).toBe(text);
      }
      if (!hadEnv && (folder === c.ws.repo || folder === c.ws.home)) {
        expect(existsSync(join(folder, '.env.sandbox')), `doctor --repair wrote a .env.sandbox into ${t.name}`).toBe(
          false,
        );
      }
      // The folder is left and reported.
      const after = await c.ws.run(['sandbox', 'doctor', '--json']);
      const findings = parseJson(after.stdout).data.findings.filter((f: any) => f.status !== 'ok');
      expect(findings.map((f: any) => f.message).join('\n'), 'a finding about the entry remains').toMatch(
        new RegExp(`${id}|${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      );
      // The real sandbox is unharmed.
      expect(existsSync(join(c.path('a'), 'README.md'))).toBe(true);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------------

describe('case 6: the same name twice', () => {
  it('create with a name that exists refuses (exit 12, sandbox-exists) and names the existing folder', async () => {
    const c = setup();
    await create(c, 'feat');
    const r = await c.ws.run(['sandbox', 'create', 'feat', '--json']);
    expect(r.code, `a second create feat must refuse: ${r.stdout}${r.stderr}`).toBe(12);
    const err = jsonError(r.stderr);
    expect(err?.code).toBe('sandbox-exists');
    expect(err.message).toContain(c.path('feat'));
    expect(Object.keys(c.registry().instances)).toEqual([c.id('feat')]);
    expect(existsSync(c.path('feat-2'))).toBe(false);
    const human = await c.ws.run(['sandbox', 'create', 'feat']);
    expect(human.code).toBe(12);
    expect(human.stderr).toContain(c.path('feat'));
  });

  it('create --unique picks -2, then -3', async () => {
    const c = setup();
    await create(c, 'feat');
    const two = await c.ws.run(['sandbox', 'create', 'feat', '--unique', '--json']);
    expect(two.code, two.stderr).toBe(0);
    expect(parseJson(two.stdout).data.instanceId).toBe(c.id('feat-2'));
    const three = await c.ws.run(['sandbox', 'create', 'feat', '--unique', '--json']);
    expect(three.code, three.stderr).toBe(0);
    expect(parseJson(three.stdout).data.instanceId).toBe(c.id('feat-3'));
    expect(existsSync(c.path('feat-3'))).toBe(true);
  });

  it('init -n with an id that exists refuses (exit 12, sandbox-exists)', async () => {
    const c = setup();
    await create(c, 'feat');
    const clone = join(c.ws.dev, 'clone');
    c.ws.git(['clone', '-q', c.ws.repo, clone], c.ws.dev);
    const r = await c.ws.run(['sandbox', 'init', '-n', 'feat', '--json'], { cwd: clone });
    expect(r.code, `init -n feat must refuse: ${r.stdout}${r.stderr}`).toBe(12);
    const err = jsonError(r.stderr);
    expect(err?.code).toBe('sandbox-exists');
    expect(err.message).toContain(c.path('feat'));
    expect(Object.keys(c.registry().instances)).toEqual([c.id('feat')]);
    expect(existsSync(join(clone, '.env.sandbox'))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------------

describe('case 7: a destroyed sandbox does not come back', () => {
  /** After destroy kept `dir`: no .env.sandbox, up refuses, doctor does not re-register it, and its slot is free. */
  async function expectGone(c: Ctx, dir: string, slot: number): Promise<void> {
    expect(existsSync(join(dir, '.env.sandbox')), `destroy left ${dir}/.env.sandbox behind`).toBe(false);
    // A compose file compose itself rejects: should up ever get that far, it cannot start anything.
    writeFileSync(join(dir, 'docker-compose.yml'), 'services: 42\n');
    const up = await c.ws.run(['sandbox', 'up', '--no-wait', '--json'], { cwd: dir });
    expect(up.code, `up in a destroyed sandbox's folder: ${up.stderr}`).toBe(5);
    // Its .env.sandbox is gone, so the folder is no sandbox at all (not-in-sandbox); with the file put back it
    // would be refused as not-registered. Either way: exit 5 and nothing runs.
    expect(['not-registered', 'not-in-sandbox']).toContain(jsonError(up.stderr)?.code);

    const repair = await c.ws.run(['sandbox', 'doctor', '--repair', '--json']);
    expect(repair.stderr).not.toMatch(/at .*\.js:\d+/);
    const paths = Object.values<any>(c.registry().instances).map((e) => e.path);
    expect(paths, 'doctor --repair registered the destroyed sandbox again').not.toContain(dir);

    const next = await c.ws.run(['sandbox', 'create', 'next', '-s', String(slot), '--json']);
    expect(next.code, `"slot ${slot} is free again" must be true: ${next.stderr}`).toBe(0);
    expect(parseJson(next.stdout).data.slot).toBe(slot);
  }

  it('destroy --keep-worktree removes the .env.sandbox it leaves behind', async () => {
    const c = setup();
    const made = await create(c, 'keep');
    const r = await c.ws.run(['sandbox', 'destroy', 'keep', '--keep-worktree', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`slot ${made.slot} is free again`);
    expect(existsSync(join(c.path('keep'), 'README.md'))).toBe(true);
    await expectGone(c, c.path('keep'), made.slot);
  });

  it('destroy of an init-ed clone keeps the folder but removes its .env.sandbox', async () => {
    const c = setup();
    const clone = join(c.ws.dev, 'clone');
    c.ws.git(['clone', '-q', c.ws.repo, clone], c.ws.dev);
    const init = await c.ws.run(['sandbox', 'init', '--json'], { cwd: clone });
    expect(init.code, init.stderr).toBe(0);
    const slot = parseJson(init.stdout).data.slot;
    const r = await c.ws.run(['sandbox', 'destroy', '--yes'], { cwd: clone });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(clone, 'README.md'))).toBe(true);
    await expectGone(c, clone, slot);
  });
});

// ---------------------------------------------------------------------------------------------------------------------

describe('case 8: commits on the branch destroy keeps are not at risk', () => {
  it(
    "local commits on the sandbox's own branch do not block destroy --yes; " +
      'commits on a detached HEAD on no branch do',
    async () => {
      const c = setup();
      await create(c, 'commits');
      const path = c.path('commits');
      writeFileSync(join(path, 'feature.txt'), 'work\n');
      c.ws.git(['add', 'feature.txt'], path);
      c.ws.git(['commit', '-qm', 'everyday local commit'], path);
      const sha = c.ws.git(['rev-parse', 'HEAD'], path);

      const r = await c.ws.run(['sandbox', 'destroy', 'commits', '--yes']);
      expect(r.code, `a commit on the kept branch must not need --force: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Kept branch ${c.id('commits')}`);
      expect(existsSync(path)).toBe(false);
      expect(c.ws.git(['branch', '--list', '--contains', sha, c.id('commits')])).toContain(c.id('commits'));

      await create(c, 'detached');
      const d = c.path('detached');
      c.ws.git(['checkout', '-q', '--detach'], d);
      writeFileSync(join(d, 'lost.txt'), 'work\n');
      c.ws.git(['add', 'lost.txt'], d);
      c.ws.git(['commit', '-qm', 'detached work'], d);
      const refused = await c.ws.run(['sandbox', 'destroy', 'detached', '--yes', '--json']);
      expect(refused.code, refused.stderr).toBe(4);
      const err = jsonError(refused.stderr);
      expect(err?.code).toBe('work-at-risk');
      expect(err.message).toMatch(/commit on no other branch or remote: [0-9a-f]+ detached work/);
      expect(existsSync(join(d, 'lost.txt'))).toBe(true);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------------

describe('randomized (replay with OWNERSHIP_SEED)', () => {
  it(
    `random worktree contents: destroy --yes refuses exactly when work is at risk and lists ` +
      `each item (${ROUNDS} rounds)`,
    async () => {
      const seed = SEED;
      const rnd = mulberry32(seed);
      const why = `(replay with OWNERSHIP_SEED=${seed})`;
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const c = setup();
      const problems: string[] = [];
      let refusedRounds = 0;
      let cleanRounds = 0;

      for (let round = 0; round < ROUNDS; round++) {
        const name = `r${round}`;
        await create(c, name);
        const path = c.path(name);
        const expected: { kind: string; path: string }[] = [];
        const safe: string[] = [];
        const written = new Map<string, string>();
        const write = (rel: string, text = `round ${round} ${rel}\n`) => {
          put(join(path, rel), text);
          written.set(rel, text);
        };
        const clean = rnd() < 0.3;
        const tag = Math.floor(rnd() * 1e6).toString(36);
        const log: string[] = [];

        if (!clean) {
          if (rnd() < 0.3) {
            const f = pick(['README.md', ...Object.keys(TRACKED)]);
            appendFileSync(join(path, f), `edit ${tag}\n`);
            expected.push({ kind: 'uncommitted', path: f });
          }
          if (rnd() < 0.3) {
            const f = pick([`notes-${tag}.txt`, `scratch-${tag}/todo.txt`, `src/new_${tag}.py`]);
            write(f);
            expected.push({ kind: 'uncommitted', path: f });
          }
          for (const dir of ['data', 'models', 'strategies']) {
            if (rnd() < 0.3) {
              const base = rnd() < 0.3 ? `src/${dir}` : dir;
              write(`${base}/${tag}/file.bin`);
              if (!expected.some((e) => e.path === `${base}/`)) expected.push({ kind: 'ignored', path: `${base}/` });
            }
          }
          if (rnd() < 0.25) {
            const f = pick([`run-${tag}.log`, `web/debug-${tag}.log`, `settings-${tag}.bak`]);
            write(f);
            expected.push({ kind: 'ignored', path: f });
          }
          if (rnd() < 0.2) {
            nestedRepo(c, join(path, `vendor/lib${tag}`), `vendored ${tag}`);
            expected.push({ kind: 'nested repository', path: `vendor/lib${tag}` });
          }
          if (rnd() < 0.2) {
            nestedRepo(c, join(path, `checkout-${tag}`), `tool ${tag}`);
            expected.push({ kind: 'nested repository', path: `checkout-${tag}` });
          }
        }
        // Never at risk: regenerable folders (with a nested repository of a
        // dependency), and commits on the kept branch.
        const regen = [
          'node_modules/pkg/index.js',
          'web/node_modules/x/y.js',
          '.venv/bin/python',
          'venv/lib/site.py',
          '__pycache__/m.pyc',
          'src/__pycache__/app.cpython-311.pyc',
          'dist/bundle.js',
          'build/out.o',
          'target/debug/app',
          '.cache/blob',
          '.pytest_cache/v/x',
          '.mypy_cache/3.11/x.json',
          '.tox/py311/x',
          'src/mod.pyc',
          'lib/deep/mod.pyc',
        ];
        for (const f of regen) {
          if (rnd() < 0.3) {
            write(f);
            safe.push(f);
          }
        }
        if (rnd() < 0.2) {
          nestedRepo(c, join(path, 'node_modules/dep'), 'dependency');
          safe.push('node_modules/dep');
        }
        if (rnd() < 0.3) {
          writeFileSync(join(path, `commit-${tag}.txt`), 'committed\n');
          c.ws.git(['add', `commit-${tag}.txt`], path);
          c.ws.git(['commit', '-qm', `own branch ${tag}`], path);
          log.push('commit on own branch');
        }
        log.push(...expected.map((e) => `at risk ${e.kind}: ${e.path}`), ...safe.map((s) => `safe ${s}`));
        const atRisk = expected.length > 0;
        const ctx = `round ${round}:\n  ${log.join('\n  ')}\n${why}`;

        const r = await c.ws.run(['sandbox', 'destroy', name, '--yes', '--json']);
        const issues: string[] = [];
        if (!atRisk) {
          cleanRounds++;
          if (r.code !== 0)
            issues.push(`nothing at risk, but destroy exited ${r.code}: ${jsonError(r.stderr)?.message ?? r.stderr}`);
          else if (existsSync(path)) issues.push(`destroy exited 0 but left ${path}`);
        } else {
          refusedRounds++;
          const err = jsonError(r.stderr);
          if (r.code !== 4 || err?.code !== 'work-at-risk') {
            issues.push(`work at risk, but destroy exited ${r.code} (${err?.code ?? 'no error'})`);
          } else {
            const lines = riskLines(err.message);
            for (const e of expected) {
              if (!lines.some((l) => l.kind === e.kind && norm(l.path) === norm(e.path)))
                issues.push(`refusal does not list "${e.kind}: ${e.path}"`);
            }
            for (const l of lines) {
              const known = expected.some(
                (e) => norm(l.path) === norm(e.path) || (e.path.endsWith('/') && l.path.startsWith(e.path)),
              );
              if (!known) issues.push(`refusal lists "${l.kind}: ${l.path}", which is not at risk`);
            }
            const details = err.details ?? {};
            for (const e of expected.filter((x) => x.kind === 'ignored')) {
              if (!(details.ignored ?? []).some((p: string) => norm(p) === norm(e.path) || p.startsWith(e.path)))
                issues.push(`error.details.ignored lacks ${e.path}`);
            }
            for (const e of expected.filter((x) => x.kind === 'nested repository')) {
              if (!(details.nestedRepos ?? []).some((p: string) => norm(p) === e.path))
                issues.push(`error.details.nestedRepos lacks ${e.path}`);
            }
            if (!c.registry().instances[c.id(name)]) issues.push(`refused, but ${c.id(name)} is no longer registered`);
            for (const [rel, text] of written) {
              const f = join(path, rel);
              if (!existsSync(f) || readFileSync(f, 'utf8') !== text)
                issues.push(`refused, but ${rel} is gone or changed`);
            }
          }
        }
        if (issues.length > 0)
          problems.push(
            `${issues.join('\n')}\n${r.code === 4 ? `refusal message:\n${jsonError(r.stderr)?.message}\n` : ''}${ctx}`,
          );
        // Free the slot for the next rounds.
        if (c.registry().instances[c.id(name)]) {
          const f = await c.ws.run(['sandbox', 'destroy', name, '--yes', '--force']);
          expect(f.code, `cleanup: ${f.stderr}\n${ctx}`).toBe(0);
        }
        expect(existsSync(path) && c.registry().instances[c.id(name)] !== undefined, ctx).toBe(false);
      }
      console.log(
        `ownership contents: ${ROUNDS} rounds, ${refusedRounds} with work at risk, ${cleanRounds} ` +
          `without, ${problems.length} with problems ${why}`,
      );
      expect(
        problems,
        `${problems.length} problems in ${ROUNDS} rounds (${refusedRounds} with work at risk, ${cleanRounds} ` +
          `without) ${why}:\n\n${problems.join('\n\n')}`,
      ).toEqual([]);
      expect(refusedRounds, why).toBeGreaterThan(0);
    },
    150_000,
  );

  /**
   * A `git` on PATH that appends each command line to $KINFRA_TEST_GITLOG
   * before running the real git: a writer that reads the log right after its
   * write knows for certain whether the write completed before a given git
   * command started.
   */
  function gitShim(root: string): string {
    const realGit = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
    const dir = join(root, 'shim');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'git'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> "\${KINFRA_TEST_GITLOG:-/dev/null}"\nexec ${realGit} "$@"\n`,
    );
    chmodSync(join(dir, 'git'), 0o755);
    return dir;
  }

  /**
   * The writer process: on "go", waits for its start condition in the git log,
   * then writes every few ms until told to stop.
   */
  const WRITER = String.raw`
const fs = require('fs');
const path = require('path');
const [dir, log, seedText, kindsText, startText] = process.argv.slice(2);
let a = Number(seedText) >>> 0;
const rnd = () => {
  a = (a + 0x6d2b79f5) >>> 0;
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const kinds = kindsText.split(',');
const [startOn, startDelay] = startText.split(':');
const logLines = () => {
  try { return fs.readFileSync(log, 'utf8').split('\n').filter(Boolean); } catch { return []; }
};
let n = 0, stopped = false, started = false;
const report = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const finish = () => { if (stopped) return; stopped = true; report({ end: true }); process.exit(0); };
process.stdin.on('data', (d) => {
  const s = d.toString();
  if (s.includes('stop')) finish();
  if (s.includes('go') && !started) { started = true; waitStart(Date.now()); }
});
function waitStart(t0) {
  if (stopped) return;
  const ready = startOn === 'time' ? true : logLines().some((l) => (' ' + l + ' ').includes(' ' + startOn + ' '));
  if (ready) return setTimeout(step, Number(startDelay));
  if (Date.now() - t0 > 3000) return setTimeout(step, 0);
  setTimeout(() => waitStart(t0), 1);
}
function step() {
  if (stopped || n >= 40) return;
  const kind = kinds[Math.floor(rnd() * kinds.length)];
  const i = n++;
  const content = 'race write ' + i + '\n';
  let rel;
  try {
    const mkdir = (d) => { try { fs.mkdirSync(path.join(dir, d)); } catch (e) { if (e.code !== 'EEXIST') throw e; } };
    if (kind === 'untracked') {
      rel = 'race-' + i + '.txt';
      fs.writeFileSync(path.join(dir, rel), content, { flag: 'wx' });
    } else if (kind === 'untracked-dir') {
      mkdir('race');
      rel = 'race/' + i + '.txt';
      fs.writeFileSync(path.join(dir, rel), content, { flag: 'wx' });
    } else if (kind === 'tracked') {
      rel = 'README.md';
      const fd = fs.openSync(path.join(dir, rel), 'r+');
      fs.writeSync(fd, content, fs.fstatSync(fd).size);
      fs.closeSync(fd);
    } else if (kind === 'ignored') {
      mkdir('data');
      rel = 'data/' + i + '.csv';
      fs.writeFileSync(path.join(dir, rel), content, { flag: 'wx' });
    } else {
      mkdir('node_modules');
      rel = 'node_modules/' + i + '.js';
      fs.writeFileSync(path.join(dir, rel), content, { flag: 'wx' });
    }
  } catch (e) {
    report({ i, kind, rel, ok: false, err: e.code });
    if (e.code === 'ENOENT') return finish();
    return setTimeout(step, 1);
  }
  report({ i, kind, rel, content, ok: true, seen: logLines().length });
  setTimeout(step, 1 + Math.floor(rnd() * 6));
}
report({ ready: true });
`;

  interface Write {
    i: number;
    kind: string;
    rel: string;
    content: string;
    ok: boolean;
    seen: number;
    err?: string;
  }

  it(
    `destroys racing a writer process: no write that completed before the last check is ` +
      `ever lost (${ROUNDS} rounds)`,
    async () => {
      const seed = SEED + 1;
      const rnd = mulberry32(seed);
      const why = `(replay with OWNERSHIP_SEED=${SEED})`;
      const c = setup();
      const shim = gitShim(c.ws.root);
      const writerFile = join(c.ws.root, 'writer.cjs');
      writeFileSync(writerFile, WRITER);
      const problems: string[] = [];
      const outcomes: Record<string, number> = {};

      for (let round = 0; round < ROUNDS; round++) {
        const name = `w${round}`;
        await create(c, name);
        const path = c.path(name);
        const gitLog = join(c.ws.root, `git-${round}.log`);
        const kinds =
          rnd() < 0.15
            ? ['regenerable']
            : ['untracked', 'untracked-dir', 'tracked', 'ignored', 'regenerable']
                .filter(() => rnd() < 0.6)
                .concat('untracked');
        // Start: after destroy's first `git log` (the old code's last look),
        // after its first status, or at a random time.
        const p = rnd();
        const start =
          p < 0.45
            ? `log:${Math.floor(rnd() * 25)}`
            : p < 0.75
              ? `status:${Math.floor(rnd() * 60)}`
              : `time:${Math.floor(rnd() * 400)}`;
        const ctx = `round ${round}: kinds ${kinds.join(',')}, start ${start} ${why}`;

        const writer = spawn(
          process.execPath,
          [writerFile, path, gitLog, String(Math.floor(rnd() * 2 ** 31)), kinds.join(','), start],
          { stdio: ['pipe', 'pipe', 'pipe'] },
        );
        writer.stdin.on('error', () => undefined);
        const reports = collectLines(writer);
        await reports.until((o) => o.ready);
        const destroy = runWithEnv(c, ['sandbox', 'destroy', name, '--yes', '--json'], {
          PATH: `${shim}:${process.env.PATH}`,
          KINFRA_TEST_GITLOG: gitLog,
        });
        writer.stdin.write('go\n');
        const r = await destroy;
        writer.stdin.write('stop\n');
        await reports.until((o) => o.end);
        writer.stdin.end();
        const writes = reports.all().filter((o) => o.i !== undefined) as Write[];
        const ok = writes.filter((w) => w.ok);

        const log = existsSync(gitLog) ? readFileSync(gitLog, 'utf8').split('\n').filter(Boolean) : [];
        const issues: string[] = [];
        const R = log.findIndex((l) => / worktree remove /.test(` ${l} `));
        if (R >= 0 && log[R]!.includes('--force'))
          issues.push(`git worktree remove ran with --force, which destroy was not given: ${log[R]}`);
        const before = R < 0 ? log : log.slice(0, R);
        let L = before
          .map((l, i) => (/status.*ignored|ls-files/.test(l) ? i : -1))
          .filter((i) => i >= 0)
          .pop();
        if (L === undefined)
          L =
            before
              .map((l, i) => (/\bstatus\b/.test(l) ? i : -1))
              .filter((i) => i >= 0)
              .pop() ?? -1;
        /** The write had completed before git command k started (its log line was not there yet). */
        const completedBefore = (w: Write, k: number) => (k < 0 ? false : w.seen <= k);
        const mustSurvive = (w: Write) => {
          if (w.kind === 'regenerable') return false;
          if (R < 0) return true;
          return w.kind === 'ignored' ? completedBefore(w, L!) : completedBefore(w, R);
        };
        const survives = (w: Write) =>
          w.kind === 'tracked'
            ? existsSync(join(path, 'README.md')) && readFileSync(join(path, 'README.md'), 'utf8').includes(w.content)
            : existsSync(join(path, w.rel)) && readFileSync(join(path, w.rel), 'utf8') === w.content;
        const late = ok.some((w) => R >= 0 && w.seen > R);
        const registered = c.registry().instances[c.id(name)] !== undefined;
        const err = jsonError(r.stderr);
        outcomes[`exit ${r.code}`] = (outcomes[`exit ${r.code}`] ?? 0) + 1;
        // Refusals of work written only after destroy's first check (its first
        // `git log`): the last-moment check at work.
        const firstLog = log.findIndex((l) => /^log /.test(l));
        if (r.code === 4 && firstLog >= 0 && ok.length > 0 && ok.every((w) => w.seen > firstLog))
          outcomes['refused at the last moment'] = (outcomes['refused at the last moment'] ?? 0) + 1;

        for (const w of ok.filter(mustSurvive)) {
          if (!survives(w))
            issues.push(
              `lost ${w.kind} write ${w.rel} (completed before git command ${w.kind === 'ignored' ? L : R} started; ` +
                `destroy exited ${r.code})`,
            );
        }
        if (r.code === 0) {
          if (existsSync(path)) issues.push(`destroy exited 0 but left ${path}`);
          if (registered) issues.push(`destroy exited 0 but ${c.id(name)} is still registered`);
        } else if (r.code === 4) {
          if (err?.code !== 'work-at-risk') issues.push(`exit 4 with ${err?.code ?? r.stderr}`);
          // (After a write that came while git was already removing the folder, git may have removed part of it.)
          if (!registered) issues.push(`destroy refused but ${c.id(name)} is no longer registered`);
          if (!late && !existsSync(join(path, '.git')))
            issues.push(`destroy refused but ${path} is no longer a worktree`);
        } else if (!late) {
          issues.push(`destroy exited ${r.code} (${err?.code ?? r.stderr})`);
        }
        if (ok.length === 0 || ok.every((w) => w.kind === 'regenerable')) {
          if (r.code !== 0 && !late)
            issues.push(`only regenerable writes (or none), but destroy exited ${r.code}: ${err?.message ?? r.stderr}`);
        }

        if (issues.length > 0)
          problems.push(
            `${issues.join('\n')}\n  git commands: ${log.map((l, i) => `\n    ${i}: ${l}`).join('')}\n${ctx}`,
          );

        if (registered || existsSync(path)) {
          const f = await c.ws.run(['sandbox', 'destroy', name, '--yes', '--force']);
          if (f.code !== 0 && existsSync(path)) {
            // A half-removed worktree the forced destroy could not finish: clear it so the next round starts clean.
            rmSync(path, { recursive: true, force: true });
            c.ws.git(['worktree', 'prune']);
            const reg = c.registry();
            delete reg.instances[c.id(name)];
            c.writeRegistry(reg);
          }
        }
      }
      console.log(
        `ownership race: ${ROUNDS} rounds, ${JSON.stringify(outcomes)}, ${problems.length} with problems ${why}`,
      );
      expect(
        problems,
        `${problems.length} problems in ${ROUNDS} rounds ` +
          `(${JSON.stringify(outcomes)}) ${why}:\n\n${problems.join('\n\n')}`,
      ).toEqual([]);
    },
    150_000,
  );
});

function runWithEnv(c: Ctx, args: string[], env: Record<string, string>): Promise<CliResult> {
  return c.ws.run(args, { env });
}

/** JSON lines of a child's stdout, with a way to wait for one. */
function collectLines(child: ChildProcessWithoutNullStreams) {
  const items: any[] = [];
  const waiters: { pred: (o: any) => boolean; resolve: () => void }[] = [];
  let buf = '';
  let closed = false;
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      items.push(JSON.parse(line));
      for (const w of [...waiters])
        if (items.some(w.pred)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
    }
  });
  child.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w.resolve();
  });
  return {
    all: () => items,
    until: (pred: (o: any) => boolean) =>
      new Promise<void>((resolve) => {
        if (closed || items.some(pred)) resolve();
        else waiters.push({ pred, resolve });
      }),
  };
}
