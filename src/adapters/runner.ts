import { execa } from 'execa';
import { externalError } from '../core/errors.js';

/**
 * The one way kinfra starts a process: an argument array, never a shell.
 * Output is captured; a non-zero exit is returned, not thrown, so callers
 * decide what a failure means.
 */
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
}

export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  try {
    const r = await execa(file, args, {
      cwd: opts.cwd,
      env: opts.env,
      reject: false,
      shell: false,
      stdin: 'ignore',
      stripFinalNewline: true,
    });
    if (r.failed && r.exitCode === undefined) {
      // Spawn failure (not found, not executable) rather than a non-zero exit.
      const code = (r as { code?: string }).code;
      if (code === 'ENOENT') {
        throw externalError('tool-missing', `${file} is not installed or not on PATH.`, `Install ${file} and try again.`);
      }
      throw externalError('spawn-failed', `Could not run ${file}: ${r.shortMessage}`);
    }
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') {
      throw externalError('tool-missing', `${file} is not installed or not on PATH.`, `Install ${file} and try again.`);
    }
    throw e;
  }
}
