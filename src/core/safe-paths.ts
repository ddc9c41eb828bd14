// Where kinfra may delete or write on its own (doctor --repair): never the root, the home folder, the main checkout, or
// any folder above them, and for a worktree kinfra made, only the exact folder `create` puts beside the main checkout.
// Registry entries can be hand-edited, merged or copied; a path in one is a claim to check, not a permission.

import { dirname, isAbsolute, join, normalize, sep } from 'node:path';

const norm = (p: string) => normalize(p).replace(/[\\/]+$/, '') || sep;
const isAtOrAbove = (p: string, other: string) => {
  const a = norm(p);
  const b = norm(other);
  return a === b || b.startsWith(a === sep ? sep : a + sep);
};

export interface Protected {
  home: string;
  /** The main checkout of the entry's repository. */
  mainCheckout: string;
}

/** Why kinfra must not delete or write at `path` on its own, or undefined when it may. */
export function protectedReason(path: string, guard: Protected): string | undefined {
  if (!isAbsolute(path)) return `${path} is not an absolute path`;
  if (norm(path) === sep) return 'it is the root folder';
  if (isAtOrAbove(path, guard.home)) return 'it is the home folder or a folder above it';
  if (guard.mainCheckout && isAtOrAbove(path, guard.mainCheckout))
    return 'it is the main checkout or a folder above it';
  return undefined;
}

/** Why `path` is not the folder `create` makes for `instanceId` beside `mainCheckout`, or undefined when it is. */
export function notCreatedWorktree(path: string, instanceId: string, guard: Protected): string | undefined {
  // An id is one folder name: `a/b` or `..` would point the "sibling" anywhere (inside the checkout, into HOME).
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(instanceId) || instanceId.includes('..'))
    return `${JSON.stringify(instanceId)} is not a sandbox id`;
  const why = protectedReason(path, guard);
  if (why) return why;
  const expected = join(dirname(norm(guard.mainCheckout)), instanceId);
  return norm(path) === expected ? undefined : `it is not ${expected}, the folder kinfra creates for ${instanceId}`;
}
