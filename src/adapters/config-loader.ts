// Reads a project's kinfra.yaml from disk; parsing and checking it is core/config's work.

import { join } from 'node:path';
import { builtInConfig, CONFIG_FILE_NAME, parseConfigText, type Config } from '../core/config/config.js';
import { readTextIfExists } from './file-store.js';

/** The project's kinfra.yaml at `repoRoot`, or the built-in KTRDR layout when there is none. */
export async function loadConfig(repoRoot: string): Promise<Config> {
  const file = join(repoRoot, CONFIG_FILE_NAME);
  const text = await readTextIfExists(file);
  return text === undefined ? builtInConfig() : parseConfigText(text, file);
}
