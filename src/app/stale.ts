// Drops registry entries whose folder is gone, and frees the pool slots they had claimed.

import { pathExists } from '../adapters/folders.js';
import type { Registry } from '../core/registry/model.js';

/** Drop entries whose folder is gone (seed 000: cleaned on list); returns their ids. */
export function removeStaleEntries(registry: Registry): string[] {
  const stale = Object.entries(registry.instances)
    .filter(([, e]) => !pathExists(e.path))
    .map(([id]) => id);
  for (const id of stale) delete registry.instances[id];
  // A pool slot claimed by a sandbox that is gone is free again (its volumes are reset at the next claim).
  for (const slot of Object.values(registry.slots)) {
    if (slot.claimed_by && !registry.instances[slot.claimed_by]) {
      slot.claimed_by = null;
      slot.claimed_at = null;
    }
  }
  return stale;
}
