import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from '../adapters/config-loader.js';
import type { ComposeProject } from '../adapters/compose.js';
import { readEnvFile } from '../adapters/env-store.js';
import type { Config } from '../core/config/config.js';
import type { EnvMap } from '../core/env-file.js';
import { conflictError, notFoundError, usageError } from '../core/errors.js';
import type { InstanceEntry } from '../core/registry/model.js';
import { ENV_FILE_NAME, identityFromEnv } from '../core/sandbox-env.js';
import type { AppContext } from './context.js';

/** A sandbox as the run-time commands (up, down, status, ...) see it. */
export interface Sandbox {
  instanceId: string;
  slot: number;
  path: string;
  env: EnvMap;
  config: Config;
  /** Undefined when the folder has a .env.sandbox the registry does not know. */
  entry: InstanceEntry | undefined;
  project: ComposeProject;
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

/**
 * The sandbox that holds cwd (its .env.sandbox, seed 001 decision 4: the file,
 * never environment variables), or the registered sandbox called `name`.
 */
export async function resolveSandbox(ctx: AppContext, name?: string): Promise<Sandbox> {
  const registry = await ctx.registry.read();
  let dir: string | undefined;
  if (name !== undefined) {
    const hit = Object.entries(registry.instances).find(([id]) => id === name || id.endsWith(`--${name}`));
    if (!hit) throw notFoundError('unknown-instance', `No sandbox named ${name} is registered.`, 'See them with: kinfra sandbox list');
    dir = hit[1].path;
  } else {
    dir = findSandboxDir(ctx.cwd);
  }
  if (!dir) {
    throw notFoundError('not-in-sandbox', `${ctx.cwd} is not inside a sandbox (no ${ENV_FILE_NAME} here or above).`,
      'cd into a sandbox (see kinfra sandbox list), or create one: kinfra sandbox create <name>');
  }
  const env = await readEnvFile(dir);
  const id = env ? identityFromEnv(env) : `${ENV_FILE_NAME} is missing`;
  if (!env || typeof id === 'string') {
    throw usageError('invalid-env-file', `${join(dir, ENV_FILE_NAME)} cannot be used: ${typeof id === 'string' ? id : 'unreadable'}.`,
      `Write it again with: cd ${dir} && kinfra sandbox init`);
  }
  const config = await loadConfig(dir);
  const entry = registry.instances[id.instanceId];
  const poolSlot = env.KINFRA_POOL_SLOT;
  if (poolSlot !== undefined) {
    // Never let a worktree drive a pool slot it no longer holds: it would take over another claim's stack.
    const claim = registry.slots[poolSlot]?.claimed_by;
    if (claim !== id.instanceId) {
      throw conflictError('slot-not-held', `${dir} no longer holds pool slot ${poolSlot}${claim ? `: ${claim} has claimed it` : ' (it was released)'}.`,
        `Claim a slot again with: cd ${dir} && rm ${ENV_FILE_NAME} && kinfra sandbox init --profile <profile>`);
    }
  }
  return {
    instanceId: id.instanceId,
    slot: id.slot,
    path: dir,
    env,
    config,
    entry: entry && entry.path === dir ? entry : undefined,
    // A worktree on a pool slot runs the slot's compose file (seed 004), with its own .env.sandbox.
    project: {
      name: env.COMPOSE_PROJECT_NAME ?? id.instanceId,
      file: env.KINFRA_COMPOSE_FILE ?? findComposeFile(dir, config),
      dir: env.KINFRA_COMPOSE_FILE ? dirname(env.KINFRA_COMPOSE_FILE) : dir,
      envFile: join(dir, ENV_FILE_NAME),
      env,
    },
  };
}

/**
 * The sandbox's published ports, from its .env.sandbox (the file is the truth
 * at run time), including worker ports beyond the layout's count that a pool
 * profile adds.
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
