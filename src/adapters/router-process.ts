// The router as a process: one of kinfra's background processes (background-process.ts), started from the kinfra
// that asks for it with its output to the router's log, its token handed over on its stdin (never on its command
// line or in its environment), proven to be the router before anything signals it, and stopped by pid.
import {
  kinfraCliPath,
  startDetached,
  provenBy,
  stopProven,
  terminate,
  type StopOutcome,
} from './background-process.js';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { processRuns } from './processes.js';

/** The hidden command a started router runs. */
export const SERVE_COMMAND = 'router-serve';

export interface SpawnedRouter {
  pid: number;
  /** Resolves with the exit code (or the signal) if the router ends; it should not. */
  exited: Promise<string>;
}

/** Start `kinfra router-serve --port <port>` detached, its output appended to `log`, the token written to its stdin. */
export function spawnRouter(opts: { cli: string; port: number; token: string; log: string }): SpawnedRouter {
  const child = startDetached({
    cli: opts.cli,
    args: [SERVE_COMMAND, '--port', String(opts.port)],
    log: opts.log,
    // Not the folder it was started from: a sandbox's worktree may be removed while the router runs.
    cwd: dirname(opts.log),
    env: { ...process.env, NO_COLOR: '1' },
    stdin: 'pipe',
  });
  const exited = new Promise<string>((r) => {
    child.once('exit', (code, signal) => r(signal ? `killed by ${signal}` : `exit code ${code}`));
    child.once('error', (e) => r(e.message));
  });
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(`${opts.token}\n`);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${process.execPath} ${opts.cli}`);
  return { pid: child.pid, exited };
}

/** The token a started router was given on its stdin; undefined when stdin is a terminal (a person ran it). */
export async function readTokenFromStdin(timeoutMs = 5000): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  return new Promise((resolvePromise) => {
    let text = '';
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      process.stdin.removeAllListeners('data');
      // Done with it: a stdin left open would keep a router that failed to listen from ending.
      process.stdin.destroy();
      resolvePromise(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) done(text.split('\n')[0]!.trim() || undefined);
    });
    process.stdin.once('end', () => done(text.trim() || undefined));
    process.stdin.once('error', () => done(undefined));
  });
}

/** What proves a process is a router started from `cli`: its command line. */
const routerProof = (cli: string) => ({ command: SERVE_COMMAND, cli });

/** Whether `pid` is a router started from `cli`, by its command line (never by the pid alone). */
export function isRouterProcess(pid: number, cli: string): Promise<boolean> {
  return provenBy(pid, routerProof(cli));
}

export { kinfraCliPath, processRuns };

/** Stop `pid` if its command line proves it is a router started from `cli`; see stopProven. */
export function stopRouterProcess(pid: number, cli: string, graceMs = 5000): Promise<StopOutcome> {
  return stopProven(pid, routerProof(cli), graceMs);
}

/**
 * Stop a router already proven to be ours (its answer with the token and its pid, or its command line): SIGTERM,
 * and SIGKILL after `graceMs` only if its command line proves it again (a pid can be reused).
 */
export function terminateRouter(pid: number, cli: string, graceMs = 5000): Promise<Exclude<StopOutcome, 'not-ours'>> {
  return terminate(pid, routerProof(cli), graceMs);
}

/** Run `fn` once when the process is asked to end (SIGTERM, SIGINT, SIGHUP), then end it. */
export function onTermination(fn: (signal: string) => void | Promise<void>): void {
  let ending = false;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (ending) return;
      ending = true;
      void Promise.resolve(fn(signal)).finally(() => process.exit(0));
    });
  }
}

/** The last lines of the router's log, for a start that failed. */
export function logTail(log: string, lines = 8): string[] {
  try {
    return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines);
  } catch {
    return [];
  }
}
