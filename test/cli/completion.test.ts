import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionBindings } from '../../src/cli/completion-command.js';
import { buildProgram } from '../../src/cli/program.js';
import { CLI, cliEnv, parseJson, workspace, type Workspace } from '../helpers/cli.js';

// zsh and fish are installed by .ci/run (apt), Compose by ensure-engine: the
// checks below need them and fail without them.

const COMPOSE = 'services:\n  api:\n    image: busybox\n  db:\n    image: busybox\n';

let ws: Workspace;
let instanceId: string;
let sandboxDir: string;
const scripts: Record<string, string> = {};
const files: Record<string, string> = {};

beforeAll(async () => {
  ws = workspace({ 'docker-compose.yml': COMPOSE });
  const created = await ws.run(['sandbox', 'create', 'my-feature', '--json']);
  expect(created.code, created.stderr).toBe(0);
  ({ instanceId, path: sandboxDir } = parseJson(created.stdout).data);
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await ws.run(['completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    scripts[shell] = r.stdout;
    files[shell] = join(ws.root, `kinfra.${shell}`);
    writeFileSync(files[shell]!, r.stdout);
  }
});
afterAll(() => ws?.cleanup());

/**
 * Complete `words` (the last one is the word under the cursor) the way bash
 * does: source the script, set COMP_WORDS/COMP_CWORD, call the function that
 * `complete -p kinfra` names, and return COMPREPLY. `kinfra` runs the built CLI.
 */
function bashComplete(
  w: Workspace,
  words: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): string[] {
  const driver = [
    'kinfra() { "$KINFRA_NODE" "$KINFRA_CLI" "$@"; }',
    'source "$KINFRA_SCRIPT" || exit 97',
    'spec=$(complete -p kinfra) || exit 98',
    'fn=${spec##*-F }; fn=${fn%% *}',
    'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}',
    '"$fn" kinfra "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" || exit 99',
    'for w in "${COMPREPLY[@]}"; do printf "%s\\n" "$w"; done',
  ].join('\n');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', driver, 'bash', ...words], {
    cwd: opts.cwd ?? w.repo,
    env: cliEnv(w.home, { KINFRA_NODE: process.execPath, KINFRA_CLI: CLI, KINFRA_SCRIPT: files.bash!, ...opts.env }),
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

/** Every visible command name of the program, with its path, as a user sees them in --help. */
function visibleCommands(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd
    .createHelp()
    .visibleCommands(cmd)
    .flatMap((c) => [{ path: [...path, c.name()], cmd: c }, ...visibleCommands(c, [...path, c.name()])]);
}

/**
 * A `docker` that records being called and fails, alone on PATH (no docker-compose either; node runs by its full path).
 */
function fakeDocker(w: Workspace): { env: Record<string, string>; log: string } {
  const bin = join(w.root, 'fakebin');
  const log = join(w.root, 'docker-calls.log');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh\necho "$@" >> '${log}'\necho 'docker: broken on purpose' >&2\nexit 1\n`,
  );
  chmodSync(join(bin, 'docker'), 0o755);
  return { env: { PATH: bin }, log };
}

describe('kinfra completion <shell>', () => {
  it('prints a bash script that bash -n accepts', () => {
    const r = spawnSync('bash', ['-n', files.bash!], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(scripts.bash).toMatch(/^complete -F _kinfra kinfra$/m);
  });

  it('prints a zsh script that zsh -n accepts', () => {
    const r = spawnSync('zsh', ['-n', files.zsh!], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('prints a fish script that fish -n accepts', () => {
    const r = spawnSync('fish', ['-n', files.fish!], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('zsh script: #compdef, described commands and options, dynamic values, compdef when sourced', () => {
    const z = scripts.zsh!;
    expect(z.split('\n')[0]).toBe('#compdef kinfra');
    expect(z).toContain("'create:create a sandbox: a git worktree with its own port slot'");
    expect(z).toContain("'--keep-worktree:only unregister; keep the folder and its files'");
    expect(z).toContain("('sandbox destroy/arg:0') _kinfra_dynamic instances ;;");
    expect(z).toContain("('sandbox logs/arg:0') _kinfra_dynamic services ;;");
    expect(z).toContain("('sandbox release/arg:0') _kinfra_dynamic slots ;;");
    expect(z).toContain("('sandbox/list'|'sandbox/ls') REPLY='sandbox list' ;;");
    expect(z).toContain('vals=(${(f)"$(kinfra __complete $1 2>/dev/null)"})');
    expect(z).toMatch(/^ {2}compdef _kinfra kinfra$/m);
    expect(z).toMatch(/^ {2}_kinfra "\$@"$/m);
    // Balanced blocks: every case has its esac, every function its closing brace.
    expect(z.match(/\bcase\b.*\bin$/gm)?.length).toBe(z.match(/^\s*esac$/gm)?.length);
    expect(z.match(/\(\) \{$/gm)?.length).toBe(z.match(/^\}$/gm)?.length);
  });

  it('fish script: candidates with descriptions, dynamic values, one complete -a hook', () => {
    const f = scripts.fish!;
    expect(f).toContain("'create' 'create a sandbox: a git worktree with its own port slot'");
    expect(f).toContain("case 'sandbox/list' 'sandbox/ls'");
    expect(f).toMatch(/case 'sandbox destroy\/arg:0'\n\s+kinfra __complete instances 2>\/dev\/null/);
    expect(f).toMatch(/case 'sandbox shell\/arg:0'\n\s+kinfra __complete services 2>\/dev\/null/);
    expect(f).toMatch(/case 'sandbox create\/opt:--slot'\n\s+kinfra __complete slots 2>\/dev\/null/);
    expect(f).toContain("complete -c kinfra -f -a '(__kinfra_complete)'");
    // Quotes inside descriptions are escaped the fish way.
    expect(f).toContain("'run a command with this sandbox\\'s variables'");
    // Balanced blocks: function/switch/if/for/begin each closed by an end.
    const opens = f.match(/^\s*(function|switch|if|for|begin)\b/gm)?.length ?? 0;
    expect(opens).toBeGreaterThan(10);
    expect(f.match(/^\s*end$/gm)?.length).toBe(opens);
  });

  it('every script names every visible command and option of the program, and no hidden one', () => {
    const all = visibleCommands(buildProgram());
    expect(all.length).toBeGreaterThan(15);
    for (const [shell, text] of Object.entries(scripts)) {
      for (const { path, cmd } of all) {
        expect(text, `${shell}: ${path.join(' ')}`).toContain(
          `${path.slice(0, -1).join(' ')}/${path[path.length - 1]}'`,
        );
        for (const o of cmd.options.filter((x) => !x.hidden))
          expect(text, `${shell}: ${o.flags}`).toContain(`${o.long}`);
      }
      expect(text, shell).not.toMatch(/'\/__complete'/);
    }
  });

  it('every completion binding names a real command', () => {
    const paths = new Set(visibleCommands(buildProgram()).map((c) => c.path.join(' ')));
    for (const key of Object.keys(completionBindings().args ?? {})) expect(paths, key).toContain(key);
  });

  it('an unknown shell is a usage error: exit 1, nothing on stdout, the shells named', async () => {
    const r = await ws.run(['completion', 'tcsh']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("'tcsh'");
    expect(r.stderr).toContain('bash, zsh, fish');
    const none = await ws.run(['completion']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("Error: Missing required argument 'shell'.");
  });

  it('is listed in kinfra --help with examples; __complete is not', async () => {
    const top = await ws.run(['--help']);
    expect(top.stdout).toMatch(/^\s+completion <shell>/m);
    expect(top.stdout).not.toContain('__complete');
    const r = await ws.run(['completion', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('kinfra completion bash');
  });
});

describe('kinfra __complete <kind>', () => {
  it('instances lists the sandboxes created with kinfra sandbox create', async () => {
    expect(await ws.run(['__complete', 'instances'])).toMatchObject({ code: 0, stdout: `${instanceId}\n`, stderr: '' });
    const two = workspace();
    try {
      const ids: string[] = [];
      for (const name of ['zeta', 'alpha']) {
        const c = await two.run(['sandbox', 'create', name, '--json']);
        expect(c.code, c.stderr).toBe(0);
        ids.push(parseJson(c.stdout).data.instanceId);
      }
      const r = await two.run(['__complete', 'instances']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout.split('\n').filter(Boolean)).toEqual(ids.sort());
    } finally {
      two.cleanup();
    }
  });

  it('slots lists the provisioned pool slots, in order', async () => {
    const pool = workspace();
    try {
      expect(await pool.run(['__complete', 'slots'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
      const p = await pool.run(['sandbox', 'provision']);
      expect(p.code, p.stderr).toBe(0);
      const r = await pool.run(['__complete', 'slots']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const registry = JSON.parse(readFileSync(join(pool.home, '.ktrdr/sandboxes/registry.json'), 'utf8'));
      expect(r.stdout.split('\n').filter(Boolean)).toEqual(
        Object.keys(registry.slots).sort((a, b) => Number(a) - Number(b)),
      );
      expect(r.stdout).toBe('1\n2\n3\n4\n5\n6\n');
      // And bash offers them for release <slot> and --slot.
      expect(bashComplete(pool, ['kinfra', 'sandbox', 'release', ''])).toEqual(['1', '2', '3', '4', '5', '6']);
      expect(bashComplete(pool, ['kinfra', 'sandbox', 'create', 'x', '--slot', '5'])).toEqual(['5']);
      expect(bashComplete(pool, ['kinfra', 'sandbox', 'init', '-s', ''])).toHaveLength(6);
    } finally {
      pool.cleanup();
    }
  });

  it('instances and slots touch neither Docker nor zod', async () => {
    const { env, log } = fakeDocker(ws);
    const loads = join(ws.root, 'loads.log');
    writeFileSync(
      join(ws.root, 'hooks.mjs'),
      "import { appendFileSync } from 'node:fs';\n" +
        'export async function load(url, context, next) { appendFileSync(process.env.KINFRA_LOAD_LOG, url + "\\n"); ' +
        'return next(url, context); }\n',
    );
    writeFileSync(
      join(ws.root, 'register.mjs'),
      "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n",
    );
    const loaded = (args: string[], cwd: string): string[] => {
      writeFileSync(loads, '');
      const r = spawnSync(process.execPath, ['--import', join(ws.root, 'register.mjs'), CLI, ...args], {
        cwd,
        env: cliEnv(ws.home, { ...env, KINFRA_LOAD_LOG: loads }),
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      return readFileSync(loads, 'utf8')
        .split('\n')
        .filter((u) => u.startsWith('file:') && u.includes('/dist/'));
    };
    const hasZod = (urls: string[]) => urls.some((u) => readFileSync(new URL(u), 'utf8').includes('ZodError'));
    for (const kind of ['instances', 'slots']) {
      const urls = loaded(['__complete', kind], ws.repo);
      expect(urls.some((u) => u.endsWith('/dist/kinfra.js'))).toBe(true);
      expect(hasZod(urls), kind).toBe(false);
    }
    expect(existsSync(log)).toBe(false);
    // The detector works: services reads kinfra.yaml (zod) and asks Docker (which fails here, quietly).
    expect(hasZod(loaded(['__complete', 'services'], sandboxDir))).toBe(true);
    expect(readFileSync(log, 'utf8')).toContain('compose');
  });

  it('services lists the compose services of the sandbox holding cwd', async () => {
    const r = await ws.run(['__complete', 'services'], { cwd: join(sandboxDir) });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    // Without Docker Compose on this machine the right answer is nothing; with it, the services.
    expect(r.stdout).toBe('api\ndb\n');
  });

  it('prints nothing and exits 0 on any failure', async () => {
    const quiet = { code: 0, stdout: '', stderr: '' };
    // Outside any sandbox, an unknown kind, no kind at all, extra words and options.
    expect(await ws.run(['__complete', 'services'])).toMatchObject(quiet);
    expect(await ws.run(['__complete', 'nonsense'])).toMatchObject(quiet);
    expect(await ws.run(['__complete'])).toMatchObject(quiet);
    expect(await ws.run(['__complete', 'nonsense', 'a', '--what', '-x'])).toMatchObject(quiet);
    // Docker broken or missing.
    const { env } = fakeDocker(ws);
    expect(await ws.run(['__complete', 'services'], { cwd: sandboxDir, env })).toMatchObject(quiet);
    const nothing = join(ws.root, 'empty-bin');
    mkdirSync(nothing, { recursive: true });
    expect(await ws.run(['__complete', 'services'], { cwd: sandboxDir, env: { PATH: nothing } })).toMatchObject(quiet);
    // No registry at all, and a corrupt one: nothing, and the file is left where it is (completion writes nothing).
    const empty = workspace();
    try {
      expect(await empty.run(['__complete', 'instances'])).toMatchObject(quiet);
      expect(existsSync(join(empty.home, '.ktrdr'))).toBe(false);
      const file = join(empty.home, '.ktrdr/sandboxes/registry.json');
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, '{ not json');
      for (const kind of ['instances', 'slots', 'services'])
        expect(await empty.run(['__complete', kind])).toMatchObject(quiet);
      expect(readFileSync(file, 'utf8')).toBe('{ not json');
    } finally {
      empty.cleanup();
    }
  });
});

describe('bash completion, exercised', () => {
  it('completes subcommands from the program', () => {
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'cr'])).toEqual(['create']);
    const top = bashComplete(ws, ['kinfra', '']);
    expect(top).toEqual(expect.arrayContaining(['sandbox', 'api', 'completion', 'help']));
    expect(top).not.toContain('__complete');
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'l'])).toEqual(['list', 'ls', 'logs', 'layout']);
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'help', 'de'])).toEqual(['destroy']);
    expect(bashComplete(ws, ['kinfra', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  it('completes the sandbox names for destroy, and nothing after the one argument', () => {
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'destroy', ''])).toEqual([instanceId]);
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'destroy', '--yes', instanceId.slice(0, 4)])).toEqual([instanceId]);
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'destroy', instanceId, ''])).toEqual([]);
  });

  it('completes options, including the global ones, and skips option values while walking', () => {
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'destroy', '--k'])).toEqual(['--keep-worktree']);
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'ls', '--'])).toEqual(
      expect.arrayContaining(['--json', '--help', '--verbose', '--url', '--port']),
    );
    // -p takes a value: 8001 is not a subcommand or an argument, so `de` still completes under sandbox.
    expect(bashComplete(ws, ['kinfra', '-p', '8001', 'sandbox', 'de'])).toEqual(['destroy']);
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'destroy', '-u', 'http://x', ''])).toEqual([instanceId]);
  });

  it('completes services for logs and shell inside a sandbox', () => {
    const expected = ['api', 'db'];
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'logs', ''], { cwd: sandboxDir })).toEqual(expected);
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'shell', 'd'], { cwd: sandboxDir })).toEqual(
      expected.filter((s) => s.startsWith('d')),
    );
    expect(bashComplete(ws, ['kinfra', 'sandbox', 'logs', ''])).toEqual([]);
  });
});
