// kinfra's own background processes (the router, the focus forwarder): node running the kinfra executable and a
// hidden command, started detached so they outlive the command that asked for them, their output appended to a log.
// A pid alone proves nothing once such a process has ended (the pid can be reused), so nothing here signals a pid
// unless its command line proves it is the one meant (or, for terminate's SIGTERM, the caller has proven it).
import { closeSync, existsSync, openSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processRuns } from './processes.js';
import { run, spawnDetached, type ChildProcess } from './runner.js';

/** What a command line must say to be one of ours. */
export interface CommandProof {
  /** The hidden command it runs (`router-serve`, `focus-serve`): somewhere after the executable. */
  command: string;
  /** The kinfra executable that must come before the command, for a caller that recorded which one it started. */
  cli?: string;
  /** An option the command must have been given, with its value: what tells one HOME's process from another's. */
  option?: readonly [name: string, value: string];
}

/**
 * Start `node <cli> <args...>` detached, in `cwd`, its stdout and stderr appended to `log` (created 0600). `stdin`
 * and `pipes` (extra pipes from fd 3 on) are the caller's channels to it; the caller unrefs it when done with them.
 */
export function startDetached(opts: {
  cli: string;
  args: readonly string[];
  log: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdin?: 'pipe' | 'ignore';
  pipes?: number;
}): ChildProcess {
  const fd = openSync(opts.log, 'a', 0o600);
  try {
    const extra = Array.from({ length: opts.pipes ?? 0 }, () => 'pipe' as const);
    return spawnDetached(process.execPath, [opts.cli, ...opts.args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: [opts.stdin ?? 'ignore', fd, fd, ...extra],
    });
  } finally {
    // The child has its own copy now.
    closeSync(fd);
  }
}

/** Whether an argument list is the one `proof` describes. */
export function proves(args: readonly string[], proof: CommandProof): boolean {
  const at = args.indexOf(proof.command);
  if (at <= 0) return false;
  if (proof.cli !== undefined && !args.slice(0, at).some((a) => a === proof.cli || realpathQuietly(a) === proof.cli))
    return false;
  if (proof.option === undefined) return true;
  const [name, value] = proof.option;
  const i = args.indexOf(name);
  return i > at && args[i + 1] === value;
}

function realpathQuietly(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/**
 * A running process's argument list: empty when it is gone (or a zombie, whose cmdline is empty), undefined when
 * this system cannot say (no /proc, and ps will not run).
 */
export async function commandLine(pid: number): Promise<string[] | undefined> {
  if (!processRuns(pid)) return [];
  if (existsSync('/proc/self/cmdline')) {
    const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    // NUL-separated, with one at the end.
    return text ? text.replace(/\0$/, '').split('\0') : [];
  }
  const r = await run('ps', ['-p', String(pid), '-o', 'command=']).catch(() => undefined);
  if (!r) return undefined;
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim().split(/\s+/) : [];
}

/** 'unknown' only while the process runs and its command line cannot be read. */
async function verdict(pid: number, proof: CommandProof): Promise<'yes' | 'no' | 'unknown'> {
  const args = await commandLine(pid);
  if (args === undefined) return 'unknown';
  return proves(args, proof) ? 'yes' : 'no';
}

/** Whether `pid` runs now and its command line proves it is the process `proof` describes. */
export async function provenBy(pid: number, proof: CommandProof): Promise<boolean> {
  return (await verdict(pid, proof)) === 'yes';
}

/**
 * How a stop went: it ended after SIGTERM (`stopped`), needed SIGKILL (`killed`), was gone before the signal
 * (`gone`), still ran after the grace period without a readable command line to prove it before SIGKILL
 * (`still-running`), or was never ours and never signalled (`not-ours`).
 */
export type StopOutcome = 'stopped' | 'killed' | 'gone' | 'still-running' | 'not-ours';

/** Stop `pid` only if its command line proves it is ours: SIGTERM, then SIGKILL after `graceMs` if proven again. */
export async function stopProven(pid: number, proof: CommandProof, graceMs: number): Promise<StopOutcome> {
  if (!(await provenBy(pid, proof))) return 'not-ours';
  return terminate(pid, proof, graceMs);
}

/** How long a SIGKILLed process is waited for: the kernel ends it at once, this only bounds the wait to see it. */
const KILL_WAIT_MS = 2000;

/**
 * SIGTERM to a process the caller has already proven to be ours (by its command line, or by an answer only it can
 * give), then SIGKILL after `graceMs` only if its command line proves it again: by then its pid may be another's.
 */
export async function terminate(
  pid: number,
  proof: CommandProof,
  graceMs: number,
): Promise<Exclude<StopOutcome, 'not-ours'>> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  if (await endsWithin(pid, graceMs)) return 'stopped';
  // A pid still there that does not prove to be ours is a zombie nobody reaps, or another process by now.
  const now = await verdict(pid, proof);
  if (now !== 'yes') return now === 'no' ? 'stopped' : 'still-running';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'stopped';
  }
  await endsWithin(pid, KILL_WAIT_MS);
  return 'killed';
}

/** Whether the pid stops running within `ms`: callers go on to reuse what it held (its port, its record). */
async function endsWithin(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!processRuns(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !processRuns(pid);
}

/**
 * The kinfra executable (dist/kinfra.js): the script this process runs when it is kinfra, else the bundle beside
 * this chunk, else the build of the checkout this source belongs to (tests that run the CLI in-process).
 */
export function kinfraCliPath(): string {
  const candidates: string[] = [];
  const script = process.argv[1];
  if (script && /^kinfra(\.js)?$/.test(basename(script))) candidates.push(script);
  const here = dirname(fileURLToPath(import.meta.url));
  candidates.push(join(here, 'kinfra.js'), join(here, '..', 'kinfra.js'), resolve(here, '../../dist/kinfra.js'));
  for (const c of candidates) {
    if (existsSync(c)) return realpathSync(c);
  }
  return candidates[candidates.length - 1]!;
}
