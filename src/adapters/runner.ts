// The one way kinfra starts a process: an argument array, never a shell. Output is captured; a non-zero exit is
// returned, not thrown, so callers decide what a failure means. (node:child_process rather than execa: execa alone cost
// more start-up time than the whole of `kinfra sandbox list`.)

import { existsSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';

export type { ChildProcess };
import type { StdioOptions } from 'node:child_process';
import { externalError } from '../core/errors.js';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The child missed its deadline and was killed (exitCode 124, as timeout(1) says). */
  timedOut?: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface CaptureOptions extends RunOptions {
  /**
   * Kill the child when it has not finished after this long. For queries only (engine-deadline.ts): a command
   * whose output the user watches may be slow and still working, so runStreaming has no deadline.
   */
  timeoutMs?: number;
}

let echo: ((line: string) => void) | undefined;

/** `--verbose`: report every command kinfra runs, quoted so it can be pasted into a shell. */
export function echoCommands(to: ((line: string) => void) | undefined): void {
  echo = to;
}

/** Report one step that is not a process (e.g. an Engine API request) the same way. */
export function echoStep(line: string): void {
  echo?.(line);
}

const quote = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

function show(file: string, args: readonly string[], cwd: string | undefined): void {
  echo?.(`$ ${[file, ...args].map(quote).join(' ')}${cwd ? `   # in ${cwd}` : ''}`);
}

/** Why a process could not start, in words: ENOENT is also what a vanished working folder gives. */
function spawnError(file: string, cwd: string | undefined, e: NodeJS.ErrnoException) {
  if (e.code === 'ENOENT' && cwd !== undefined && !existsSync(cwd)) {
    return externalError(
      'folder-gone',
      `${cwd} no longer exists (another process removed it meanwhile?).`,
      'See what is registered with: kinfra sandbox list, and run the command again.',
    );
  }
  if (e.code === 'ENOENT')
    return externalError('tool-missing', `${file} is not installed or not on PATH.`, `Install ${file} and try again.`);
  return externalError(
    'spawn-failed',
    `Could not run ${file}: ${e.message}`,
    `Check that ${file} runs from this shell (${file} --version).`,
  );
}

export function run(file: string, args: readonly string[], opts: CaptureOptions = {}): Promise<RunResult> {
  show(file, args, opts.cwd);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const text = (chunks: Buffer[]) =>
      Buffer.concat(chunks)
        .toString('utf8')
        .replace(/\r?\n$/, '');
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
            // Resolve now rather than on 'close': a grandchild (the docker CLI's
            // compose plugin) may hold the pipes open.
            child.stdout.destroy();
            child.stderr.destroy();
            resolve({ exitCode: 124, stdout: text(out), stderr: text(err), timedOut: true });
          }, opts.timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(spawnError(file, opts.cwd, e));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? (signal ? 128 : 1), stdout: text(out), stderr: text(err) });
    });
  });
}

/**
 * Run a process whose output the user should see as it happens. `terminal`:
 * the child shares our stdin/stdout/stderr (logs, shell). `stderr`: its stdout
 * and stderr both go to our stderr, keeping our stdout clean for --json.
 * Resolves with the exit code (128+n when killed by a signal).
 *
 * The child dies with kinfra: a Ctrl-C reaches the whole process group, but a
 * SIGINT, SIGTERM or SIGHUP sent to kinfra's pid alone (a supervisor, `kill`,
 * a closed terminal) would end kinfra and leave `compose logs --follow`
 * running as an orphan. So while the child runs, those signals are forwarded
 * to it, kinfra waits for it to end, and then exits with 128+n as the signal
 * would have made it. A caller that already listened for the signal when the
 * child started (`up`, which turns a Ctrl-C into its own "interrupted" error)
 * handles it itself: it gets the exit code.
 */
export function runStreaming(
  file: string,
  args: readonly string[],
  opts: RunOptions & { output: 'terminal' | 'stderr' },
): Promise<number> {
  show(file, args, opts.cwd);
  return new Promise((resolve, reject) => {
    const stdio = opts.output === 'terminal' ? 'inherit' : (['ignore', 2, 2] as const);
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      shell: false,
      stdio: stdio as never,
    });
    const handledByCaller = new Set<NodeJS.Signals>(FORWARDED.filter((s) => process.listenerCount(s) > 0));
    let received: NodeJS.Signals | undefined;
    // A child that ignores the signal is waited for all the same; a second Ctrl-C is forwarded again.
    const forward = (signal: NodeJS.Signals) => {
      received ??= signal;
      child.kill(signal);
    };
    for (const s of FORWARDED) process.on(s, forward);
    const stopForwarding = () => {
      for (const s of FORWARDED) process.removeListener(s, forward);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      stopForwarding();
      reject(spawnError(file, opts.cwd, e));
    });
    child.on('close', (code, signal) => {
      stopForwarding();
      if (received && !handledByCaller.has(received)) process.exit(128 + signalNumber[received]!);
      resolve(code ?? (signal ? 128 + (signalNumber[signal] ?? 0) : 1));
    });
  });
}

/** The signals that end kinfra (and so must end its child); SIGKILL cannot be caught, by anyone. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const satisfies readonly NodeJS.Signals[];

const signalNumber: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/**
 * Start one of kinfra's own background processes (the router, the focus forwarder): detached into its own process
 * group, so it outlives the command that started it; never through a shell. The caller unrefs it.
 */
export function spawnDetached(
  file: string,
  args: readonly string[],
  opts: { cwd: string; stdio: StdioOptions; env?: NodeJS.ProcessEnv },
): ChildProcess {
  show(file, args, opts.cwd);
  return spawn(file, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    shell: false,
    stdio: opts.stdio,
  });
}

/**
 * Run a command whose output is a stream of lines that may never end (`compose logs --follow`): each line of its
 * stdout to `onLine` as it comes, until it exits or `signal` aborts (then it is sent SIGTERM). Resolves with its
 * exit code.
 */
export function runLines(
  file: string,
  args: readonly string[],
  opts: RunOptions & { onLine: (line: string) => void; signal: AbortSignal },
): Promise<number> {
  show(file, args, opts.cwd);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, shell: false, stdio: 'pipe' });
    child.stdin.end();
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop()!;
      for (const l of lines) opts.onLine(l.replace(/\r$/, ''));
    });
    child.stderr.resume();
    const stop = () => child.kill('SIGTERM');
    opts.signal.addEventListener('abort', stop, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => {
      opts.signal.removeEventListener('abort', stop);
      reject(spawnError(file, opts.cwd, e));
    });
    child.on('close', (code, signal) => {
      opts.signal.removeEventListener('abort', stop);
      if (rest) opts.onLine(rest);
      resolve(code ?? (signal ? 128 + (signalNumber[signal] ?? 0) : 1));
    });
    if (opts.signal.aborted) stop();
  });
}

/** Whether an executable of that name is on PATH (to offer a program only where it exists). */
export function onPath(name: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  return dirs.some((d) => existsSync(`${d}/${name}`));
}

export interface PipeEnd {
  file: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * `from | to`, without a shell: `from`'s stdout into `to`'s stdin (a dump into a restore). Resolves with both exit
 * codes and both stderrs once both have ended; `to`'s stdout is discarded.
 */
export function runPipe(from: PipeEnd, to: PipeEnd): Promise<{ from: RunResult; to: RunResult }> {
  show(from.file, from.args, undefined);
  show(to.file, to.args, undefined);
  const start = (end: PipeEnd, stdio: ['ignore' | 'pipe', 'pipe' | 'ignore', 'pipe']) =>
    spawn(end.file, end.args, { env: end.env ?? process.env, shell: false, stdio });
  const producer = start(from, ['ignore', 'pipe', 'pipe']);
  const consumer = start(to, ['pipe', 'ignore', 'pipe']);
  const ended = (child: ChildProcess, file: string) =>
    new Promise<RunResult>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (e: NodeJS.ErrnoException) => reject(spawnError(file, undefined, e)));
      child.on('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : 1), stdout: '', stderr: err }));
    });
  consumer.stdin!.on('error', () => undefined);
  producer.stdout!.pipe(consumer.stdin!);
  return Promise.all([ended(producer, from.file), ended(consumer, to.file)]).then(([f, t]) => ({ from: f, to: t }));
}
