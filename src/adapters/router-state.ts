// The router's files in kinfra's state (`~/.ktrdr/router/`): the state file (pid, port, token; mode 0600, written
// atomically under its lock, so two `kinfra router start` at once leave one router), the log the router writes, and
// a new token. The folder is the owner's alone (0700).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRouterState, formatRouterState, type RouterState } from '../core/router/state.js';
import { readTextIfExists, withFileLock, writeTextAtomic } from './file-store.js';
import type { StatePaths } from './paths.js';

export interface RouterPaths {
  dir: string;
  /** pid, port and token of the running router (0600). */
  state: string;
  /** What the router prints: its addresses, route changes, errors. */
  log: string;
}

export function routerPaths(paths: StatePaths): RouterPaths {
  const dir = join(paths.stateDir, 'router');
  return { dir, state: join(dir, 'router.json'), log: join(dir, 'router.log') };
}

/** The folder, made the owner's alone (kept so when it is there already). */
export async function makeRouterDir(p: RouterPaths): Promise<void> {
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  await chmod(p.dir, 0o700);
}

export type StoredState =
  { kind: 'none' } | { kind: 'state'; state: RouterState } | { kind: 'unreadable'; reason: string };

export async function readRouterState(p: RouterPaths): Promise<StoredState> {
  const text = await readTextIfExists(p.state);
  if (text === undefined) return { kind: 'none' };
  const parsed = parseRouterState(text);
  return parsed.ok ? { kind: 'state', state: parsed.state } : { kind: 'unreadable', reason: parsed.reason };
}

export async function writeRouterState(p: RouterPaths, s: RouterState): Promise<void> {
  await makeRouterDir(p);
  await writeTextAtomic(p.state, formatRouterState(s), 0o600);
}

export async function removeRouterState(p: RouterPaths): Promise<void> {
  await rm(p.state, { force: true });
}

/** Run `fn` holding the state file's lock: start and stop are one locked step each. */
export async function withRouterLock<T>(p: RouterPaths, fn: () => Promise<T>): Promise<T> {
  await makeRouterDir(p);
  return withFileLock(p.state, () => fn(), { waitMs: 30_000 });
}

/** A new control token: 32 random bytes, URL-safe. */
export function newRouterToken(): string {
  return randomBytes(32).toString('base64url');
}
