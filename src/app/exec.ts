// `kinfra sandbox exec`: runs a command with the sandbox's variables in its own environment.

import { join } from 'node:path';
import { readEnvFile } from '../adapters/env-store.js';
import { runStreaming } from '../adapters/runner.js';
import { usageError } from '../core/errors.js';
import { ENV_FILE_NAME } from '../core/sandbox-env.js';
import type { AppContext } from './context.js';
import { findSandboxDir, notInSandbox } from './sandbox-entry.js';
import { resolveApiUrl, apiPortSpec } from './resolve-url.js';

/**
 * `kinfra sandbox exec -- <command>`: run a command with the sandbox's
 * .env.sandbox variables and its API URL in that child's environment only
 * (never exported to the shell: decision 4). No shell: the words run as given.
 */
export async function execInSandbox(ctx: AppContext, command: string[]): Promise<number> {
  const [file, ...args] = command;
  // spawn throws on an empty name (which would read as a kinfra bug) instead of failing like a missing command.
  if (file === undefined || file.trim() === '') {
    throw usageError(
      'invalid-command',
      `${JSON.stringify(file ?? '')} is not a command to run.`,
      'Put the command and its arguments after --, for example: kinfra sandbox exec -- env',
    );
  }
  const dir = findSandboxDir(ctx.cwd);
  if (!dir) throw notInSandbox(ctx.cwd);
  const env = (await readEnvFile(dir)) ?? {};
  const resolved = await resolveApiUrl({ cwd: dir });
  const urlVar = apiPortSpec(resolved.config).env.replace(/_PORT$/, '') + '_URL';
  return runStreaming(file, args, {
    cwd: ctx.cwd,
    env: {
      ...process.env,
      ...env,
      [urlVar]: resolved.url,
      KINFRA_SANDBOX_DIR: dir,
      KINFRA_ENV_FILE: join(dir, ENV_FILE_NAME),
    },
    output: 'terminal',
  });
}
