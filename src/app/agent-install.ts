// `kinfra agent install|uninstall <host>`: the kinfra MCP server in a coding agent host's project configuration, and
// kinfra's section in the project's agent instructions. The project is the git checkout holding the working folder
// (a worktree's own root: that is where an agent runs). The edits are decided in core/agent-config.ts; here the files
// are read, and written atomically only when something changed.
import { join } from 'node:path';
import { readTextIfExists, writeTextAtomic } from '../adapters/file-store.js';
import { removeFile } from '../adapters/folders.js';
import { repoToplevel } from '../adapters/git.js';
import {
  HOST_FILES,
  installEntry,
  installInstructions,
  uninstallEntry,
  uninstallInstructions,
  type AgentHost,
  type Edit,
  type EntryStatus,
} from '../core/agent-config.js';
import type { AppContext } from './context.js';

export interface AgentResult {
  host: AgentHost;
  action: 'install' | 'uninstall';
  configFile: string;
  /** Whether the MCP configuration file was written (or removed). */
  changed: boolean;
  status: EntryStatus;
  instructionsFile: string | null;
  instructionsChanged: boolean;
}

export interface AgentOptions {
  action: 'install' | 'uninstall';
  host: AgentHost;
  force: boolean;
  instructions: boolean;
}

async function apply(path: string, edit: Edit): Promise<void> {
  if (!edit.changed) return;
  if (edit.text === undefined) await removeFile(path);
  else await writeTextAtomic(path, edit.text);
}

export async function agentHost(ctx: AppContext, opts: AgentOptions): Promise<AgentResult> {
  const root = await repoToplevel(ctx.cwd);
  const files = HOST_FILES[opts.host];
  const configFile = join(root, files.config);
  const instructionsFile = join(root, files.instructions);
  const install = opts.action === 'install';

  // Both files are read and both edits decided before either is written: a refusal leaves neither changed.
  const configText = await readTextIfExists(configFile);
  const entry = install
    ? installEntry(opts.host, configText, { file: configFile, force: opts.force })
    : uninstallEntry(opts.host, configText, { file: configFile });
  let notes: Edit | undefined;
  if (opts.instructions) {
    const text = await readTextIfExists(instructionsFile);
    notes = install ? installInstructions(text, instructionsFile) : uninstallInstructions(text, instructionsFile);
  }

  await apply(configFile, entry);
  if (notes) await apply(instructionsFile, notes);
  return {
    host: opts.host,
    action: opts.action,
    configFile,
    changed: entry.changed,
    status: entry.status,
    instructionsFile: notes ? instructionsFile : null,
    instructionsChanged: notes?.changed ?? false,
  };
}
