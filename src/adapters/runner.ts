import { spawn } from 'node:child_process';
import { externalError } from '../core/errors.js';

/**
 * The one way kinfra starts a process: an argument array, never a shell.
 * Output is captured; a non-zero exit is returned, not thrown, so callers
 * decide what a failure means. (node:child_process rather than execa: execa
 * alone cost more start-up time than the whole of `kinfra sandbox list`.)
 */
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(externalError('tool-missing', `${file} is not installed or not on PATH.`, `Install ${file} and try again.`));
      } else {
        reject(externalError('spawn-failed', `Could not run ${file}: ${e.message}`));
      }
    });
    child.on('close', (code, signal) => {
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8').replace(/\r?\n$/, ''),
        stderr: Buffer.concat(err).toString('utf8').replace(/\r?\n$/, ''),
      });
    });
  });
}
