// The compose file of a checkout: the first of the layout's compose_files that exists.
import { join } from 'node:path';
import { pathExists } from '../adapters/folders.js';
import type { Config } from '../core/config/config.js';
import { usageError } from '../core/errors.js';

export function findComposeFile(dir: string, config: Config): string {
  const file = config.composeFiles.map((f) => join(dir, f)).find((f) => pathExists(f));
  if (!file) {
    throw usageError(
      'no-compose-file',
      `No compose file in ${dir} (looked for ${config.composeFiles.join(', ')}).`,
      'Add one, or name yours under compose_files in kinfra.yaml.',
    );
  }
  return file;
}
