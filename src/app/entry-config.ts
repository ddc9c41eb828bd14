// The layout a registered sandbox runs with: its project's layout plus the ports kinfra derived for it, as the
// registry keeps them (never derived again here, so reading a sandbox never moves it).
import { loadConfig } from '../adapters/config-loader.js';
import type { Config } from '../core/config/config.js';
import { storedDerived, withDerivedPorts } from '../core/derived-ports.js';
import type { InstanceEntry } from '../core/registry/model.js';

export async function entryConfig(dir: string, entry: InstanceEntry): Promise<Config> {
  return withDerivedPorts(await loadConfig(dir, entry.parent_repo), storedDerived(entry.derived_ports));
}
