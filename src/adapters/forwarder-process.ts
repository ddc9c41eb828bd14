// The focus forwarder as a process: one of kinfra's background processes (background-process.ts) running the hidden
// `focus-serve` command, its output appended to a log file under the state folder, told apart from any other process
// by its command line (it names focus-serve and the registry it serves, so a reused pid is never signalled), and
// stopped only once that is proven. The child says it is listening, or why it cannot, on a pipe (fd 3) that it closes
// straight after, so nothing ties it to the process that started it.
import { kinfraCliPath, provenBy, startDetached, stopProven } from './background-process.js';
import { closeSync, mkdirSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** The hidden command the forwarder runs as. */
export const SERVE_COMMAND = 'focus-serve';
/** The fd on which the child reports that it listens (or why not). */
export const READY_FD = 3;

/**
 * The forwarder's argument list after kinfra's executable: the command, the instance and the registry it serves (and
 * --verbose, so what it says goes to its log).
 */
export function forwarderArgs(instance: string, registry: string): string[] {
  return ['sandbox', SERVE_COMMAND, instance, '--registry', registry, '--ready-fd', String(READY_FD), '--verbose'];
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
  const child = startDetached({
    cli: kinfraCliPath(),
    args: forwarderArgs(opts.instance, opts.registry),
    log: opts.logFile,
    cwd: dirname(opts.registry),
    env: opts.env,
    // The one extra pipe is fd 3, READY_FD.
    pipes: 1,
  });
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

/** What proves a process is the forwarder of `registry`: its command line. */
const forwarderProof = (registry: string) => ({ command: SERVE_COMMAND, option: ['--registry', registry] as const });

/** Whether `pid` is a running focus forwarder of `registry`: proven by its command line, never by the pid alone. */
export function isForwarder(pid: number, registry: string): Promise<boolean> {
  return provenBy(pid, forwarderProof(registry));
}

/**
 * Stop the forwarder `pid` of `registry`, if that is what it is: SIGTERM, then SIGKILL after `graceMs`. Resolves to
 * whether it was one (and is gone now); a pid that is not one is never signalled.
 */
export async function stopForwarder(pid: number, registry: string, graceMs = 3000): Promise<boolean> {
  return (await stopProven(pid, forwarderProof(registry), graceMs)) !== 'not-ours';
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
