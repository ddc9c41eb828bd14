import { existsSync } from 'node:fs';
import type { Registry } from '../core/registry/model.js';

/** Drop entries whose folder is gone (seed 000: cleaned on list); returns their ids. */
export function removeStaleEntries(registry: Registry): string[] {
  const stale = Object.entries(registry.instances)
    .filter(([, e]) => !existsSync(e.path))
    .map(([id]) => id);
  for (const id of stale) delete registry.instances[id];
  return stale;
}
