import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { loadConfig } from '../adapters/config-loader.js';
import type { ComposeProject } from '../adapters/compose.js';
import { readEnvFile } from '../adapters/env-store.js';
import { ownerId } from '../adapters/owner-id.js';
import type { Config } from '../core/config/config.js';
import type { EnvMap } from '../core/env-file.js';
import { conflictError, notFoundError, usageError } from '../core/errors.js';
import type { Stamp } from '../core/ownership.js';
import type { InstanceEntry, Registry } from '../core/registry/model.js';
import { ENV_FILE_NAME, identityFromEnv } from '../core/sandbox-env.js';
import { slugify } from '../core/slug.js';
import type { AppContext } from './context.js';
import { existingLayer } from './layer.js';

/** A sandbox as the run-time commands (up, down, status, ...) see it: what the registry says, checked against its folder. */
export interface Sandbox {
  instanceId: string;
  slot: number;
  path: string;
  env: EnvMap;
  config: Config;
  entry: InstanceEntry;
  project: ComposeProject;
  /** The labels its resources carry (the registry's owner id, the compose project, the folder compose runs in). */
  stamp: Stamp;
}

/** The folder holding .env.sandbox: `dir` or its nearest parent that has one. */
export function findSandboxDir(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, ENV_FILE_NAME))) return d;
    if (dirname(d) === d) return undefined;
  }
}

export function findComposeFile(dir: string, config: Config): string {
  const file = config.composeFiles.map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) {
    throw usageError('no-compose-file', `No compose file in ${dir} (looked for ${config.composeFiles.join(', ')}).`,
      'Add one, or name yours under compose_files in kinfra.yaml.');
  }
  return file;
}

const within = (dir: string, path: string) => dir === path || dir.startsWith(path.endsWith(sep) ? path : path + sep);

/** The registered sandbox called `name` (its id, or `<prefix>--<name>`). */
export function entryByName(registry: Registry, name: string): [string, InstanceEntry] {
  const all = Object.entries(registry.instances);
  const exact = all.find(([id]) => id === name);
  if (exact) return exact;
  const slug = slugify(name);
  const bySlug = all.filter(([id]) => slug !== '' && id.endsWith(`--${slug}`));
  if (bySlug.length === 1) return bySlug[0]!;
  if (bySlug.length > 1) {
    throw notFoundError('ambiguous-name', `${name} matches several sandboxes: ${bySlug.map(([id]) => id).join(', ')}.`, 'Name one by its full id.');
  }
  throw notFoundError('unknown-instance', `No sandbox named ${name} is registered.`, 'See the registered sandboxes with: kinfra sandbox list');
}

/** The registered sandbox whose folder holds `cwd` (the innermost), or why there is none. */
export function entryHolding(registry: Registry, cwd: string): [string, InstanceEntry] {
  const hits = Object.entries(registry.instances).filter(([, e]) => within(cwd, e.path)).sort((a, b) => b[1].path.length - a[1].path.length);
  if (hits[0]) return hits[0];
  const dir = findSandboxDir(cwd);
  if (dir) {
    throw notFoundError('not-registered', `${dir} has a ${ENV_FILE_NAME} but is not a registered sandbox (it was destroyed, or the registry lost it).`,
      `kinfra never runs a folder it does not register on a slot. Register it again with: cd ${dir} && kinfra sandbox init ` +
        '(or see kinfra sandbox doctor).');
  }
  throw notInSandbox(cwd);
}

/** The one wording of "you are not in a sandbox", for every command that needs one. */
export function notInSandbox(cwd: string) {
  return notFoundError('not-in-sandbox', `${cwd} is not a registered sandbox and is not inside a sandbox.`,
    'cd into a sandbox (see kinfra sandbox list), or create one: kinfra sandbox create <name>');
}

/** Port name -> variable, for every port the entry holds (pool profiles may hold more workers than the layout). */
export function portVariables(config: Config, names: Iterable<string>): Map<string, string> {
  const vars = new Map(config.ports.map((p) => [p.name, p.env]));
  const first = config.ports.find((p) => p.worker === 1);
  for (const name of names) {
    const k = /^worker_(\d+)$/.exec(name)?.[1];
    if (!vars.has(name) && k && first) vars.set(name, `${first.env.replace(/1$/, '')}${k}`);
  }
  return vars;
}

/** Why the folder's .env.sandbox disagrees with the registry, or undefined when it agrees. */
export function envDisagreement(env: EnvMap | undefined, id: string, e: InstanceEntry, config: Config): string | undefined {
  if (!env) return 'it is missing';
  const project = e.compose_project ?? id;
  if (env.INSTANCE_ID !== id) return `it names the instance ${JSON.stringify(env.INSTANCE_ID ?? '')}, the registry ${id}`;
  if (env.COMPOSE_PROJECT_NAME !== project) return `it names the compose project ${JSON.stringify(env.COMPOSE_PROJECT_NAME ?? '')}, the registry ${project}`;
  const slot = env.SLOT_NUMBER ?? env.SLOT_ID;
  if (slot !== String(e.slot)) return `it names slot ${JSON.stringify(slot ?? '')}, the registry slot ${e.slot}`;
  const vars = portVariables(config, Object.keys(e.ports ?? {}));
  for (const [name, port] of Object.entries(e.ports ?? {})) {
    const v = vars.get(name);
    if (v !== undefined && env[v] !== String(port)) return `${v} is ${JSON.stringify(env[v] ?? '')}, the registry's ${name} port ${port}`;
  }
  // Values the registry does not list (an entry without ports, a hand-added worker) are still range-checked before anything binds them.
  const identity = identityFromEnv(env, config);
  return typeof identity === 'string' ? identity : undefined;
}

export function envDisagreesError(id: string, path: string, why: string) {
  return conflictError('env-file-disagrees', `The ${ENV_FILE_NAME} of ${id} (${join(path, ENV_FILE_NAME)}) disagrees with the registry: ${why}.`,
    'The registry decides which project, folder and slot a sandbox has; kinfra does not follow an edited or copied file. ' +
      'Write it again from the registry with: kinfra sandbox doctor --repair', { instanceId: id, path, why });
}

/**
 * The sandbox that holds cwd, or the registered sandbox called `name`. The
 * registry is the source of truth: its entry decides the folder, the compose
 * project and the slot, and a .env.sandbox that says otherwise is refused.
 */
export async function resolveSandbox(ctx: AppContext, name?: string): Promise<Sandbox> {
  const registry = await ctx.registry.read();
  const [instanceId, entry] = name !== undefined ? entryByName(registry, name) : entryHolding(registry, ctx.cwd);
  const dir = entry.path;
  const config = await loadConfig(dir);
  const env = await readEnvFile(dir);
  const why = envDisagreement(env, instanceId, entry, config);
  if (why) throw envDisagreesError(instanceId, dir, why);
  const projectName = entry.compose_project ?? instanceId;
  let file: string;
  let composeDir = dir;
  if (entry.pool_slot !== undefined) {
    // Never let a worktree drive a pool slot it no longer holds: it would take over another claim's stack.
    const s = registry.slots[String(entry.pool_slot)];
    if (!s || s.claimed_by !== instanceId || (s.compose_project !== undefined && s.compose_project !== projectName)) {
      throw conflictError('slot-not-held', `${dir} no longer holds pool slot ${entry.pool_slot}${s?.claimed_by ? `: ${s.claimed_by} has claimed it` : ' (it was released)'}.`,
        `Claim a slot again with: kinfra sandbox destroy ${instanceId} --keep-worktree --yes && cd ${dir} && kinfra sandbox init --profile <profile>`);
    }
    composeDir = s.infrastructure_path;
    file = join(composeDir, 'docker-compose.yml');
  } else {
    file = findComposeFile(dir, config);
  }
  const paths = ctx.paths;
  return {
    instanceId,
    slot: entry.slot,
    path: dir,
    env: env!,
    config,
    entry,
    stamp: { owner: await ownerId(paths.ownerId), sandbox: projectName, path: composeDir },
    project: { name: projectName, file, dir: composeDir, envFile: join(dir, ENV_FILE_NAME), env: env!, layers: await layerList(paths, projectName) },
  };
}

async function layerList(paths: AppContext['paths'], project: string): Promise<string[]> {
  const layer = await existingLayer(paths, project);
  return layer ? [layer] : [];
}

/**
 * The sandbox's published ports, from its .env.sandbox (checked against the
 * registry above), including worker ports beyond the layout's count that a
 * pool profile adds.
 */
export function sandboxPorts(s: Sandbox): { name: string; env: string; port: number; label?: string | undefined; url?: string | undefined; worker?: number | undefined }[] {
  const known = s.config.ports
    .filter((p) => s.env[p.env] !== undefined && /^\d+$/.test(s.env[p.env]!))
    .map((p) => ({ name: p.name, env: p.env, port: Number(s.env[p.env]), label: p.label, url: p.url, worker: p.worker }));
  const first = s.config.ports.find((p) => p.worker === 1);
  if (!first) return known;
  const prefix = first.env.replace(/1$/, '');
  for (let k = s.config.workerCount + 1; /^\d+$/.test(s.env[`${prefix}${k}`] ?? ''); k++) {
    known.push({ name: `worker_${k}`, env: `${prefix}${k}`, port: Number(s.env[`${prefix}${k}`]), label: `Worker ${k}`, url: first.url, worker: k });
  }
  return known;
}
