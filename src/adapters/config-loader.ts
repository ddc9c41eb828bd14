// Reads a project's layout from disk: its kinfra.yaml, else the built-in KTRDR layout when its compose files use the
// KTRDR variables, else a layout derived from its compose files. Parsing and checking is core/config's work.

import { basename, join } from 'node:path';
import {
  builtInConfig,
  COMPOSE_DEFAULT_FILES,
  CONFIG_FILE_NAME,
  derivedConfig,
  parseConfigText,
  prefixOf,
  type Config,
} from '../core/config/config.js';
import { readTextIfExists } from './file-store.js';

/** Whether a compose file's text uses KTRDR's port variables. */
export function looksLikeKtrdrText(text: string): boolean {
  return /\$\{KTRDR_[A-Z_]*PORT/.test(text);
}

/** Whether the checkout is laid out like KTRDR: its sandbox compose file, or compose files that use KTRDR_ ports. */
async function looksLikeKtrdr(dir: string): Promise<boolean> {
  if ((await readTextIfExists(join(dir, 'docker-compose.sandbox.yml'))) !== undefined) return true;
  for (const name of COMPOSE_DEFAULT_FILES) {
    const text = await readTextIfExists(join(dir, name));
    if (text !== undefined) return looksLikeKtrdrText(text);
  }
  return false;
}

/**
 * The project's layout at `repoRoot`. `mainRoot` is its main checkout, when known: a derived layout takes its
 * prefix from that folder's name (a worktree's own name is the sandbox's).
 */
export async function loadConfig(repoRoot: string, mainRoot?: string): Promise<Config> {
  const file = join(repoRoot, CONFIG_FILE_NAME);
  const text = await readTextIfExists(file);
  if (text !== undefined) return parseConfigText(text, file);
  if (await looksLikeKtrdr(repoRoot)) return builtInConfig();
  return derivedConfig(prefixOf(basename(mainRoot ?? repoRoot)));
}
