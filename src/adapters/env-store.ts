// A sandbox folder's .env.sandbox: read (parsed), and written atomically.
import { join } from 'node:path';
import { usageError } from '../core/errors.js';
import { EnvParseError, formatEnvText, parseEnvText, type EnvLine, type EnvMap } from '../core/env-file.js';
import { ENV_FILE_NAME } from '../core/sandbox-env.js';
import { readTextIfExists, writeTextAtomic } from './file-store.js';

/** The .env.sandbox of the sandbox folder `dir`, or undefined when there is none. */
export async function readEnvFile(dir: string): Promise<EnvMap | undefined> {
  const file = join(dir, ENV_FILE_NAME);
  const text = await readTextIfExists(file);
  if (text === undefined) return undefined;
  try {
    return parseEnvText(text);
  } catch (e) {
    if (e instanceof EnvParseError) {
      throw usageError(
        'invalid-env-file',
        `${file}: ${e.message}`,
        `Fix the line, or delete the file and run \`kinfra sandbox init\` in ${dir} to write it again.`,
      );
    }
    throw e;
  }
}

export async function writeEnvFile(dir: string, lines: readonly EnvLine[]): Promise<string> {
  const file = join(dir, ENV_FILE_NAME);
  await writeTextAtomic(file, formatEnvText(lines));
  return file;
}
