// The sandboxes nearest a folder that is in none, so an agent that asked from the wrong place learns where to go:
// the sandboxes of the repository whose main checkout holds the folder first, else those sharing the deepest folder.
import { sep } from 'node:path';

export interface Nearby {
  instanceId: string;
  slot: number;
  path: string;
}

interface Candidate {
  slot: number;
  path: string;
  parent_repo: string;
}

const parts = (p: string) => p.split(sep).filter(Boolean);

/** How many leading folders two absolute paths share. */
function sharedDepth(a: string, b: string): number {
  const [x, y] = [parts(a), parts(b)];
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return i;
}

const inside = (folder: string, root: string) => root !== '' && sharedDepth(folder, root) === parts(root).length;

export function nearestSandboxes(folder: string, instances: Record<string, Candidate>, limit = 5): Nearby[] {
  const all = Object.entries(instances).map(([instanceId, e]) => ({ instanceId, slot: e.slot, path: e.path, e }));
  const sameRepo = all.filter((c) => inside(folder, c.e.parent_repo));
  let chosen = sameRepo;
  if (chosen.length === 0) {
    const depth = Math.max(0, ...all.map((c) => sharedDepth(folder, c.path)));
    chosen = depth === 0 ? [] : all.filter((c) => sharedDepth(folder, c.path) === depth);
  }
  return chosen
    .sort((a, b) => a.slot - b.slot || a.instanceId.localeCompare(b.instanceId))
    .slice(0, limit)
    .map(({ instanceId, slot, path }) => ({ instanceId, slot, path }));
}
