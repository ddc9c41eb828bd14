// Where kinfra keeps its state. Everything hangs off the home folder (HOME), so a test or an agent can point kinfra at
// a scratch state by setting HOME.

import { homedir } from 'node:os';
import { join } from 'node:path';

export interface StatePaths {
  home: string;
  stateDir: string;
  /** Version 2 registry (seed 004). */
  registry: string;
  /** The Python ktrdr's registry (version 1, or version 2 since its slot pool), imported once. */
  pythonRegistry: string;
  /**
   * Copies of the Python file as it was when kinfra imported it, by the version it had: written before
   * the import, they say an import happened (a registry existed) and what the file held then.
   */
  pythonBackups: { 1: string; 2: string };
  sandboxesDir: string;
  /**
   * Every repository the registry has named (one folder a line), kept beside it like the owner id: a lost
   * registry is rebuilt by looking for sandboxes in them.
   */
  repositories: string;
  /** The owner id of this kinfra state: the label that proves a Docker resource is this kinfra's. */
  ownerId: string;
  /** Compose layers kinfra generates per sandbox (labels; never written into the user's tree). */
  layersDir: string;
  /** What the focus forwarder writes (`kinfra sandbox focus`): its start, its end, and why. */
  focusLog: string;
  /** Each sandbox's last Startability Gate, for the dashboard (adapters/gate-records.ts). */
  gatesDir: string;
}

export function statePaths(home: string = homedir()): StatePaths {
  const stateDir = join(home, '.ktrdr');
  const sandboxesDir = join(stateDir, 'sandboxes');
  return {
    home,
    stateDir,
    sandboxesDir,
    registry: join(sandboxesDir, 'registry.json'),
    pythonRegistry: join(stateDir, 'sandbox', 'instances.json'),
    pythonBackups: {
      1: join(sandboxesDir, 'instances.v1.backup.json'),
      2: join(sandboxesDir, 'instances.v2.backup.json'),
    },
    repositories: join(sandboxesDir, 'repositories'),
    ownerId: join(sandboxesDir, 'owner-id'),
    layersDir: join(sandboxesDir, 'layers'),
    focusLog: join(sandboxesDir, 'focus.log'),
    gatesDir: join(sandboxesDir, 'gates'),
  };
}

/** Expand a leading ~ to the home folder. */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}
