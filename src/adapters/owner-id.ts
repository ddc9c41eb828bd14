// The stable id of this kinfra state (one per HOME): the owner label on every resource kinfra starts. It is derived
// from the machine, the user and the state folder, so a lost registry, or a removed ~/.ktrdr, still knows which
// resources on the engine are its own, while another HOME or user never matches. It is also written beside the registry
// (for people and scripts), once and race-free: a hard link either makes the file or finds the one another process
// made; a file that is there wins.

import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { registryError } from '../core/errors.js';

export function derivedOwnerId(file: string): string {
  const uid = (() => {
    try {
      return String(userInfo().uid);
    } catch {
      return '?';
    }
  })();
  const h = createHash('sha256')
    .update(`kinfra-owner\0${hostname()}\0${uid}\0${resolve(dirname(file))}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const ID = /^[0-9a-f-]{36}$/;

export async function ownerId(file: string): Promise<string> {
  const existing = await readId(file);
  if (existing) return existing;
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}`;
  await writeFile(tmp, derivedOwnerId(file) + '\n', { mode: 0o644 });
  try {
    await link(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await rm(tmp, { force: true });
  }
  const id = await readId(file);
  if (!id) {
    throw registryError(
      'owner-id-invalid',
      `${file} does not hold a kinfra owner id.`,
      `It names which Docker resources are this kinfra's. Restore it from a backup, ` +
        `or remove it if no sandbox of yours has run yet.`,
    );
  }
  return id;
}

async function readId(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const id = text.trim();
  if (!ID.test(id)) {
    throw registryError(
      'owner-id-invalid',
      `${file} does not hold a kinfra owner id (found ${JSON.stringify(id.slice(0, 40))}).`,
      `It names which Docker resources are this kinfra's. Restore it from a backup, ` +
        `or remove it if no sandbox of yours has run yet.`,
    );
  }
  return id;
}
