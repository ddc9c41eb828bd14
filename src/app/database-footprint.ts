// What destroy's question says of a sandbox's database: how big its live data is and how many snapshots go with it.
import { volumeBytes, volumeLabels } from '../adapters/postgres.js';
import { liveVolume, recordOf } from '../core/database/record.js';
import type { Registry } from '../core/registry/model.js';

/** Null when kinfra knows of no database for the project (it has never copied one) or its volume is gone. */
export async function databaseFootprint(registry: Registry, project: string) {
  const rec = recordOf(registry, project);
  if (!rec) return null;
  const live = liveVolume(project, rec.volume_key, rec);
  if ((await volumeLabels(live)) === undefined) return null;
  const bytes = rec.image ? await volumeBytes(live, rec.image).catch(() => null) : null;
  return { volume: live, bytes, snapshots: Object.keys(rec.snapshots).length };
}
