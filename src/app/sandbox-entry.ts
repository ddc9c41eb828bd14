// Which registered sandbox a command is about: the one called by a name, or the one whose folder holds the
// current folder. The registry decides; a folder with a .env.sandbox the registry does not hold is refused.
import { sep } from 'node:path';
import { nearestWith } from '../adapters/folders.js';
import { notFoundError } from '../core/errors.js';
import type { InstanceEntry, Registry } from '../core/registry/model.js';
import { ENV_FILE_NAME } from '../core/sandbox-env.js';
import { slugify } from '../core/slug.js';

/** The folder holding .env.sandbox: `dir` or its nearest parent that has one. */
export function findSandboxDir(dir: string): string | undefined {
  return nearestWith(dir, [ENV_FILE_NAME])?.dir;
}

const within = (dir: string, path: string) => dir === path || dir.startsWith(path.endsWith(sep) ? path : path + sep);

/** The registered sandbox called `name` (its id, or `<prefix>--<name>`). */
export function entryByName(registry: Registry, name: string): [string, InstanceEntry] {
  const all = Object.entries(registry.instances);
  const exact = all.find(([id]) => id === name);
  if (exact) return exact;
  const slug = slugify(name);
  const bySlug = all.filter(([id]) => slug !== '' && id.endsWith(`--${slug}`));
  if (bySlug.length === 1) return bySlug[0]!;
  if (bySlug.length > 1) {
    throw notFoundError(
      'ambiguous-name',
      `${name} matches several sandboxes: ${bySlug.map(([id]) => id).join(', ')}.`,
      'Name one by its full id.',
    );
  }
  throw notFoundError(
    'unknown-instance',
    `No sandbox named ${name} is registered.`,
    'See the registered sandboxes with: kinfra sandbox list',
  );
}

/** The registered sandbox whose folder holds `cwd` (the innermost), or why there is none. */
export function entryHolding(registry: Registry, cwd: string): [string, InstanceEntry] {
  const hits = Object.entries(registry.instances)
    .filter(([, e]) => within(cwd, e.path))
    .sort((a, b) => b[1].path.length - a[1].path.length);
  if (hits[0]) return hits[0];
  const dir = findSandboxDir(cwd);
  if (dir) {
    throw notFoundError(
      'not-registered',
      `${dir} has a ${ENV_FILE_NAME} but is not a registered sandbox (it was destroyed, or the registry lost it).`,
      'kinfra never runs a folder it does not register on a slot. Register it again with: ' +
        `cd ${dir} && kinfra sandbox init (or see kinfra sandbox doctor).`,
    );
  }
  throw notInSandbox(cwd);
}

/** The one wording of "you are not in a sandbox", for every command that needs one. */
export function notInSandbox(cwd: string) {
  return notFoundError(
    'not-in-sandbox',
    `${cwd} is not a registered sandbox and is not inside a sandbox.`,
    'cd into a sandbox (see kinfra sandbox list), or create one: kinfra sandbox create <name>',
  );
}
