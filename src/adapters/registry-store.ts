// The registry file (~/.ktrdr/sandboxes/registry.json) and the files kept beside it. Two ways in: `snapshot()` reads
// it as it is and never writes or moves anything; `update()` changes it under the lock (and is where a corrupt file
// is moved aside and the Python tool's file imported). `rebuild()` is doctor --repair's one locked step after a loss.
import { existsSync } from 'node:fs';
import { readdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { registryError, type KinfraError } from '../core/errors.js';
import {
  emptyRegistry,
  formatRegistry,
  parseRegistryText,
  salvageRegistryText,
  type Registry,
} from '../core/registry/model.js';
import { parsePythonRegistry } from '../core/registry/python.js';
import { readTextIfExists, withFileLock, writeTextAtomic } from './file-store.js';
import type { StatePaths } from './paths.js';

/** Moved-aside registries are named `registry.json.corrupt-<time>`; once rebuilt from, `.rebuilt` is added. */
const ASIDE = '.corrupt-';
const REBUILT = '.rebuilt';

/**
 * Signs that a registry existed and is gone: moved-aside files nothing was
 * rebuilt from, and copies of the Python tool's file taken when it was imported.
 */
export interface RegistryLoss {
  movedAside: string[];
  backups: string[];
}

/** The Python ktrdr's registry file, as kinfra sees it. */
export type PythonFile =
  | { state: 'absent'; file: string }
  | { state: 'unreadable'; file: string; reason: string; imported: boolean }
  /** kinfra's registry does not exist yet: the next command imports it. */
  | { state: 'pending'; file: string; registry: Registry; version: 1 | 2; text: string }
  /** Imported, and the same as the copy taken then. */
  | { state: 'imported'; file: string; backup: string; registry: Registry; version: 1 | 2 }
  /** Imported, and written since (the Python tool is still in use on this machine). */
  | { state: 'changed'; file: string; backup: string; registry: Registry; version: 1 | 2 }
  /** Never imported: kinfra's registry existed first. */
  | { state: 'not-imported'; file: string; registry: Registry; version: 1 | 2 };

/** registry.json as it is on disk. */
type OnDisk = { state: 'parsed'; registry: Registry } | { state: 'missing' } | { state: 'corrupt'; reason: string };

type PendingPython = Extract<PythonFile, { state: 'pending' }>;

/** What a rebuild starts from: every entry of the moved-aside files that is valid on its own. */
export interface RebuildSources {
  salvaged: Registry;
  /** Entries of the moved-aside files left out, with why. */
  dropped: string[];
  movedAside: string[];
  /** The Python file as imported (its folders name repositories to look in). */
  imported: Registry[];
}

/**
 * The registry on disk. `snapshot` is the one way to read it; `update` the one way to change it: lock, load,
 * change, write atomically, unlock. A file that does not parse is never read as an empty registry: `update` moves
 * it aside and stops, `snapshot` stops. While it is lost (missing after a registry existed) both refuse until
 * `rebuild` has run.
 */
export class RegistryStore {
  constructor(private readonly paths: StatePaths) {}

  get file(): string {
    return this.paths.registry;
  }

  /**
   * What the registry holds now, without the lock (every write is an atomic rename, so this is a whole version of
   * it) and without writing or moving anything. A registry that does not parse, or is lost, is an error, never an
   * empty registry; the Python tool's file, while it waits to be imported, is read in memory only.
   */
  async snapshot(): Promise<Registry> {
    const found = await this.readCurrent();
    if (found.state === 'parsed') return found.registry;
    if (found.state === 'corrupt') throw this.corruptError(found.reason);
    return (await this.startingPoint()).registry;
  }

  /**
   * Change the registry under the lock. `change` may mutate the registry it is
   * given and may return a value; the registry is written only when it changed.
   * `save` writes the registry as it is now, still under the lock: a long change
   * (create, destroy) records its intent first, so a crash midway leaves an entry
   * that says what was under way (doctor --repair finishes it).
   */
  async update<T>(
    change: (registry: Registry, save: () => Promise<void>) => T | Promise<T>,
    opts: { writeIfUnchanged?: boolean } = {},
  ): Promise<T> {
    return withFileLock(this.paths.registry, async (assertHeld) => {
      const { registry, migrated } = await this.load();
      const before = formatRegistry(registry);
      const save = async () => {
        assertHeld();
        await this.rememberRepositories(registry);
        await writeTextAtomic(this.paths.registry, formatRegistry(registry));
      };
      const result = await change(registry, save);
      const after = formatRegistry(registry);
      if (after !== before || migrated || opts.writeIfUnchanged) {
        assertHeld();
        await this.rememberRepositories(registry);
        await writeTextAtomic(this.paths.registry, after);
      }
      return result;
    });
  }

  /**
   * Rebuild a lost registry in one locked step, so no command can hand out a
   * slot between its parts. An unreadable registry.json is moved aside first.
   * `build` gets what the moved-aside files still hold and returns the whole
   * registry; it is written, and only then are the moved-aside files marked
   * rebuilt (killed in between, the registry is still lost and the next
   * rebuild starts again). Undefined when nothing is lost.
   */
  async rebuild<T>(
    build: (sources: RebuildSources) => Promise<{ registry: Registry; result: T }>,
  ): Promise<{ result: T; sources: RebuildSources } | undefined> {
    return withFileLock(this.paths.registry, async (assertHeld) => {
      const current = await this.readCurrent();
      if (current.state === 'parsed') return undefined;
      if (current.state === 'corrupt') await this.moveAside();
      const loss = await this.loss();
      if (!loss) return undefined;
      const sources = await this.rebuildSources(loss);
      const { registry, result } = await build(sources);
      assertHeld();
      await this.rememberRepositories(registry);
      await writeTextAtomic(this.paths.registry, formatRegistry(registry));
      for (const file of loss.movedAside) await rename(file, file + REBUILT).catch(() => undefined);
      return { result, sources };
    });
  }

  /** Every entry of the moved-aside files that is valid on its own (oldest file first), and the import copies. */
  private async rebuildSources(loss: RegistryLoss): Promise<RebuildSources> {
    const sources: RebuildSources = {
      salvaged: emptyRegistry(),
      dropped: [],
      movedAside: loss.movedAside,
      imported: [],
    };
    for (const file of loss.movedAside) {
      const found = salvageRegistryText((await readTextIfExists(file)) ?? '');
      // Oldest first: a later file's entry is the newer one.
      Object.assign(sources.salvaged.instances, found.registry.instances);
      Object.assign(sources.salvaged.slots, found.registry.slots);
      const name = basename(file);
      sources.dropped.push(...found.dropped.map((d) => `${name}: ${d}`));
      if (found.unreadable) sources.dropped.push(`${name}: ${found.unreadable}`);
    }
    for (const file of loss.backups) {
      const parsed = parsePythonRegistry((await readTextIfExists(file)) ?? '');
      if (parsed.ok) sources.imported.push(parsed.registry);
    }
    return sources;
  }

  /** Every repository a registry entry has named since this was kept, whether or not it still exists. */
  async knownRepositories(): Promise<string[]> {
    const text = await readTextIfExists(this.paths.repositories).catch(() => undefined);
    return (text ?? '').split('\n').filter((l) => l.startsWith('/'));
  }

  /**
   * Add the repositories `registry` names to the list kept beside it, before the registry itself is written (a kill
   * in between leaves one name too many, never one too few). Best effort: the list only says where to look after a
   * loss.
   */
  private async rememberRepositories(registry: Registry): Promise<void> {
    const known = await this.knownRepositories();
    const named = new Set(Object.values(registry.instances).map((e) => e.parent_repo));
    const added = [...named].filter((p) => p.startsWith('/') && !known.includes(p));
    if (added.length === 0) return;
    await writeTextAtomic(this.paths.repositories, [...known, ...added].join('\n') + '\n').catch(() => undefined);
  }

  /** Whether the registry is lost: registry.json is missing (or unreadable) although a registry existed. */
  async loss(): Promise<RegistryLoss | undefined> {
    const dir = dirname(this.paths.registry);
    const prefix = basename(this.paths.registry) + ASIDE;
    const names = await readdir(dir).catch(() => [] as string[]);
    const movedAside = names
      .filter((n) => n.startsWith(prefix) && !n.endsWith(REBUILT))
      .sort()
      .map((n) => join(dir, n));
    const backups = Object.values(this.paths.pythonBackups).filter((f) => existsSync(f));
    return movedAside.length > 0 || backups.length > 0 ? { movedAside, backups } : undefined;
  }

  /**
   * The Python tool's file: absent, unreadable, waiting to be imported, imported (changed since or not), or never
   * imported.
   */
  async python(): Promise<PythonFile> {
    const file = this.paths.pythonRegistry;
    const copies: { path: string; text: string | undefined }[] = [];
    for (const path of Object.values(this.paths.pythonBackups)) {
      copies.push({ path, text: await readTextIfExists(path).catch(() => undefined) });
    }
    const imported = copies.filter((c) => c.text !== undefined);
    let text: string | undefined;
    try {
      text = await readTextIfExists(file);
    } catch (e) {
      // A folder or a file this user cannot read: said so, never a reason for every command to fail.
      return { state: 'unreadable', file, reason: (e as Error).message, imported: imported.length > 0 };
    }
    if (text === undefined) return { state: 'absent', file };
    const parsed = parsePythonRegistry(text);
    if (!parsed.ok) return { state: 'unreadable', file, reason: parsed.reason, imported: imported.length > 0 };
    const { registry, version } = parsed;
    if (imported.length > 0) {
      // The copy taken at the import is the record of what was imported: the same bytes mean the file has not
      // changed.
      const same = imported.find((c) => c.text === text);
      return { state: same ? 'imported' : 'changed', file, backup: (same ?? imported[0]!).path, registry, version };
    }
    return existsSync(this.paths.registry)
      ? { state: 'not-imported', file, registry, version }
      : { state: 'pending', file, registry, version, text };
  }

  private async moveAside(): Promise<string> {
    const aside = `${this.paths.registry}${ASIDE}${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.paths.registry, aside).catch(() => undefined);
    return aside;
  }

  private lostError(loss: RegistryLoss): KinfraError {
    const why =
      loss.movedAside.length > 0
        ? `it could not be read and was moved to ${loss.movedAside.join(', ')}, and it has not been rebuilt since`
        : "a registry existed (kinfra imported Python ktrdr's registry into it; the copy taken then is " +
          `${loss.backups.join(', ')}) and it was removed since`;
    return registryError(
      'registry-lost',
      `The sandbox registry ${this.paths.registry} is missing: ${why}. ` +
        'No command hands out a slot until it is rebuilt, so no sandbox gets a slot that another one still holds.',
      'Run `kinfra sandbox doctor --repair`: it rebuilds the registry from what was moved aside, the .env.sandbox ' +
        "files of your repositories and the Docker engine's labels, then says what it registered.",
      { file: this.paths.registry, ...loss },
    );
  }

  private pythonError(reason: string): KinfraError {
    const file = this.paths.pythonRegistry;
    return registryError(
      'python-registry-unreadable',
      `Python ktrdr's registry ${file} cannot be imported: ${reason}.`,
      'kinfra imports it once, before it starts its own registry, and will not start from an empty one while that ' +
        'file may list sandboxes. Fix it (or let the Python tool write it again). If the Python tool is no longer ' +
        'used, move it away: its sandboxes keep their .env.sandbox files, and `kinfra sandbox init` in each folder ' +
        'registers them.',
      { file },
    );
  }

  /** registry.json as it is on disk: parsed, missing, or why it does not parse. */
  private async readCurrent(): Promise<OnDisk> {
    const text = await readTextIfExists(this.paths.registry);
    if (text === undefined) return { state: 'missing' };
    const parsed = parseRegistryText(text);
    return parsed.ok ? { state: 'parsed', registry: parsed.registry } : { state: 'corrupt', reason: parsed.reason };
  }

  /**
   * What a missing registry.json starts from: refused when it is lost (starting empty would hand out slots that
   * sandboxes on disk still hold) or when the Python tool's file cannot be imported; that file's registry while
   * it waits to be imported; otherwise empty (a new registry).
   */
  private async startingPoint(): Promise<{ registry: Registry; pending?: PendingPython }> {
    const loss = await this.loss();
    if (loss) throw this.lostError(loss);
    const py = await this.python();
    if (py.state === 'unreadable') throw this.pythonError(py.reason);
    return py.state === 'pending' ? { registry: py.registry, pending: py } : { registry: emptyRegistry() };
  }

  /** Under the lock: the registry to change. A corrupt file is moved aside here; the Python file is imported here. */
  private async load(): Promise<{ registry: Registry; migrated: boolean }> {
    const found = await this.readCurrent();
    if (found.state === 'parsed') return { registry: found.registry, migrated: false };
    if (found.state === 'corrupt') throw this.corruptError(found.reason, await this.moveAside());
    const start = await this.startingPoint();
    if (!start.pending) return { registry: start.registry, migrated: false };
    // The copy first: it records that the import happened and what was imported (a later change shows against it).
    await writeTextAtomic(this.paths.pythonBackups[start.pending.version], start.pending.text);
    return { registry: start.registry, migrated: true };
  }

  /** A registry.json that does not parse: moved aside by `update` (`movedTo`), only reported by `snapshot`. */
  private corruptError(reason: string, movedTo?: string): KinfraError {
    const file = this.paths.registry;
    if (movedTo === undefined) {
      return registryError(
        'registry-corrupt',
        `The sandbox registry ${file} cannot be read: ${reason}.`,
        'Run `kinfra sandbox doctor --repair`: it moves it aside and registers the sandboxes on disk again.',
      );
    }
    return registryError(
      'registry-corrupt',
      `The sandbox registry ${file} cannot be read: ${reason}. It was moved to ${movedTo}.`,
      'Your sandboxes and their .env.sandbox files are untouched. Run `kinfra sandbox doctor --repair`: it rebuilds ' +
        "the registry from the moved file, the .env.sandbox files and the engine's labels. Until then no command " +
        'hands out a slot.',
      { file, movedTo },
    );
  }
}
