// What doctor sees of database copies, and what --repair does: volumes kinfra made for a copy that no record keeps
// (a copy killed before its switch), and marks of operations whose process is gone. Only volumes carrying this
// registry's owner label are ever looked at or removed.
import { processRuns } from '../adapters/processes.js';
import { helpersMounting, removeContainer, removeVolume, volumesLabelled } from '../adapters/postgres.js';
import { databaseRecords, DB_COPY_LABEL, referencedVolumes } from '../core/database/record.js';
import type { DatabaseFacts } from '../core/doctor.js';
import { OWNER_LABEL } from '../core/ownership.js';
import type { Registry } from '../core/registry/model.js';
import type { AppContext } from './context.js';
import { ownerIdOrNone } from './owner.js';

export async function databaseFacts(reg: Registry, owner: string): Promise<DatabaseFacts> {
  const referenced = referencedVolumes(reg, processRuns);
  const copies = (await volumesLabelled(DB_COPY_LABEL)).filter((v) => v.labels[OWNER_LABEL] === owner);
  return {
    leftovers: copies
      .filter((v) => !referenced.has(v.name))
      .map((v) => ({ volume: v.name, project: v.labels['com.docker.compose.project'] ?? '?' })),
    interrupted: Object.entries(databaseRecords(reg))
      .filter(([, r]) => r.pending && !processRuns(r.pending.pid))
      .map(([project, r]) => ({ project, op: r.pending!.op, pid: r.pending!.pid })),
  };
}

export async function removeDatabaseLeftovers(ctx: AppContext): Promise<{ done: boolean; note: string }> {
  // The marks first, under the lock: from then on their volumes are leftovers like any other.
  const cleared = await ctx.registry.update((r) => {
    let n = 0;
    for (const rec of Object.values(databaseRecords(r))) {
      if (rec.pending && !processRuns(rec.pending.pid)) {
        delete rec.pending;
        n++;
      }
    }
    return n;
  });
  const facts = await databaseFacts(await ctx.registry.snapshot(), await ownerIdOrNone(ctx));
  // A killed copy's helper may still be writing into its volume: it goes first (it is ours, by its labels).
  const helpers = await helpersMounting(await ownerIdOrNone(ctx), new Set(facts.leftovers.map((l) => l.volume)));
  for (const id of helpers) await removeContainer(id);
  for (const l of facts.leftovers) await removeVolume(l.volume);
  const parts = [
    ...(cleared > 0 ? [`cleared ${cleared} interrupted database operation(s)`] : []),
    ...(facts.leftovers.length > 0 ? [`removed ${facts.leftovers.map((l) => l.volume).join(', ')}`] : []),
  ];
  return { done: parts.length > 0, note: parts.join('; ') || 'nothing left to clean' };
}
