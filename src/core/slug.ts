// Sandbox names: slugs and instance ids, kept valid and short for folders and compose project names.

import { existsError, usageError } from './errors.js';

/** Longest slug we accept: keeps directory, compose project, network and volume names short. */
export const MAX_SLUG_LENGTH = 48;

/**
 * Lowercase, ASCII-fold accents, replace anything outside [a-z0-9-] with '-',
 * collapse and trim dashes, cap the length. The result is always a valid
 * compose project name fragment, or '' when nothing usable is left.
 */
export function slugify(name: string): string {
  const folded = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
  const dashed = folded.replace(/[^a-z0-9-]+/g, '-').replace(/-{2,}/g, '-');
  const trimmed = dashed.replace(/^-+|-+$/g, '');
  return trimmed.slice(0, MAX_SLUG_LENGTH).replace(/-+$/, '');
}

/** slugify, or a usage error when the name has nothing usable in it. */
export function requireSlug(name: string): string {
  const slug = slugify(name);
  if (!slug) {
    throw usageError(
      'invalid-name',
      `The name ${JSON.stringify(name)} has no letters or digits to build a sandbox name from.`,
      'Use letters, digits and dashes, for example: kinfra sandbox create my-feature',
    );
  }
  return slug;
}

/** `<prefix>--<slug>`: the instance id, the compose project name and the worktree folder name. */
export function instanceIdFor(prefix: string, slug: string): string {
  return `${prefix}--${slug}`;
}

/** Compose v1 and v2 both accept this; v2 is the stricter of the two. */
export const COMPOSE_PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * The first free id among base, base-2, base-3, ... (seed 000: duplicate ids get a
 * numeric suffix). `taken` says whether an id is already in use.
 */
export function uniqueInstanceId(base: string, taken: (id: string) => boolean): string {
  if (!taken(base)) return base;
  for (let i = 2; i < 1000; i++) {
    const candidate = `${base}-${i}`;
    if (!taken(candidate)) return candidate;
  }
  throw usageError('name-exhausted', `Every suffix of ${base} is already registered.`, 'Choose another name.');
}

/**
 * The id a new sandbox gets. A name that is taken is refused (two agents using one name must not end up
 * destroying each other's work); a numeric suffix only when the caller asks for one (`--unique`).
 */
export function freshInstanceId(
  base: string,
  existingPath: (id: string) => string | undefined,
  unique: boolean,
  how = 'create',
): string {
  const path = existingPath(base);
  if (path === undefined) return base;
  if (unique) return uniqueInstanceId(base, (id) => existingPath(id) !== undefined);
  throw existsError(
    'sandbox-exists',
    `A sandbox named ${base} already exists: ${path}.`,
    `Work in it (cd ${path}), destroy it first (kinfra sandbox destroy ${base}), or choose another name` +
      `${how === 'create' ? '; --unique adds a numeric suffix' : ' with -n NAME'}.`,
    { instanceId: base, path },
  );
}
