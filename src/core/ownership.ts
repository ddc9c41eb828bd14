// Who owns a resource on the Docker Engine. The engine is machine-wide: other users, other HOMEs and other tools run
// compose projects on it, some under the very names kinfra uses. kinfra therefore never decides by name alone: every
// container, volume and network it starts carries labels naming the registry that owns it (a stable id of one kinfra
// state) and the sandbox, and kinfra stops, removes or deletes only what carries its own.

export const OWNER_LABEL = 'dev.kinfra.owner';
export const SANDBOX_LABEL = 'dev.kinfra.sandbox';
export const PATH_LABEL = 'dev.kinfra.path';

/** The identity stamped on a sandbox's resources (a pool slot's are stamped with the slot's project and folder). */
export interface Stamp {
  owner: string;
  /** The compose project: the instance id, or a pool slot's project. */
  sandbox: string;
  path: string;
}

export function stampLabels(s: Stamp): Record<string, string> {
  return { [OWNER_LABEL]: s.owner, [SANDBOX_LABEL]: s.sandbox, [PATH_LABEL]: s.path };
}

/** What the engine tells about one resource that matters for ownership. */
export interface Labelled {
  kind: 'container' | 'volume' | 'network';
  name: string;
  project: string | undefined;
  labels: Readonly<Record<string, string>>;
  /** Containers: the folder compose ran in (com.docker.compose.project.working_dir). */
  workingDir?: string | undefined;
  /** Volumes: when the engine created it (with the name, proof that it is the one kinfra adopted). */
  createdAt?: string | undefined;
}

/**
 * - ours: carries this registry's owner label and this sandbox's label.
 * - legacy: made before kinfra labelled its resources, and provably this sandbox's: a container compose ran from
 *   the sandbox's folder, or a volume the registry adopted (same name and creation time).
 * - unproven: unlabelled, in the sandbox's project, but nothing proves whose it is (ask before removing it).
 * - foreign: carries another owner (another kinfra on this machine), or our owner with another sandbox's label.
 */
export type Ownership = 'ours' | 'legacy' | 'unproven' | 'foreign';

export interface Claim {
  owner: string;
  sandbox: string;
  /** The folder compose runs the sandbox from. */
  composeDir: string;
  /** Volumes adopted at an `up` (name -> engine creation time). */
  adopted: Readonly<Record<string, string>>;
}

export function ownershipOf(r: Labelled, claim: Claim): Ownership {
  const owner = r.labels[OWNER_LABEL];
  if (owner !== undefined && owner !== '') {
    return owner === claim.owner && r.labels[SANDBOX_LABEL] === claim.sandbox ? 'ours' : 'foreign';
  }
  if (r.kind === 'container' && r.workingDir !== undefined && r.workingDir === claim.composeDir) return 'legacy';
  if (r.kind === 'volume' && claim.adopted[r.name] !== undefined && claim.adopted[r.name] === (r.createdAt ?? ''))
    return 'legacy';
  return 'unproven';
}

export interface ProjectInventory {
  ours: Labelled[];
  legacy: Labelled[];
  unproven: Labelled[];
  foreign: Labelled[];
}

/** Sort the resources of one compose project by whose they are. */
export function inventory(resources: readonly Labelled[], claim: Claim): ProjectInventory {
  const inv: ProjectInventory = { ours: [], legacy: [], unproven: [], foreign: [] };
  for (const r of resources) inv[ownershipOf(r, claim)].push(r);
  return inv;
}

/** The folder another kinfra's sandbox runs from, as its labels say (for messages). */
export function foreignFolder(resources: readonly Labelled[]): string | undefined {
  for (const r of resources) {
    const p = r.labels[PATH_LABEL] ?? r.workingDir;
    if (p) return p;
  }
  return undefined;
}

/** How kinfra sees a whole compose project on the engine, for list and doctor. */
export type ProjectOwner =
  | { kind: 'this'; sandbox: string }
  | { kind: 'other-kinfra'; path: string | undefined }
  | { kind: 'unlabelled'; path: string | undefined };

/** Whose project is it? By its labels; a project mixing owners counts as another kinfra's (never an orphan). */
export function projectOwner(resources: readonly Labelled[], owner: string): ProjectOwner {
  const labelled = resources.filter((r) => (r.labels[OWNER_LABEL] ?? '') !== '');
  const others = labelled.filter((r) => r.labels[OWNER_LABEL] !== owner);
  if (others.length > 0) return { kind: 'other-kinfra', path: foreignFolder(others) };
  if (labelled.length > 0) return { kind: 'this', sandbox: labelled[0]!.labels[SANDBOX_LABEL] ?? '' };
  return { kind: 'unlabelled', path: foreignFolder(resources) };
}
