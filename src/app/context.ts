// The context every use case runs in: the working folder, the state paths and the registry store.

import { statePaths, type StatePaths } from '../adapters/paths.js';
import { RegistryStore } from '../adapters/registry-store.js';

/** What every use case needs: where it runs and where the state lives. */
export interface AppContext {
  cwd: string;
  paths: StatePaths;
  registry: RegistryStore;
}

export function appContext(cwd: string = process.cwd(), home?: string): AppContext {
  const paths = statePaths(home);
  return { cwd, paths, registry: new RegistryStore(paths) };
}
