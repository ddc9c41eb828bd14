// `kinfra sandbox doctor`: what is wrong, in plain findings, each with the one command that fixes it and, when it can
// be fixed without losing anything, the repair `--repair` applies. Pure: the app layer gathers the facts.

import { releaseMark } from './pool.js';
import { adHocHolder } from './slot-lease.js';
import type { InstanceEntry, Registry } from './registry/model.js';

export type CheckName =
  | 'engine'
  | 'compose'
  | 'registry'
  | 'leftovers'
  | 'interrupted'
  | 'entries'
  | 'unregistered'
  | 'claims'
  | 'pool'
  | 'env-files'
  | 'orphans'
  | 'foreign'
  | 'ports'
  | 'shared'
  | 'python'
  | 'focus'
  | 'databases';

export type Repair =
  | { kind: 'rebuild-registry' }
  | { kind: 'remove-leftover'; path: string }
  | { kind: 'drop-entry'; instanceId: string }
  | { kind: 'finish-create'; instanceId: string }
  | { kind: 'finish-destroy'; instanceId: string }
  | { kind: 'register'; path: string }
  | { kind: 'release-claim'; slot: number }
  | { kind: 'provision' }
  | { kind: 'remove-slot-dir'; slot: number; path: string }
  | { kind: 'rewrite-env'; instanceId: string }
  | { kind: 'finish-release'; slot: number }
  | { kind: 'clear-focus'; pid: number }
  | { kind: 'remove-database-leftovers' };

export interface Finding {
  check: CheckName;
  status: 'ok' | 'warn' | 'problem';
  message: string;
  /** The command that fixes it (for the user), when there is one. */
  fix?: string;
  /** What --repair does about it; absent when only the user can decide. */
  repair?: Repair;
}

/** A sandbox folder found on disk (by its .env.sandbox) or through the Engine's labels. */
export interface DiskSandbox {
  path: string;
  instanceId: string;
  /** undefined only when `unusable` (no readable slot number). */
  slot: number | undefined;
  poolSlot: number | undefined;
  /**
   * Where it was found: a worktree of a known repository, a sibling folder, or a compose project's working_dir label.
   */
  foundBy: 'worktree' | 'sibling' | 'engine';
  /** Why its .env.sandbox cannot be registered as it is (a slot or port out of range): reported, never repaired. */
  unusable?: string | undefined;
}

export interface InstanceFacts {
  instanceId: string;
  entry: InstanceEntry;
  folderExists: boolean;
  /** The folder is still a git checkout (a killed `git worktree remove` leaves a part of one). */
  isCheckout: boolean;
  /**
   * What its .env.sandbox says: undefined when missing, a string saying why it is
   * unusable (unreadable, a value out of range).
   */
  env: { instanceId: string; slot: number; project: string | undefined } | string | undefined;
  /** How its values (ports included) differ from the registry's, when they do. */
  disagreement?: string | undefined;
}

export interface ProjectRow {
  project: string;
  containers: number;
  running: number;
  volumes: string[];
  networks: string[];
}

/** The engine's compose projects by owner: this kinfra's that nothing registers, and anyone else's. */
export interface ProjectFacts {
  orphans: ProjectRow[];
  foreign: (ProjectRow & { owner: 'other-kinfra' | 'unlabelled'; path: string | null })[];
}

export interface PortHolding {
  instanceId: string;
  port: number;
  env: string;
  holder: string;
}

/** The Python ktrdr's registry (~/.ktrdr/sandbox/instances.json), when there is one. */
export type PythonFacts =
  | {
      file: string;
      state: 'unreadable';
      reason: string;
      imported: boolean;
      /** kinfra refuses to start its registry without it. */ blocking: boolean;
    }
  | {
      file: string;
      /**
       * pending: imported by the next command; changed: written since the import;
       * not-imported: kinfra's registry came first.
       */
      state: 'pending' | 'imported' | 'changed' | 'not-imported';
      version: 1 | 2;
      /** The copy taken at the import. */
      backup: string | undefined;
      sandboxes: number;
      /** The slots it lists (its instances' and its claimed pool slots). */
      held: { slot: number; instanceId: string }[];
    };

export interface DoctorFacts {
  engine: { ok: true; detail: string } | { ok: false; message: string; hint: string | undefined };
  compose: { ok: true; detail: string } | { ok: false; message: string; hint: string | undefined };
  registryFile: string;
  /**
   * The registry, or why it cannot be read: `unreadable` when not even its bytes can
   * be (a folder in its place, no permission).
   */
  registry: { ok: true; value: Registry } | { ok: false; reason: string; unreadable?: boolean };
  python?: PythonFacts | undefined;
  /** Temp files of killed atomic writes, lock folders nobody renews. */
  leftovers: { path: string; what: string }[];
  instances: InstanceFacts[];
  unregistered: DiskSandbox[];
  /** Pool slot folders on disk (slot-N under the state folder), and whether each still has its compose file. */
  slotDirs: { slot: number; path: string; hasCompose: boolean }[];
  /** Pool slots marked as being released whose releasing process still runs (the others were killed midway). */
  liveReleases: number[];
  /** Compose projects on the engine by owner; undefined when the Engine could not be asked. */
  projects: ProjectFacts | undefined;
  ports: PortHolding[];
  shared: { path: string; exists: boolean }[];
  /**
   * The registry's focus record (kinfra sandbox focus), when it has one: whether its forwarder runs (proven by its
   * command line) and its sandbox is still registered.
   */
  focus?: FocusFacts | undefined;
  /** What killed database copies left: volumes no record keeps, and marks of operations whose process is gone. */
  databases?: DatabaseFacts | undefined;
}

export interface DatabaseFacts {
  leftovers: { volume: string; project: string }[];
  interrupted: { project: string; op: string; pid: number }[];
}

export interface FocusFacts {
  instance: string;
  pid: number;
  since: string;
  forwarderRuns: boolean;
  registered: boolean;
}

const ok = (check: CheckName, message: string): Finding => ({ check, status: 'ok', message });

export function diagnose(f: DoctorFacts): Finding[] {
  const out: Finding[] = [];
  out.push(
    f.engine.ok
      ? ok('engine', `Docker engine reachable (${f.engine.detail})`)
      : {
          check: 'engine',
          status: 'problem',
          message: f.engine.message,
          fix: f.engine.hint ?? 'Start Docker and run doctor again.',
        },
  );
  out.push(
    f.compose.ok
      ? ok('compose', `Compose found (${f.compose.detail})`)
      : {
          check: 'compose',
          status: 'problem',
          message: f.compose.message,
          fix: f.compose.hint ?? 'Install Docker Compose v2.',
        },
  );

  if (!f.registry.ok && f.registry.unreadable) {
    // The store cannot move aside what it cannot read: only the user can say what that folder or file is.
    out.push({
      check: 'registry',
      status: 'problem',
      message: `The registry cannot be read, nor moved aside by doctor --repair: ${f.registry.reason}`,
      fix:
        `Look at ${f.registryFile}, move it aside (mv ${f.registryFile} ${f.registryFile}.aside), ` +
        `then run kinfra sandbox doctor --repair`,
    });
  } else if (!f.registry.ok) {
    out.push({
      check: 'registry',
      status: 'problem',
      message: `The registry ${f.registryFile} cannot be read: ${f.registry.reason}.`,
      fix: 'kinfra sandbox doctor --repair (moves it aside and rebuilds it from the sandboxes on disk)',
      repair: { kind: 'rebuild-registry' },
    });
  } else if (f.python?.state === 'unreadable' && f.python.blocking) {
    out.push({
      check: 'registry',
      status: 'problem',
      message:
        `There is no registry ${f.registryFile} yet, and kinfra will not start one: ` +
        `Python ktrdr's registry ${f.python.file}, ` +
        `which it imports first, cannot be read: ${f.python.reason}. Every command stops (exit 6) until it can.`,
      fix:
        `Fix ${f.python.file} (or let the Python tool write it again); if that tool is no longer used, ` +
        `move the file away and run kinfra sandbox init in each of its sandboxes`,
    });
  } else {
    const r = f.registry.value;
    out.push(
      ok(
        'registry',
        `Registry parses: ${Object.keys(r.instances).length} sandbox(es), ${Object.keys(r.slots).length} pool slot(s)`,
      ),
    );
    out.push(...clashes(r));
  }
  if (f.python) out.push(...pythonFindings(f.python));
  for (const l of f.leftovers) {
    out.push({
      check: 'leftovers',
      status: 'warn',
      message: `${l.what}: ${l.path}`,
      fix: `rm -rf ${l.path}`,
      repair: { kind: 'remove-leftover', path: l.path },
    });
  }
  out.push(...instanceFindings(f));
  for (const d of f.unregistered) {
    const where =
      d.foundBy === 'engine'
        ? 'a compose project runs from it'
        : d.foundBy === 'worktree'
          ? 'a worktree with a .env.sandbox'
          : 'a folder with a .env.sandbox';
    if (d.unusable) {
      out.push({
        check: 'unregistered',
        status: 'problem',
        message:
          `${d.path} has the .env.sandbox of ${d.instanceId} but no registry entry (${where}), ` +
          `and cannot be registered from it: ${d.unusable}.`,
        fix:
          `Look at ${d.path}/.env.sandbox; to make the folder a sandbox on a free slot: ` +
          `cd ${d.path} && rm .env.sandbox && kinfra sandbox init`,
      });
      continue;
    }
    out.push({
      check: 'unregistered',
      status: 'problem',
      message:
        `${d.path} is the sandbox ${d.instanceId} (slot ${d.slot}${d.poolSlot ? ', pool' : ''}) ` +
        `but has no registry entry (${where}).`,
      fix: `cd ${d.path} && kinfra sandbox init`,
      repair: { kind: 'register', path: d.path },
    });
  }
  if (f.registry.ok) out.push(...poolFindings(f.registry.value, f.slotDirs, f.liveReleases));
  out.push(...orphanFindings(f));
  for (const p of f.ports) {
    out.push({
      check: 'ports',
      status: 'warn',
      message: `Port ${p.port} (${p.env}) of ${p.instanceId} is held by ${p.holder}.`,
      fix:
        `Stop ${p.holder}, or move ${p.instanceId} to a free slot N: ` +
        `kinfra sandbox destroy ${p.instanceId} --keep-worktree --yes && cd <its folder> && kinfra sandbox init ` +
        `--slot N (destroy also removes its volumes)`,
    });
  }
  if (f.focus) out.push(focusFinding(f.focus));
  if (f.databases) out.push(...databaseFindings(f.databases));
  for (const s of f.shared.filter((x) => !x.exists)) {
    out.push({
      check: 'shared',
      status: 'warn',
      message: `Shared data folder ${s.path} is missing.`,
      fix: 'kinfra sandbox init-shared',
    });
  }
  for (const check of Object.keys(OK_TEXT) as (keyof typeof OK_TEXT)[]) {
    if (!out.some((x) => x.check === check) && f.registry.ok && (check !== 'orphans' || f.projects))
      out.push(ok(check, OK_TEXT[check]));
  }
  return out;
}

const OK_TEXT = {
  entries: 'Every registered sandbox folder exists',
  unregistered: 'No unregistered sandbox folders found',
  claims: 'Every pool claim belongs to a registered sandbox',
  'env-files': 'Every .env.sandbox agrees with the registry',
  orphans: 'No orphaned compose projects, volumes or networks',
  ports: 'No sandbox port is held by anything else',
  shared: 'Shared data folders present',
} as const satisfies Partial<Record<CheckName, string>>;

/** Two entries on one slot: the allocator never does this; a hand edit or a merge of registries can. */
function clashes(r: Registry): Finding[] {
  const bySlot = new Map<number, string[]>();
  for (const [id, e] of Object.entries(r.instances)) {
    if (e.pool_slot !== undefined) continue;
    bySlot.set(e.slot, [...(bySlot.get(e.slot) ?? []), id]);
  }
  return [...bySlot]
    .filter(([slot, ids]) => ids.length > 1 || r.slots[String(slot)] !== undefined)
    .map(([slot, ids]) => ({
      check: 'registry' as const,
      status: 'problem' as const,
      message:
        `Slot ${slot} is registered ` +
        `to ${ids.length > 1 ? `several sandboxes: ${ids.join(', ')}` : `${ids[0]} and is also a pool slot`}.`,
      fix:
        `Destroy one of them with --keep-worktree and run kinfra sandbox init in its folder ` +
        `to move it to a free slot.`,
    }));
}

/** What the Python tool's file means for kinfra: imported, changed since (its slots are kept free), or unreadable. */
function pythonFindings(p: PythonFacts): Finding[] {
  if (p.state === 'unreadable') {
    if (p.blocking) return []; // the registry finding says it
    return [
      {
        check: 'python',
        status: 'warn',
        message:
          `Python ktrdr's registry ${p.file} cannot be read: ${p.reason}. ` +
          `${p.imported ? 'It was imported before; ' : "It was never imported (kinfra's registry came first); "}the ` +
          `slots it lists now cannot be kept free.`,
        fix: `Fix ${p.file} (or let the Python tool write it again), or move it away if that tool is no longer used`,
      },
    ];
  }
  const what = `Python ktrdr's registry ${p.file} (version ${p.version}, ${p.sandboxes} sandbox(es))`;
  const held = p.held.map((h) => `slot ${h.slot} (${h.instanceId})`).join(', ');
  switch (p.state) {
    case 'pending':
      return [ok('python', `${what} is imported by the next command that reads the registry`)];
    case 'imported':
      return [ok('python', `${what} was imported (copy: ${p.backup}) and has not changed since`)];
    case 'changed':
    case 'not-imported': {
      const why =
        p.state === 'changed'
          ? `has changed since kinfra imported it (copy: ${p.backup}): the Python tool is still in use on this machine`
          : "was never imported: kinfra's registry came first";
      if (p.held.length === 0) return [ok('python', `${what} ${why}; it lists no slot`)];
      return [
        {
          check: 'python',
          status: 'warn',
          message: `${what} ${why}. kinfra keeps the slots it lists free: ${held}.`,
          fix:
            `Use one tool per machine: register its sandboxes with kinfra (cd <folder> && kinfra sandbox init), ` +
            `then move ${p.file} away`,
        },
      ];
    }
  }
}

function instanceFindings(f: DoctorFacts): Finding[] {
  const out: Finding[] = [];
  for (const i of f.instances) {
    const { instanceId: id, entry: e } = i;
    if (e.state === 'creating') {
      out.push({
        check: 'interrupted',
        status: 'problem',
        message: `kinfra sandbox create ${id} did not finish (it was killed or crashed).`,
        fix: `kinfra sandbox doctor --repair (completes it), then kinfra sandbox destroy ${id} if you do not want it`,
        repair: { kind: 'finish-create', instanceId: id },
      });
      continue;
    }
    if (e.state === 'destroying' || e.state === 'removing-worktree') {
      out.push({
        check: 'interrupted',
        status: 'problem',
        message: `kinfra sandbox destroy ${id} did not finish (it was killed or crashed).`,
        fix: `kinfra sandbox destroy ${id}`,
        repair: { kind: 'finish-destroy', instanceId: id },
      });
      continue;
    }
    if (!i.folderExists) {
      out.push({
        check: 'entries',
        status: 'problem',
        message: `${id} is registered but its folder ${e.path} no longer exists.`,
        fix: 'kinfra sandbox list (removes entries whose folder is gone)',
        repair: { kind: 'drop-entry', instanceId: id },
      });
      continue;
    }
    if (!i.isCheckout) {
      out.push({
        check: 'entries',
        status: 'problem',
        message: `${id}: ${e.path} exists but is no longer a git checkout.`,
        fix: `Inspect ${e.path}; then kinfra sandbox destroy ${id} --keep-worktree to unregister it`,
      });
      continue;
    }
    const wantProject = e.compose_project ?? id;
    const env = i.env;
    const why =
      env === undefined
        ? 'it is missing'
        : typeof env === 'string'
          ? env
          : env.instanceId !== id
            ? `it names the instance ${env.instanceId}`
            : env.slot !== e.slot
              ? `it names slot ${env.slot}, the registry slot ${e.slot}`
              : env.project !== undefined && env.project !== wantProject
                ? `it names the compose project ${env.project}, not ${wantProject}`
                : i.disagreement;
    if (why) {
      out.push({
        check: 'env-files',
        status: 'problem',
        message: `The .env.sandbox of ${id} disagrees with the registry: ${why}.`,
        fix: 'kinfra sandbox doctor --repair (writes it again from the registry)',
        repair: { kind: 'rewrite-env', instanceId: id },
      });
    }
  }
  return out;
}

function poolFindings(r: Registry, slotDirs: DoctorFacts['slotDirs'], liveReleases: readonly number[]): Finding[] {
  const out: Finding[] = [];
  for (const s of Object.values(r.slots)) {
    const release = releaseMark(s);
    if (release && !liveReleases.includes(s.slot_id)) {
      out.push({
        check: 'claims',
        status: 'problem',
        message:
          `Pool slot ${s.slot_id} is marked as being released${release.pid ? ` by kinfra pid ${release.pid}` : ''}, ` +
          `which no longer runs: ` +
          `a release was interrupted${release.from ? ` (it was freeing the claim of ${release.from})` : ''}; ` +
          `no claim can take the slot until it is finished.`,
        fix:
          `kinfra sandbox doctor --repair (finishes it), or kinfra sandbox ` +
          `release ${s.slot_id}${release.from ? ' -f' : ''}`,
        repair: { kind: 'finish-release', slot: s.slot_id },
      });
    }
    if (s.claimed_by && !r.instances[s.claimed_by]) {
      out.push({
        check: 'claims',
        status: 'problem',
        message: `Pool slot ${s.slot_id} is claimed by ${s.claimed_by}, which is not registered.`,
        fix: `kinfra sandbox release ${s.slot_id}`,
        repair: { kind: 'release-claim', slot: s.slot_id },
      });
    }
    const dir = slotDirs.find((d) => d.slot === s.slot_id);
    if (!dir || !dir.hasCompose) {
      out.push({
        check: 'pool',
        status: 'problem',
        message: dir
          ? `Pool slot ${s.slot_id} is registered but its folder ${dir.path} has lost its docker-compose.yml.`
          : `Pool slot ${s.slot_id} is registered but its folder ${s.infrastructure_path} is missing.`,
        fix: 'kinfra sandbox provision',
        repair: { kind: 'provision' },
      });
    }
  }
  for (const d of slotDirs.filter((x) => !r.slots[String(x.slot)])) {
    const adHoc = adHocHolder(r, d.slot);
    out.push(
      adHoc !== undefined
        ? {
            check: 'pool',
            status: 'problem',
            message:
              `Pool slot folder ${d.path} is left from an interrupted provision; ` +
              `slot ${d.slot} now belongs to the sandbox ${adHoc}.`,
            fix: `rm -r ${d.path}`,
            repair: { kind: 'remove-slot-dir', slot: d.slot, path: d.path },
          }
        : {
            check: 'pool',
            status: 'problem',
            message: `Pool slot folder ${d.path} has no registry entry (an interrupted provision?).`,
            fix: 'kinfra sandbox provision',
            repair: { kind: 'provision' },
          },
    );
  }
  return out;
}

function orphanFindings(f: DoctorFacts): Finding[] {
  if (!f.projects || !f.registry.ok) return [];
  const lost = new Set(f.unregistered.map((d) => d.instanceId));
  const orphans = f.projects.orphans
    .filter((p) => !lost.has(p.project))
    .map((p) => ({
      check: 'orphans' as const,
      status: 'warn' as const,
      message:
        `Compose project ${p.project} carries this kinfra's owner label but belongs to no ` +
        `sandbox: ${p.containers} container(s) ` +
        `(${p.running} running), ${p.volumes.length} volume(s), ${p.networks.length} network(s). Its volumes may ` +
        `hold data, so doctor leaves it.`,
      fix: `docker compose -p ${p.project} down --volumes (after checking nothing in it is needed)`,
    }));
  // Someone else's: named, never offered for removal.
  const foreign = f.projects.foreign
    .filter((p) => !lost.has(p.project))
    .map((p) => ({
      check: 'foreign' as const,
      status: 'ok' as const,
      message:
        `Compose project ${p.project} is ` +
        (p.owner === 'other-kinfra' ? "another kinfra's sandbox" : 'unlabelled (an older kinfra or another tool)') +
        `${p.path ? ` (${p.path})` : ''}: ${p.containers} container(s), ${p.volumes.length} volume(s); ` +
        `kinfra leaves it alone.`,
    }));
  return [...orphans, ...foreign];
}

/**
 * The focus: live, or a stale record (its forwarder is gone, or its sandbox is): nothing forwards then, and `list`
 * shows no focus, but the record stays until `focus --off` (or the next focus) clears it.
 */
function focusFinding(f: FocusFacts): Finding {
  if (f.forwarderRuns && f.registered)
    return ok('focus', `The main checkout's ports forward to ${f.instance} (forwarder pid ${f.pid}, since ${f.since})`);
  const running = f.forwarderRuns ? ' (its forwarder, still running, stops by itself)' : '';
  const why = f.registered
    ? `its forwarder (pid ${f.pid}) no longer runs`
    : `${f.instance} is no longer registered${running}`;
  return {
    check: 'focus',
    status: 'warn',
    message:
      `The registry records a focus on ${f.instance} (since ${f.since}), but ${why}: ` +
      `the main checkout's ports forward to nothing.`,
    fix: 'kinfra sandbox focus --off (clears the record), or kinfra sandbox focus <name> to focus again',
    repair: { kind: 'clear-focus', pid: f.pid },
  };
}

/** The findings that still need someone: problems and warnings. */
export function openFindings(findings: readonly Finding[]): Finding[] {
  return findings.filter((x) => x.status !== 'ok');
}

/** Leftovers of database copies that were killed midway: the live data is untouched (the switch never happened). */
function databaseFindings(f: DatabaseFacts): Finding[] {
  const repair: Repair = { kind: 'remove-database-leftovers' };
  const out: Finding[] = f.interrupted.map((i) => ({
    check: 'databases',
    status: 'warn',
    message: `A database ${i.op} of ${i.project} (pid ${i.pid}) was killed midway; its data is as it was before.`,
    fix: 'kinfra sandbox doctor --repair (clears the mark and removes what the copy left)',
    repair,
  }));
  for (const l of f.leftovers) {
    out.push({
      check: 'databases',
      status: 'warn',
      message: `Volume ${l.volume} is a database copy for ${l.project} that no record keeps (left by a killed copy).`,
      fix: 'kinfra sandbox doctor --repair (removes it)',
      repair,
    });
  }
  return out;
}
