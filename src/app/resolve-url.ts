// Which backend URL a command talks to, from its flags and the .env.sandbox of the current folder.

import { join } from 'node:path';
import { loadConfig } from '../adapters/config-loader.js';
import { readEnvFile } from '../adapters/env-store.js';
import { nearestWith, pathExists } from '../adapters/folders.js';
import { resolveUrl, type ResolvedUrl } from '../core/api-url.js';
import { CONFIG_FILE_NAME, type Config } from '../core/config/config.js';
import { portFor } from '../core/ports.js';
import { ENV_FILE_NAME } from '../core/sandbox-env.js';

export interface UrlRequest {
  cwd: string;
  url?: string | undefined;
  port?: string | number | undefined;
}

/** The API port of a layout: the port named `api`, else the first. */
export function apiPortSpec(config: Config) {
  return config.ports.find((p) => p.name === 'api') ?? config.ports[0]!;
}

/**
 * Resolve the backend URL for `cwd` (seed 001 decision 4): --url, --port, the
 * nearest .env.sandbox, the default. Reads the file, never the environment.
 * Exported for other TypeScript CLIs.
 */
export async function resolveApiUrl(req: UrlRequest): Promise<ResolvedUrl & { config: Config }> {
  const found = nearestWith(req.cwd, [ENV_FILE_NAME, CONFIG_FILE_NAME]);
  const config = await loadConfig(found?.dir ?? req.cwd);
  const api = apiPortSpec(config);
  let envFile;
  if (found && pathExists(join(found.dir, ENV_FILE_NAME))) {
    const env = (await readEnvFile(found.dir)) ?? {};
    envFile = { path: join(found.dir, ENV_FILE_NAME), variable: api.env, value: env[api.env] };
  }
  const r = resolveUrl({ url: req.url, port: req.port, envFile, defaultPort: portFor(api, 0) });
  return { ...r, config };
}
