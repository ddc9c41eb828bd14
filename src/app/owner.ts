// The owner id for commands that only look, which must work even on a state folder that cannot be written.

import { derivedOwnerId, ownerId } from '../adapters/owner-id.js';
import { isKinfraError } from '../core/errors.js';
import type { AppContext } from './context.js';

/**
 * This kinfra state's owner id, for commands that only look (list, doctor, slots): on a state folder that cannot
 * be written, the id is still the derived one.
 */
export async function ownerIdOrNone(ctx: AppContext): Promise<string> {
  try {
    return await ownerId(ctx.paths.ownerId);
  } catch (e) {
    if (isKinfraError(e)) throw e;
    return derivedOwnerId(ctx.paths.ownerId);
  }
}
