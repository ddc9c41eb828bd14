// The focus forwarder as a process: started detached (node, kinfra's own CLI, the hidden `focus-serve` command, an
// argument array, never a shell; its output appended to a log file under the state folder), told apart from any other
// process by its command line (/proc/<pid>/cmdline names focus-serve and the registry it serves, so a reused pid is
// never signalled), and stopped with SIGTERM only once that is proven. The child says it is listening, or why it
// cannot, on a pipe (fd 3) that it closes straight after, so nothing ties it to the process that started it.
import { spawnDetached } from './runner.js';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './runner.js';

/** The hidden command the forwarder runs as. */
export const SERVE_COMMAND = 'focus-serve';
/** The fd on which the child reports that it listens (or why not). */
export const READY_FD = 3;

/** kinfra's executable: dist/kinfra.js of the package this module belongs to (bundled or run from the sources). */
export function kinfraExecutable(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    const cli = join(d, 'dist', 'kinfra.js');
    if (existsSync(join(d, 'package.json')) && existsSync(cli)) return cli;
    if (dirname(d) === d) throw new Error('kinfra executable dist/kinfra.js not found (run npm run build)');
  }
}

/**
 * The forwarder's argument list after node: the CLI, the command, the instance and the registry it serves (and
 * --verbose, so what it says goes to its log).
 */
export function forwarderArgs(cli: string, instance: string, registry: string): string[] {
  return [cli, 'sandbox', SERVE_COMMAND, instance, '--registry', registry, '--ready-fd', String(READY_FD), '--verbose'];
}

/** What the child reported: listening, or the port it could not open (and what the system said). */
export type ReadyReport =
  { ok: true } | { ok: false; reason: string; port?: number | undefined; protocol?: 'tcp' | 'udp' | undefined };

export interface StartedForwarder {
  pid: number;
  /** Resolves once the child has reported (or exited, or missed `timeoutMs`); the child is then on its own. */
  ready: Promise<ReadyReport>;
}

/** Start the forwarder for `instance` of `registry`, detached, its output appended to `logFile`. */
export function startForwarder(opts: {
  instance: string;
  registry: string;
  logFile: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): StartedForwarder {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  // Kept small: past 1 MB the log starts again, the last one kept beside it (.1).
  if ((statSync(opts.logFile, { throwIfNoEntry: false })?.size ?? 0) > 1024 * 1024)
    renameSync(opts.logFile, `${opts.logFile}.1`);
  const log = openSync(opts.logFile, 'a', 0o600);
  let child;
  try {
    child = spawnDetached(process.execPath, forwarderArgs(kinfraExecutable(), opts.instance, opts.registry), {
      cwd: dirname(opts.registry),
      env: opts.env,
      stdio: ['ignore', log, log, 'pipe'],
    });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) {
    return { pid: 0, ready: Promise.resolve({ ok: false, reason: 'the forwarder process could not be started' }) };
  }
  const pipe = child.stdio[READY_FD] as NodeJS.ReadableStream & { destroy(): void };
  const ready = new Promise<ReadyReport>((resolve) => {
    let text = '';
    let done = false;
    const finish = (r: ReadyReport) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      pipe.destroy();
      child.removeAllListeners('exit');
      child.unref();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, reason: `it did not say it was listening within ${opts.timeoutMs ?? 15_000} ms` }),
      opts.timeoutMs ?? 15_000,
    );
    pipe.on('data', (d: Buffer) => {
      text += d.toString();
      const line = text.split('\n')[0];
      if (text.includes('\n') && line !== undefined) finish(parseReport(line));
    });
    pipe.on('error', () => undefined);
    pipe.on('end', () => finish(text.trim() ? parseReport(text.trim()) : { ok: false, reason: 'it ended its report' }));
    child.once('exit', (code, signal) =>
      finish({ ok: false, reason: `it exited (${signal ?? `code ${code}`}) before it was listening` }),
    );
  });
  return { pid, ready };
}

function parseReport(line: string): ReadyReport {
  try {
    const r = JSON.parse(line) as ReadyReport;
    if (r && typeof r === 'object' && typeof r.ok === 'boolean') return r;
  } catch {
    // Not a report: said as it is below.
  }
  return { ok: false, reason: `it reported ${JSON.stringify(line.slice(0, 200))}` };
}

/** The child's side: report once on the ready fd, then close it (a missing fd, run by hand, is no error). */
export function reportReady(fd: number | undefined, report: ReadyReport): void {
  if (fd === undefined) return;
  try {
    writeSync(fd, JSON.stringify(report) + '\n');
    closeSync(fd);
  } catch {
    // The starter went away: nobody to tell.
  }
}

/** A process's argument list, or undefined when it is gone (or a zombie, whose cmdline is empty). */
async function commandLine(pid: number): Promise<string[] | undefined> {
  if (process.platform === 'linux') {
    const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    // NUL-separated, with one at the end.
    return text ? text.replace(/\0$/, '').split('\0') : undefined;
  }
  const r = await run('ps', ['-p', String(pid), '-o', 'command=']).catch(() => undefined);
  return r && r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim().split(/\s+/) : undefined;
}

/** Whether `pid` is a running focus forwarder of `registry`: proven by its command line, never by the pid alone. */
export async function isForwarder(pid: number, registry: string): Promise<boolean> {
  const args = await commandLine(pid);
  if (!args) return false;
  const at = args.indexOf(SERVE_COMMAND);
  const reg = args.indexOf('--registry');
  return at > 0 && reg > at && args[reg + 1] === registry;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stop the forwarder `pid` of `registry`, if that is what it is: SIGTERM, then SIGKILL after `graceMs`. Resolves to
 * whether it was one (and is gone now); a pid that is not one is never signalled.
 */
export async function stopForwarder(pid: number, registry: string, graceMs = 3000): Promise<boolean> {
  if (!(await isForwarder(pid, registry))) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return true;
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    await sleep(25);
    if (!(await isForwarder(pid, registry))) return true;
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone meanwhile.
  }
  for (let i = 0; i < 40 && (await isForwarder(pid, registry)); i++) await sleep(25);
  return true;
}

/** Run `fn` once when the process is asked to end (SIGTERM, SIGINT, SIGHUP), instead of Node's default of exiting. */
export function onTermination(fn: (signal: string) => void): () => void {
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
  const handler = (signal: string) => {
    off();
    fn(signal);
  };
  const off = () => {
    for (const s of signals) process.removeListener(s, handler);
  };
  for (const s of signals) process.on(s, handler);
  return off;
}
