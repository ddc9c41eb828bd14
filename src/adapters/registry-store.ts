import { rename } from 'node:fs/promises';
import { registryError } from '../core/errors.js';
import {
  emptyRegistry,
  formatRegistry,
  migrateV1Text,
  parseRegistryText,
  type Registry,
} from '../core/registry/model.js';
import { readTextIfExists, withFileLock, writeTextAtomic } from './file-store.js';
import type { StatePaths } from './paths.js';

/**
 * The registry on disk. `update` is the only way to change it: lock, read,
 * change, write atomically, unlock. A file that does not parse is moved aside and
 * reported; it is never read as an empty registry.
 */
export class RegistryStore {
  constructor(private readonly paths: StatePaths) {}

  get file(): string {
    return this.paths.registry;
  }

  /** What the registry holds, writing nothing at all (for --dry-run): a v1 file is migrated in memory only. */
  async peek(): Promise<Registry> {
    const text = await readTextIfExists(this.paths.registry);
    if (text !== undefined) {
      const parsed = parseRegistryText(text);
      if (!parsed.ok) throw registryError('registry-corrupt', `The sandbox registry ${this.paths.registry} cannot be read: ${parsed.reason}.`,
        'Run `kinfra sandbox doctor --repair`: it moves it aside and registers the sandboxes on disk again.');
      return parsed.registry;
    }
    const v1 = await readTextIfExists(this.paths.registryV1);
    const done = (await readTextIfExists(this.paths.registryV1Backup)) !== undefined;
    const migrated = v1 === undefined || done ? undefined : migrateV1Text(v1);
    return migrated?.ok ? migrated.registry : emptyRegistry();
  }

  /** A consistent snapshot without taking the lock (writes are atomic renames). */
  async read(): Promise<Registry> {
    const text = await readTextIfExists(this.paths.registry);
    if (text !== undefined) {
      const parsed = parseRegistryText(text);
      if (parsed.ok) return parsed.registry;
    }
    // Missing, corrupt or still v1: settle it under the lock.
    return this.update((r) => r, { writeIfUnchanged: false });
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
        await writeTextAtomic(this.paths.registry, formatRegistry(registry));
      };
      const result = await change(registry, save);
      const after = formatRegistry(registry);
      if (after !== before || migrated || opts.writeIfUnchanged) {
        assertHeld();
        await writeTextAtomic(this.paths.registry, after);
      }
      return result;
    });
  }

  private async load(): Promise<{ registry: Registry; migrated: boolean }> {
    const text = await readTextIfExists(this.paths.registry);
    if (text !== undefined) {
      const parsed = parseRegistryText(text);
      if (parsed.ok) return { registry: parsed.registry, migrated: false };
      const aside = `${this.paths.registry}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.paths.registry, aside).catch(() => undefined);
      throw registryError(
        'registry-corrupt',
        `The sandbox registry ${this.paths.registry} cannot be read: ${parsed.reason}. It was moved to ${aside}.`,
        'Your sandboxes and their .env.sandbox files are untouched. Run `kinfra sandbox doctor --repair` to ' +
          'register them again on the slots their .env.sandbox files name (or `kinfra sandbox init` inside each folder).',
        { file: this.paths.registry, movedTo: aside },
      );
    }
    const v1 = await readTextIfExists(this.paths.registryV1);
    // Migrated once already (its backup exists): the v2 file was lost or moved aside since, and the
    // old v1 data is out of date. Start empty; doctor --repair rebuilds from the sandboxes on disk.
    if (v1 === undefined || (await readTextIfExists(this.paths.registryV1Backup)) !== undefined) return { registry: emptyRegistry(), migrated: false };
    const parsed = migrateV1Text(v1);
    if (!parsed.ok) {
      throw registryError('registry-v1-corrupt', `The version 1 registry ${this.paths.registryV1} cannot be migrated: ${parsed.reason}.`,
        `Fix or remove ${this.paths.registryV1}; kinfra will not start from an empty registry while it is there.`);
    }
    await writeTextAtomic(this.paths.registryV1Backup, v1);
    return { registry: parsed.registry, migrated: true };
  }
}

