// The compose files of a checkout, as plain `docker compose` would pick them: the project's COMPOSE_FILE (in its own
// `.env`) when it sets one and kinfra.yaml names none, else the first of the layout's compose_files that exists,
// with Compose's default override file beside it (compose.override.yaml, docker-compose.override.yml) if any.
import { basename, dirname, join, resolve } from 'node:path';
import { readTextSyncIfExists } from '../adapters/file-store.js';
import { pathExists } from '../adapters/folders.js';
import type { Config } from '../core/config/config.js';
import { parseEnvText } from '../core/env-file.js';
import { usageError } from '../core/errors.js';

export interface ComposeFiles {
  file: string;
  overrides: string[];
}

/** COMPOSE_FILE of the project's `.env`, split as Compose splits it; undefined when it sets none. */
function projectComposeFile(dir: string): string[] | undefined {
  let env: Record<string, string>;
  try {
    env = parseEnvText(readTextSyncIfExists(join(dir, '.env')) ?? '');
  } catch {
    return undefined;
  }
  const list = env.COMPOSE_FILE?.split(env.COMPOSE_PATH_SEPARATOR || ':').filter(Boolean);
  return list && list.length > 0 ? list.map((f) => resolve(dir, f)) : undefined;
}

/** Compose's default override beside a default file: compose.yaml goes with compose.override.yaml, and so on. */
function overrideOf(file: string): string | undefined {
  const m = /^(compose|docker-compose)\.ya?ml$/.exec(basename(file));
  if (!m) return undefined;
  return ['yaml', 'yml'].map((ext) => join(dirname(file), `${m[1]}.override.${ext}`)).find((f) => pathExists(f));
}

export function findComposeFiles(dir: string, config: Config): ComposeFiles {
  // compose_files in kinfra.yaml is stated for kinfra: it wins over the project's COMPOSE_FILE.
  const listed = config.composeFilesStated ? undefined : projectComposeFile(dir);
  if (listed) {
    const missing = listed.find((f) => !pathExists(f));
    if (missing) {
      throw usageError(
        'no-compose-file',
        `${join(dir, '.env')} sets COMPOSE_FILE, but ${missing} does not exist.`,
        'Fix COMPOSE_FILE in .env (paths are relative to its folder, separated by :).',
      );
    }
    return { file: listed[0]!, overrides: listed.slice(1) };
  }
  const file = config.composeFiles.map((f) => join(dir, f)).find((f) => pathExists(f));
  if (!file) {
    throw usageError(
      'no-compose-file',
      `No compose file in ${dir} (looked for ${config.composeFiles.join(', ')}).`,
      'Add one, or name yours under compose_files in kinfra.yaml.',
    );
  }
  const override = overrideOf(file);
  return { file, overrides: override ? [override] : [] };
}

export function findComposeFile(dir: string, config: Config): string {
  return findComposeFiles(dir, config).file;
}
