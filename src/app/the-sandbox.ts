// The sandbox a run-time command (up, gate, down, status, logs, shell) acts on, resolved once: its registry entry,
// checked against its folder's .env.sandbox, with its ports, its service URLs and its compose project worked out
// here so no command works them out again.
import { join } from 'node:path';
import { entryConfig } from './entry-config.js';
import type { ComposeProject } from '../adapters/compose.js';
import { readEnvFile } from '../adapters/env-store.js';
import { ownerId } from '../adapters/owner-id.js';
import { serviceOfPort } from '../core/compose-model.js';
import type { Config } from '../core/config/config.js';
import type { EnvMap } from '../core/env-file.js';
import { conflictError } from '../core/errors.js';
import type { Stamp } from '../core/ownership.js';
import type { SlotPort } from '../core/ports.js';
import type { InstanceEntry, Registry } from '../core/registry/model.js';
import { ENV_FILE_NAME } from '../core/sandbox-env.js';
import { findComposeFiles } from './compose-file.js';
import { remapTable } from '../core/derived-ports.js';
import type { AppContext } from './context.js';
import { envDisagreement, envDisagreesError } from './env-agreement.js';
import { existingLayer } from './layer.js';
import { entryByName, entryHolding } from './sandbox-entry.js';
import { loadStackIfReadable, movedStack, type SandboxStack, type Stack } from './stack.js';

/** A published port of the sandbox, with what the layout says of it. */
export interface SandboxPort extends SlotPort {
  label?: string | undefined;
  /** URL template (`http://localhost:{port}`). */
  url?: string | undefined;
  /** 1-based worker index for worker ports. */
  worker?: number | undefined;
}

export interface ServiceUrl {
  name: string;
  label: string;
  url: string;
}

export type SandboxUrl = ServiceUrl & { port: number };

/** A sandbox as the run-time commands see it: what the registry says, checked against its folder. */
export interface Sandbox {
  instanceId: string;
  /** Its folder (the registry's). */
  path: string;
  slot: number;
  entry: InstanceEntry;
  env: EnvMap;
  config: Config;
  /** Every port it publishes, from its .env.sandbox (checked against the registry), pool workers included. */
  ports: SandboxPort[];
  /** Every service URL the layout names (workers excepted); `inStack` says which the stack really publishes. */
  urls: SandboxUrl[];
  /** Its compose project, with the ownership layer `up` last wrote (if any). */
  project: ComposeProject;
  /** The labels its resources carry (the registry's owner id, the compose project, the folder compose runs in). */
  stamp: Stamp;
}

export interface ResolveOptions {
  /** The registered sandbox called this, instead of the one holding cwd. */
  name?: string | undefined;
  /** The registry snapshot the command already read (read here when not given). */
  registry?: Registry | undefined;
}

/**
 * The sandbox that holds cwd, or the registered sandbox called `name`. The registry is the source of truth: its
 * entry decides the folder, the compose project and the slot, and a .env.sandbox that says otherwise is refused.
 * Reads the registry with `snapshot` only: resolving a sandbox never writes.
 */
export async function resolveSandbox(ctx: AppContext, opts: ResolveOptions = {}): Promise<Sandbox> {
  const registry = opts.registry ?? (await ctx.registry.snapshot());
  const [instanceId, entry] =
    opts.name !== undefined ? entryByName(registry, opts.name) : entryHolding(registry, ctx.cwd);
  const dir = entry.path;
  // The derived ports it was given are the registry's, never derived again here: resolving never moves a sandbox.
  const config = await entryConfig(dir, entry);
  const env = await readEnvFile(dir);
  const why = envDisagreement(env, instanceId, entry, config);
  if (why || !env) throw envDisagreesError(instanceId, dir, why ?? 'it is missing');
  const projectName = entry.compose_project ?? instanceId;
  const compose = composeLocation(registry, instanceId, entry, projectName, config);
  const ports = sandboxPorts(config, env);
  const layer = await existingLayer(ctx.paths, projectName);
  return {
    instanceId,
    path: dir,
    slot: entry.slot,
    entry,
    env,
    config,
    ports,
    urls: serviceUrls(ports),
    stamp: { owner: await ownerId(ctx.paths.ownerId), sandbox: projectName, path: compose.dir },
    project: {
      name: projectName,
      file: compose.file,
      overrides: compose.overrides,
      dir: compose.dir,
      envFile: join(dir, ENV_FILE_NAME),
      env,
      layers: layer ? [layer.file] : [],
      rendered: layer?.rendered ?? false,
    },
  };
}

/** Where compose runs: the sandbox's own folder, or the pool slot's folder it holds. */
function composeLocation(
  registry: Registry,
  id: string,
  entry: InstanceEntry,
  project: string,
  config: Config,
): { dir: string; file: string; overrides?: string[] } {
  if (entry.pool_slot === undefined) return { dir: entry.path, ...findComposeFiles(entry.path, config) };
  // Never let a worktree drive a pool slot it no longer holds: it would take over another claim's stack.
  const s = registry.slots[String(entry.pool_slot)];
  if (!s || s.claimed_by !== id || (s.compose_project !== undefined && s.compose_project !== project)) {
    const why = s?.claimed_by ? `: ${s.claimed_by} has claimed it` : ' (it was released)';
    throw conflictError(
      'slot-not-held',
      `${entry.path} no longer holds pool slot ${entry.pool_slot}${why}.`,
      `Claim a slot again with: kinfra sandbox destroy ${id} --keep-worktree --yes && cd ${entry.path} && ` +
        'kinfra sandbox init --profile <profile>',
    );
  }
  return { dir: s.infrastructure_path, file: join(s.infrastructure_path, 'docker-compose.yml') };
}

/**
 * The published ports, from .env.sandbox, including worker ports beyond the layout's count that a pool profile
 * adds.
 */
function sandboxPorts(config: Config, env: EnvMap): SandboxPort[] {
  const known: SandboxPort[] = config.ports
    .filter((p) => env[p.env] !== undefined && /^\d+$/.test(env[p.env]!))
    .map((p) => ({ name: p.name, env: p.env, port: Number(env[p.env]), label: p.label, url: p.url, worker: p.worker }));
  const first = config.ports.find((p) => p.worker === 1);
  if (!first) return known;
  const prefix = first.env.replace(/1$/, '');
  for (let k = config.workerCount + 1; /^\d+$/.test(env[`${prefix}${k}`] ?? ''); k++) {
    const variable = `${prefix}${k}`;
    const port = Number(env[variable]);
    known.push({ name: `worker_${k}`, env: variable, port, label: `Worker ${k}`, url: first.url, worker: k });
  }
  return known;
}

/** Every port with a URL template, workers excepted (status lists those). */
function serviceUrls(ports: readonly SandboxPort[]): SandboxUrl[] {
  return ports
    .filter((p) => p.url && p.worker === undefined)
    .map((p) => ({
      name: p.name,
      label: p.label ?? p.name,
      url: p.url!.replace('{port}', String(p.port)),
      port: p.port,
    }));
}

/** The host ports the generated layer moves: the main checkout's -> this sandbox's. */
export function sandboxRemap(s: Sandbox): Map<number, number> {
  return remapTable(s.config.ports, s.env);
}

/** The sandbox's stack as it runs (fixed ports moved), or undefined when Compose cannot read it. */
export async function sandboxStack(s: Sandbox): Promise<SandboxStack | undefined> {
  const stack = await loadStackIfReadable(s.project);
  return stack && movedStack(stack, sandboxRemap(s));
}

/** Does the stack publish this port? Without a readable stack, every configured port counts as there. */
export const publishes = (stack: Stack | undefined, port: number) =>
  !stack || serviceOfPort(stack.model, port) !== undefined;

/**
 * The sandbox's service URLs split by the stack: those it publishes, and the labels of those it does not (Grafana
 * in a stack without it).
 */
export function inStack(s: Sandbox, stack: Stack | undefined): { urls: SandboxUrl[]; absent: string[] } {
  return {
    urls: s.urls.filter((u) => publishes(stack, u.port)),
    absent: s.urls.filter((u) => !publishes(stack, u.port)).map((u) => u.label),
  };
}
