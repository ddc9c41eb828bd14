// Whether a sandbox folder's .env.sandbox says what the registry says (instance id, compose project, slot, every
// port). The registry decides; a file that disagrees is refused, never followed.
import { join } from 'node:path';
import type { Config } from '../core/config/config.js';
import type { EnvMap } from '../core/env-file.js';
import { conflictError } from '../core/errors.js';
import type { InstanceEntry } from '../core/registry/model.js';
import { ENV_FILE_NAME, identityFromEnv } from '../core/sandbox-env.js';

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
export function envDisagreement(
  env: EnvMap | undefined,
  id: string,
  e: InstanceEntry,
  config: Config,
): string | undefined {
  if (!env) return 'it is missing';
  const project = e.compose_project ?? id;
  if (env.INSTANCE_ID !== id) {
    return `it names the instance ${JSON.stringify(env.INSTANCE_ID ?? '')}, the registry ${id}`;
  }
  if (env.COMPOSE_PROJECT_NAME !== project) {
    return `it names the compose project ${JSON.stringify(env.COMPOSE_PROJECT_NAME ?? '')}, the registry ${project}`;
  }
  const slot = env.SLOT_NUMBER ?? env.SLOT_ID;
  if (slot !== String(e.slot)) return `it names slot ${JSON.stringify(slot ?? '')}, the registry slot ${e.slot}`;
  const vars = portVariables(config, Object.keys(e.ports ?? {}));
  for (const [name, port] of Object.entries(e.ports ?? {})) {
    const v = vars.get(name);
    if (v !== undefined && env[v] !== String(port)) {
      return `${v} is ${JSON.stringify(env[v] ?? '')}, the registry's ${name} port ${port}`;
    }
  }
  // Values the registry does not list (an entry without ports, a hand-added worker) are still range-checked before
  // anything binds them.
  const identity = identityFromEnv(env, config);
  return typeof identity === 'string' ? identity : undefined;
}

export function envDisagreesError(id: string, path: string, why: string) {
  return conflictError(
    'env-file-disagrees',
    `The ${ENV_FILE_NAME} of ${id} (${join(path, ENV_FILE_NAME)}) disagrees with the registry: ${why}.`,
    'The registry decides which project, folder and slot a sandbox has; kinfra does not follow an edited or copied ' +
      'file. Write it again from the registry with: kinfra sandbox doctor --repair',
    { instanceId: id, path, why },
  );
}
