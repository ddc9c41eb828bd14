// Docker Compose, v2 (`docker compose`) preferred, v1 (`docker-compose`) as a fallback; KINFRA_COMPOSE=v1|v2 forces
// one. Every call names the project, the files and the project directory, and sets the sandbox's values in the
// environment, so nothing depends on the caller's folder or shell.

import { KinfraError } from '../core/errors.js';
import { engineError } from './engine.js';
import type { EnvMap } from '../core/env-file.js';
import { currentCommand, notResponding, toolMs } from './engine-deadline.js';
import { run, runLines, runStreaming, type RunResult } from './runner.js';

export interface ComposeTool {
  kind: 'v2' | 'v1';
  version: string;
  file: string;
  /** Arguments before the compose ones: ['compose'] for v2, [] for v1. */
  prefix: string[];
}

export interface ComposeProject {
  name: string;
  /** The project's first compose file: its folder is where Compose reads `.env`. */
  file: string;
  /** The project's further files, in order: Compose's override pairing, or the rest of its COMPOSE_FILE. */
  overrides?: readonly string[] | undefined;
  /** `layers` hold the whole configuration rendered (Compose without merge tags): Compose runs them alone. */
  rendered?: boolean | undefined;
  /**
   * Files kinfra generates, given after `file` (its ownership labels); kept in
   * kinfra's state, never in the user's tree.
   */
  layers?: readonly string[] | undefined;
  dir: string;
  envFile: string;
  /** The sandbox's variables. Set in the child's environment too: a variable in
   *  kinfra's own environment would otherwise override the env file. */
  env: EnvMap;
}

let detected: Promise<ComposeTool> | undefined;
/** The KINFRA_COMPOSE the cached detection answered (a process may run several commands). */
let detectedFor: string | undefined;

/** The version a tool prints, undefined when it fails, null when it is not installed at all. */
async function tryVersion(file: string, args: string[]): Promise<string | undefined | null> {
  const startedIn = currentCommand();
  let r: RunResult;
  try {
    r = await run(file, args, { timeoutMs: toolMs() });
  } catch {
    return null;
  }
  // A hung tool is not a missing one: say so rather than try the other and report neither installed.
  if (r.timedOut) throw notResponding(`\`${[file, ...args].join(' ')}\``, toolMs(), startedIn);
  return r.exitCode === 0 ? r.stdout.trim().replace(/^v/, '') : undefined;
}

export function detectCompose(): Promise<ComposeTool> {
  if (detectedFor !== process.env.KINFRA_COMPOSE) detected = undefined;
  detectedFor = process.env.KINFRA_COMPOSE;
  detected ??= (async () => {
    const forced = process.env.KINFRA_COMPOSE;
    let v2: string | undefined | null;
    if (forced !== 'v1') {
      v2 = await tryVersion('docker', ['compose', 'version', '--short']);
      if (v2) return { kind: 'v2', version: v2, file: 'docker', prefix: ['compose'] } as const;
    }
    if (forced !== 'v2') {
      const v1 = await tryVersion('docker-compose', ['version', '--short']);
      if (v1) return { kind: 'v1', version: v1, file: 'docker-compose', prefix: [] } as const;
    }
    if (v2 === null) throw engineError(undefined, 'run compose');
    throw new KinfraError(
      'engine',
      'compose-missing',
      forced
        ? `Docker Compose ${forced} (KINFRA_COMPOSE=${forced}) is not installed.`
        : 'Docker Compose is not installed: neither `docker compose` (v2) nor `docker-compose` (v1) works.',
      'Install the Compose plugin (https://docs.docker.com/compose/install/) and run the command again.',
    );
  })();
  // A failed detection is asked again by the next command (in one process, `runCli` runs several).
  detected.catch(() => {
    detected = undefined;
  });
  return detected;
}

/**
 * Whether to give Compose a layer with merge tags: the first Compose with `!override` and `!reset` is 2.24.4. The
 * setting (kinfra.yaml `compose.merge`) or KINFRA_COMPOSE_MERGE=rendered|tags, which wins, decides instead.
 */
export function mergeTagsSupported(tool: ComposeTool, setting: 'auto' | 'tags' | 'rendered' = 'auto'): boolean {
  const forced = process.env.KINFRA_COMPOSE_MERGE || setting;
  if (forced === 'rendered') return false;
  if (forced === 'tags') return true;
  if (tool.kind !== 'v2') return false;
  const [major = 0, minor = 0, patch = 0] = tool.version.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  return major > 2 || (major === 2 && (minor > 24 || (minor === 24 && patch >= 4)));
}

/** The files Compose reads for the project: its own then kinfra's layer, or the rendered file alone. */
export function projectFiles(p: ComposeProject): string[] {
  const layers = p.layers ?? [];
  return p.rendered && layers.length > 0 ? [...layers] : [p.file, ...(p.overrides ?? []), ...layers];
}

function args(tool: ComposeTool, p: ComposeProject, sub: readonly string[]): string[] {
  const files = projectFiles(p).flatMap((f) => ['-f', f]);
  return [...tool.prefix, '--ansi', 'never', '-p', p.name, ...files, '--project-directory', p.dir, ...sub];
}

/**
 * The sandbox's values (its .env.sandbox) as the process environment, which Compose ranks above the project's own
 * `.env`: the project keeps its `.env` (an `--env-file` would make Compose skip it, and v1 takes only one), and every
 * value the sandbox sets wins over it.
 */
function childEnv(p: ComposeProject): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...p.env, COMPOSE_PROJECT_NAME: p.name };
  delete env.COMPOSE_FILE;
  delete env.COMPOSE_PROFILES;
  return env;
}

/**
 * Run compose with its output shown to the user (on stderr unless `terminal`). No deadline: up, build and down
 * may take minutes and still be working, and the user sees that they are.
 */
export async function composeStream(
  p: ComposeProject,
  sub: readonly string[],
  output: 'terminal' | 'stderr' = 'stderr',
): Promise<number> {
  const tool = await detectCompose();
  return runStreaming(tool.file, args(tool, p, sub), { cwd: p.dir, env: childEnv(p), output });
}

/** Follow compose's output line by line (`logs --follow`) until it ends or `signal` aborts. */
export async function composeLines(
  p: ComposeProject,
  sub: readonly string[],
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const tool = await detectCompose();
  return runLines(tool.file, args(tool, p, sub), { cwd: p.dir, env: childEnv(p), onLine, signal });
}

/**
 * Run compose and capture its output: only for what compose answers from the files (config), hence the client's
 * deadline; a missed one throws docker-not-responding.
 */
export async function composeCapture(p: ComposeProject, sub: readonly string[]): Promise<RunResult> {
  const tool = await detectCompose();
  const startedIn = currentCommand();
  const r = await run(tool.file, args(tool, p, sub), { cwd: p.dir, env: childEnv(p), timeoutMs: toolMs() });
  if (r.timedOut) throw notResponding(`\`${tool.file} ${[...tool.prefix, ...sub].join(' ')}\``, toolMs(), startedIn);
  return r;
}

/**
 * The effective configuration of the user's file alone, with every profile (v2: `--profile '*'`; v1's `config`
 * lists every service anyway): what the generated layer must cover.
 */
export async function composeConfigText(p: ComposeProject, how: { interpolate?: boolean } = {}): Promise<string> {
  const tool = await detectCompose();
  const all = tool.kind === 'v2' ? ['--profile', '*'] : [];
  const raw = how.interpolate === false ? ['--no-interpolate'] : [];
  const r = await composeCapture({ ...p, layers: [], rendered: false }, [...all, 'config', ...raw]);
  if (r.exitCode !== 0) throw composeInvalid(p, r);
  return r.stdout;
}

/** The project's configuration before interpolation, or undefined where Compose cannot print one (v1 often). */
export async function composeRawConfigText(p: ComposeProject): Promise<string | undefined> {
  if ((await detectCompose()).kind !== 'v2') return undefined;
  return composeConfigText(p, { interpolate: false }).catch(() => undefined);
}

function composeInvalid(p: ComposeProject, r: RunResult): KinfraError {
  const files = [p.file, ...(p.overrides ?? [])];
  const why = r.stderr.trim().split('\n').pop() ?? '';
  return new KinfraError(
    'usage',
    'compose-invalid',
    `Compose cannot read ${files.join(' + ')}: ${why}`,
    `Check the file with: docker compose ${files.map((f) => `-f ${f}`).join(' ')} config`,
    { files, why },
  );
}

/** Service names of the effective compose file (profiles and interpolation applied). */
export async function composeServices(p: ComposeProject): Promise<string[]> {
  const r = await composeCapture(p, ['config', '--services']);
  if (r.exitCode !== 0) throw composeInvalid(p, r);
  return r.stdout
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}
