import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(REPO_ROOT, 'dist/kinfra.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment for a child: a scratch HOME, git identity, no colour, nothing from the real home. */
export function cliEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.FORCE_COLOR;
  delete base.XDG_CONFIG_HOME;
  const env: NodeJS.ProcessEnv = { ...base, HOME: home, NO_COLOR: '1', ...extra };
  env.GIT_CONFIG_NOSYSTEM = '1';
  return env;
}

export interface RunOpts {
  env?: Record<string, string>;
  input?: string;
  /** SIGKILL the CLI after this long (a hang becomes a failed assertion, not a test timeout): code -1. */
  killAfterMs?: number;
}

/** Runs in-process are one at a time: each swaps process.env for its own. */
let inProcessQueue: Promise<unknown> = Promise.resolve();

/**
 * Run the CLI in this process (`runCli` from the source, no build, no child): what app-level tests use. The
 * environment is the child's would be (scratch HOME, no colour), swapped in for the run; runs are queued, so tests
 * of concurrency, signals, TTYs or start-up use the spawned binary (`kinfra`) instead.
 */
export function kinfraInProcess(args: string[], opts: RunOpts & { cwd: string; home: string }): Promise<CliResult> {
  const run = async (): Promise<CliResult> => {
    const { runCli } = await import('../../src/cli/main.js');
    const { Readable } = await import('node:stream');
    let stdout = '';
    let stderr = '';
    const saved = process.env;
    process.env = cliEnv(opts.home, opts.env);
    try {
      const stdin = Readable.from(opts.input === undefined ? [] : [opts.input]) as NodeJS.ReadableStream & {
        isTTY?: boolean;
      };
      const code = await runCli(
        args,
        {
          stdout: { write: (t: string) => (stdout += t) },
          stderr: { write: (t: string) => (stderr += t) },
          stdin,
          env: process.env,
        },
        opts.cwd,
      );
      return { code, stdout, stderr };
    } finally {
      process.env = saved;
    }
  };
  const next = inProcessQueue.then(run, run);
  inProcessQueue = next.catch(() => undefined);
  return next;
}

/** Run the built CLI and wait for it. */
export function kinfra(args: string[], opts: RunOpts & { cwd: string; home: string }): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: cliEnv(opts.home, opts.env) });
    let stdout = '';
    let stderr = '';
    const timer =
      opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

export function git(cwd: string, args: string[], home: string): string {
  const r = spawnSync('git', args, { cwd, env: cliEnv(home), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * The fixture's compose file: no services, but a KTRDR port variable, so a repository without kinfra.yaml runs the
 * built-in KTRDR layout (a project with neither gets a layout derived from its compose files).
 */
export const KTRDR_COMPOSE = 'services: {}\n# KTRDR layout: ${KTRDR_API_PORT:-8000}\n';

export interface Workspace {
  /** Scratch root holding everything below. */
  root: string;
  home: string;
  /** Folder that holds the main checkout and, beside it, the sandboxes. */
  dev: string;
  /** Main checkout of the project. */
  repo: string;
  run(args: string[], opts?: RunOpts & { cwd?: string }): Promise<CliResult>;
  git(args: string[], cwd?: string): string;
  cleanup(): void;
}

/**
 * A scratch HOME and a git repository with one commit (a compose file and
 * whatever `files` adds), as `<root>/dev/ktrdr2`. Remove it with cleanup().
 */
export function workspace(files: Record<string, string> = {}, how: { inProcess?: boolean } = {}): Workspace {
  const runner = how.inProcess ? kinfraInProcess : kinfra;
  const root = mkdtempSync(join(tmpdir(), 'kinfra-test-'));
  const home = join(root, 'home');
  const dev = join(root, 'dev');
  const repo = join(dev, 'ktrdr2');
  mkdirSync(home, { recursive: true });
  mkdirSync(repo, { recursive: true });
  writeFileSync(
    join(home, '.gitconfig'),
    '[user]\n\tname = kinfra test\n\temail = test@kinfra.local\n[init]\n\tdefaultBranch = main\n',
  );
  const all = { 'docker-compose.yml': KTRDR_COMPOSE, 'README.md': '# fixture\n', ...files };
  for (const [name, text] of Object.entries(all)) {
    mkdirSync(dirname(join(repo, name)), { recursive: true });
    writeFileSync(join(repo, name), text);
  }
  git(repo, ['init', '-q', '-b', 'main'], home);
  git(repo, ['add', '-A'], home);
  git(repo, ['commit', '-qm', 'initial'], home);
  return {
    root,
    home,
    dev,
    repo,
    run: (args, o = {}) => runner(args, { ...o, cwd: o.cwd ?? repo, home }),
    git: (args, cwd = repo) => git(cwd, args, home),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export function parseJson<T = any>(text: string): T {
  return JSON.parse(text) as T;
}

/** A workspace whose `run` calls the CLI in this process (kinfraInProcess): for app-level tests. */
export function appWorkspace(files: Record<string, string> = {}): Workspace {
  return workspace(files, { inProcess: true });
}
