// Files that several kinfra processes share: written atomically (temp file, fsync, rename), so a reader or a crash sees
// the old or the new content, never a torn one; read-modify-write happens under a cross-process lock.

import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { registryError } from '../core/errors.js';

export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError(e, 'read', path);
  }
}

/** The same, synchronously: for small files read while a path is being worked out (a project's `.env`). */
export function readTextSyncIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError(e, 'read', path);
  }
}

export async function writeTextAtomic(path: string, text: string, mode?: number): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    const { default: writeFileAtomic } = await import('write-file-atomic');
    await writeFileAtomic(path, text, { fsync: true, ...(mode === undefined ? {} : { mode }) });
  } catch (e) {
    throw fileError(e, 'write', path);
  }
}

function fileError(e: unknown, verb: string, path: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return e as Error; // not an I/O failure: a bug
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is exceeded',
  };
  return registryError(
    'file-' + verb + '-failed',
    `Could not ${verb} ${path}: ${why[code] ?? (e as Error).message}.`,
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'Free some disk space and run the command again; the previous file is unchanged.'
      : `Check the permissions of ${dirname(path)} and run the command again; the previous file is unchanged.`,
    { errno: code },
  );
}

let onWait: ((message: string) => void) | undefined;

/** Where to say that this command waits for another kinfra process (the CLI's stderr; nothing with --json). */
export function noticeLockWaits(to: ((message: string) => void) | undefined): void {
  onWait = to;
}

export interface LockOptions {
  /** How long to wait for another process to release the lock. */
  waitMs?: number;
}

/**
 * Run `fn` while holding the lock of `path` (a `<path>.lock` folder). A lock left
 * by a killed process goes stale after 10 s and is taken over.
 */
export async function withFileLock<T>(
  path: string,
  fn: (assertHeld: () => void) => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  await mkdir(dirname(path), { recursive: true }).catch((e: unknown) => {
    throw fileError(e, 'create the folder of', path);
  });
  const waitMs = opts.waitMs ?? 60_000;
  const started = Date.now();
  let told = false;
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  // Retry only while another process holds the lock: proper-lockfile's own retries would also
  // retry a read-only or full file system for the whole wait.
  for (;;) {
    try {
      release = await (
        await lockLibrary()
      ).lock(path, {
        realpath: false,
        stale: 10_000,
        update: 2_000,
        retries: 0,
        onCompromised: (err) => {
          compromised = err;
        },
      });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw fileError(e, 'lock', path);
      if (Date.now() - started >= waitMs) {
        throw registryError(
          'registry-locked',
          `Another kinfra process held the lock on ${path} all ` +
            `the ${Math.round((Date.now() - started) / 1000)} s this one waited.`,
          `Wait for it to finish and run the command again. A lock of a killed kinfra is taken over after 10 s; ` +
            `if none is running, ` +
            `kinfra sandbox doctor --repair removes it.`,
        );
      }
      if (!told && Date.now() - started >= 1000) {
        told = true;
        onWait?.(`Waiting for another kinfra process to finish with ${path} ...`);
      }
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
    }
  }
  const assertHeld = () => {
    if (compromised) {
      throw registryError(
        'registry-lock-lost',
        `Lost the lock on ${path}: ${compromised.message}`,
        'Nothing was written. Run the command again.',
      );
    }
  };
  try {
    return await fn(assertHeld);
  } finally {
    await release().catch(() => undefined);
  }
}

/**
 * The lock and atomic-write libraries load when first used: a command that only reads (list, whoami, ports who)
 * never pays for them (graceful-fs patches fs as it loads).
 */
let lockLoaded: Promise<typeof import('proper-lockfile')> | undefined;
function lockLibrary(): Promise<typeof import('proper-lockfile')> {
  lockLoaded ??= import('proper-lockfile').then((m) => m.default);
  return lockLoaded;
}
